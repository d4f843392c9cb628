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
  },
});
