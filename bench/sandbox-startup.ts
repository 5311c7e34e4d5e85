/**
 * Sandbox start-up and per-invocation cost, in-process: how long a function takes to
 * become runnable (bundle, isolate, evaluate, first call) and what one call with a
 * 2 KB JSON input and output costs. Run: `npx tsx --no-node-snapshot bench/sandbox-startup.ts`.
 */
import { cpus } from 'node:os';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import type { ContextFields } from '../sandbox/types.js';

const context: ContextFields = { host: 'localhost', port: 6379, input_key: 'in', output_key: 'out', function_getmtime: '2024-01-01 00:00:00', last_execution: null, function_name: 'b' };
const input = JSON.stringify(Object.fromEntries(Array.from({ length: 74 }, (_, i) => [`field_number_${i}`, i * 1.5 + 0.123456])));
const code = `export function handler(input) { return input }`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

const mode = process.argv[2] === 'process' ? 'process' : 'inline';
const box = mode === 'process' ? new WorkerPoolSandbox({ workers: 1 }) : new InProcessSandbox();
const bundle: number[] = [];
const isolate: number[] = [];
const evaluate: number[] = [];
const first: number[] = [];
const total: number[] = [];
for (let i = 0; i < 60; i++) {
  const t0 = performance.now();
  const info = await box.load(`f${i}`, { source: { kind: 'file', filename: 'f.js', code: code + `\n// ${i}` }, handler: 'handler', memoryMb: 32, timeoutMs: 1000, env: '{}', name: `f${i}` });
  const t1 = performance.now();
  await box.invoke(`f${i}`, { input, context, maxOutputBytes: 1 << 20 });
  const t2 = performance.now();
  if (i >= 10) {
    bundle.push(info.timings.bundleMs);
    isolate.push(info.timings.isolateMs);
    evaluate.push(info.timings.evaluateMs);
    first.push(t2 - t1);
    total.push(t2 - t0);
  }
}
for (let i = 0; i < 60; i++) await box.dispose(`f${i}`);

await box.load('hot', { source: { kind: 'file', filename: 'f.js', code }, handler: 'handler', memoryMb: 32, timeoutMs: 1000, env: '{}', name: 'hot' });
const calls: number[] = [];
for (let i = 0; i < 5000; i++) {
  const t0 = performance.now();
  const r = await box.invoke('hot', { input, context, maxOutputBytes: 1 << 20 });
  const dt = performance.now() - t0;
  if (!r.ok) throw new Error(r.error?.message);
  if (i >= 500) calls.push(dt);
}
await box.close();

const f = (ms: number) => `${ms.toFixed(3)} ms`;
console.log(`mode: ${mode}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; input ${input.length} bytes`);
console.log(`load: bundle ${f(median(bundle))}, isolate+context+prelude ${f(median(isolate))}, evaluate+bind ${f(median(evaluate))} (medians)`);
console.log(`first invocation ${f(median(first))}; load to first result ${f(median(total))} (medians)`);
console.log(`per invocation (2 KB in and out): median ${(median(calls) * 1000).toFixed(1)} us, p99 ${(p99(calls) * 1000).toFixed(1)} us`);
