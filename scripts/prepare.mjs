// npm's `prepare`: builds dist/ when rivulet is installed from git or from a folder (npm install ../rivulet).
// A folder install runs this in a clone that may have no node_modules yet (npm installs a folder's
// dependencies, not its dev dependencies): install them first, then build.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command) => execSync(command, { cwd: root, stdio: 'inherit' });
if (!existsSync(join(root, 'node_modules', 'typescript'))) {
  run('npm install --no-audit --no-fund --ignore-scripts --no-save');
}
run('npm run build');
