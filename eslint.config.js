// @ts-check
import { readdirSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries: which folder of lib/ may not reach into which (ARCHITECTURE.md says why).
 * @param {string[]} files
 * @param {string[]} folders lib/ folders the files must not import from
 */
const boundary = (files, folders) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: folders.map((folder) => ({
          group: [`**/${folder}/*`, `**/${folder}/**`],
          message: `lib/${files[0]?.split('/')[1]} must not import from lib/${folder} (see ARCHITECTURE.md).`,
        })),
      },
    ],
  },
});

/** Every folder of lib/ but these (a folder added later is forbidden too). */
const except = (...allowed) =>
  readdirSync(fileURLToPath(new URL('./lib/', import.meta.url)), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !allowed.includes(entry.name))
    .map((entry) => entry.name);

export default tseslint.config(
  { ignores: ['dist/', 'docs/', 'node_modules/', '.services/', '.cache/', '.stryker-tmp*/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['spec/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  boundary(
    ['lib/transports/**/*.ts'],
    ['agent', 'operators', 'sinks', 'lookups', 'backends', 'cli', 'metrics', 'status', 'tables'],
  ),
  boundary(
    ['lib/codecs/**/*.ts'],
    ['agent', 'operators', 'sinks', 'lookups', 'backends', 'cli', 'metrics', 'status', 'transports'],
  ),
  boundary(
    ['lib/operators/**/*.ts'],
    ['agent', 'sinks', 'lookups', 'backends', 'cli', 'metrics', 'status', 'transports'],
  ),
  boundary(['lib/sinks/**/*.ts'], ['agent', 'lookups', 'backends', 'cli', 'metrics', 'status']),
  boundary(['lib/lookups/**/*.ts'], ['agent', 'sinks', 'backends', 'cli', 'metrics', 'status', 'transports']),
  boundary(['lib/backends/**/*.ts'], ['agent', 'transports', 'cli', 'metrics', 'status']),
  boundary(['lib/agent/**/*.ts'], ['lookups', 'backends', 'cli', 'metrics', 'status']),
  boundary(
    ['lib/tables/**/*.ts'],
    ['sinks', 'lookups', 'backends', 'cli', 'metrics', 'status', 'streams', 'windows'],
  ),
  // joins/ read tables (global and co-partitioned) for messages; the stream–stream join builds on
  // windows/ (watermarks, owned results), streams/ (its copy agents) and the agent's partition scope.
  boundary(['lib/joins/**/*.ts'], ['sinks', 'lookups', 'backends', 'cli', 'metrics', 'status']),
  boundary(['lib/streams/**/*.ts'], ['lookups', 'backends', 'cli', 'metrics', 'status', 'tables', 'windows']),
  boundary(
    ['lib/windows/**/*.ts'],
    ['lookups', 'backends', 'cli', 'metrics', 'status', 'streams', 'operators'],
  ),
  // core/ is the ground floor (messages, acknowledgement, errors, redaction, logging): it imports no other lib/ folder.
  boundary(['lib/core/**/*.ts'], except('core')),
  // topics/ (a topic as an Observable, its declaration) know codecs, transports and core, not what runs them.
  boundary(['lib/topics/**/*.ts'], except('topics', 'core', 'codecs', 'transports')),
  boundary(['lib/metrics/**/*.ts', 'lib/status/**/*.ts'], ['cli', 'backends']),
);
