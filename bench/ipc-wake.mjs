// A diagnostic beside the bench items (not one of them): what one IPC round trip between
// two Node processes costs on this machine when the child works for a while before it
// answers. `node bench/ipc-wake.mjs`
//
// On a virtual machine a CPU left idle for long enough is halted by the host, and waking
// it again costs more than waking one that was idle only briefly. The worker-process
// mode pays one such wake-up per call on each side: when the worker's part of a call
// (receive, run the function, reply) outlasts that window, the main process's CPU has
// gone to sleep and the reply reaches it late. The table shows where the window ends.
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'redlet-ipc-wake-'));
const childFile = join(dir, 'child.cjs');
writeFileSync(
  childFile,
  "process.on('message', (m) => { const end = performance.now() + m.busyUs / 1000; while (performance.now() < end); process.send(m); });",
);
const child = fork(childFile, [], { serialization: 'json' });
const payload = 'x'.repeat(2048);
const roundTrip = (busyUs) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ busyUs, payload });
  });

const samples = 3000;
await roundTrip(0);
console.log('child works (µs) | round trip minus that work: median / p90 (µs)');
for (const busyUs of [0, 20, 60, 100, 120, 140, 160, 200]) {
  const v = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await roundTrip(busyUs);
    v.push((performance.now() - t0) * 1000 - busyUs);
  }
  v.sort((a, b) => a - b);
  console.log(`${String(busyUs).padStart(16)} | ${v[samples >> 1].toFixed(1)} / ${v[Math.floor(samples * 0.9)].toFixed(1)}`);
}
child.kill();
