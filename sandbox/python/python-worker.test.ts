// Python functions in the sandbox worker processes: a neighbour that takes V8's fatal
// path kills the worker; the Python function is reloaded in the new one with its env.
import { afterEach, describe, expect, it } from 'vitest';
import type { ContextFields, LoadRequest } from '../types.js';
import { WorkerPoolSandbox, type PoolStats } from '../worker-pool.js';

const context: ContextFields = {
  host: 'h',
  port: 1,
  input_key: 'in',
  output_key: 'out',
  function_getmtime: '2024-01-01 00:00:00',
  last_execution: null,
  function_name: 'f',
};
const base = { handler: 'handler', memoryMb: 128, timeoutMs: 5000, env: '{}' };
const PY: LoadRequest = {
  ...base,
  name: 'py',
  source: {
    kind: 'file',
    filename: 'counter.py',
    code: 'import os\ndef handler(i, c):\n    c.env["n"] = c.env.get("n", 0) + 1\n    return [c.env["n"], os.getpid()]\n',
  },
};
const FATAL: LoadRequest = {
  ...base,
  memoryMb: 32,
  name: 'js',
  source: {
    kind: 'file',
    filename: 'f.js',
    code: `export function handler(i) { if (i.boom) { const a = new Array(1e8).fill(1.1); return a.length } return 'fine' }`,
  },
};

let box: WorkerPoolSandbox | null = null;
afterEach(async () => {
  await box?.close();
  box = null;
});

describe('Python functions in worker processes', () => {
  it('survive a neighbour crashing their worker, with their env', { timeout: 180_000 }, async () => {
    // Generous heartbeats: a loaded machine must not pass for a dead worker.
    box = new WorkerPoolSandbox({ workers: 1, heartbeatTimeoutMs: 30_000 });
    await box.load('py', PY);
    await box.load('js', FATAL);
    const call = (fn: string, input: unknown = {}) => box!.invoke(fn, { input: JSON.stringify(input), context, maxOutputBytes: 1 << 20 });
    expect(JSON.parse((await call('py')).output!)[0]).toBe(1);
    const pid = ((await box.stats('py')) as PoolStats).workerPid;
    expect(pid).not.toBe(process.pid);
    const boom = await call('js', { boom: true });
    expect(boom.error?.code).toBe('WORKER_CRASHED');
    const after = await call('py');
    expect(after.error).toBeUndefined();
    expect(JSON.parse(after.output!)[0]).toBe(2);
    expect(((await box.stats('py')) as PoolStats).workerPid).not.toBe(pid);
  });
});
