#!/usr/bin/env -S node --no-node-snapshot
// The installed `redlet` command: runs the compiled entry point (npm run build makes dist/).
try {
  await import('../dist/ui/entry.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.url ?? err.message).includes('/dist/ui/entry.js')) {
    process.stderr.write("redlet: not built yet: run 'npm run build' (or 'npm start') in redlet's folder first\n");
    process.exit(1);
  }
  throw err;
}
