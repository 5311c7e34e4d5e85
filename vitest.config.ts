import { defineConfig } from 'vitest/config';

// isolated-vm needs --no-node-snapshot on Node >= 20, and worker threads refuse that
// flag: tests run in forked processes (one per file, so a crash cannot hide behind
// another file).
export default defineConfig({
  test: {
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    include: ['{src,sandbox,ui,test,examples}/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
