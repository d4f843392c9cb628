import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['{server,triggers,geodata,web,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**'],
    // A test that starts command-line processes takes several seconds for each when the cores are busy.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two files at a time even on two cores: most suites wait on PostgreSQL, a madad process or the
    // browser for much of their time, and one file at a time left a core idle (vitest's default is
    // one fewer worker than cores).
    maxWorkers: 2,
  },
});
