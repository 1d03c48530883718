/** The value of a sample line `name{labels} value` in Prometheus text (labels in the order given). */
export function sample(
  text: string,
  name: string,
  labels: Record<string, string | number>,
): number | undefined {
  const rendered = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
