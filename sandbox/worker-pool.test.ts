import { afterEach, describe, expect, it } from 'vitest';
import type { ContextFields, InvokeRequest, LoadRequest } from './types.js';
import { WorkerPoolSandbox, type PoolEvent, type PoolStats } from './worker-pool.js';

const context: ContextFields = {
  host: 'h',
  port: 1,
  input_key: 'in',
  output_key: 'out',
  function_getmtime: '2024-01-01 00:00:00',
  last_execution: null,
  function_name: 'f',
};
const req = (code: string, extra: Partial<LoadRequest> = {}): LoadRequest => ({
  source: { kind: 'file', filename: 'f.js', code },
  handler: 'handler',
  memoryMb: 32,
  timeoutMs: 2000,
  env: '{}',
  name: 'f',
  ...extra,
});
const call = (box: WorkerPoolSandbox, fn: string, input: unknown = {}, extra: Partial<InvokeRequest> = {}) =>
  box.invoke(fn, { input: JSON.stringify(input), context, maxOutputBytes: 1 << 20, ...extra });

const COUNTER = `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`;
// Takes V8's fatal out-of-memory path, which no isolate limit can catch: it kills the process hosting it.
const FATAL = `export function handler(i) { if (i.boom) { const a = new Array(1e8).fill(1.1); return a.length } return 'fine' }`;

let box: WorkerPoolSandbox | null = null;
afterEach(async () => {
  await box?.close();
  box = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkerPoolSandbox', () => {
  it('statistics never kill a worker: a 4 s function with a 10 s limit succeeds while stats are polled', async () => {
    box = new WorkerPoolSandbox({ workers: 1 });
    await box.load(
      'long',
      req('export function handler() { const t = Date.now(); while (Date.now() - t < 4000) {} return "done" }', { timeoutMs: 10_000 }),
    );
    const pid = ((await box.stats('long')) as PoolStats).workerPid;
    const run = call(box, 'long');
    let polling = true;
    const polls = (async () => {
      let n = 0;
      while (polling) {
        const s = (await box!.stats('long')) as PoolStats;
        expect(s.workerPid).toBe(pid);
        n++;
        await sleep(200);
      }
      return n;
    })();
    const result = await run;
    polling = false;
    expect(await polls).toBeGreaterThan(3);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, output: '"done"' });
    expect(box.workerPids()).toEqual([pid]);
  }, 30_000);

  it('runs functions in worker processes, not in this one', async () => {
    box = new WorkerPoolSandbox({ workers: 2 });
    await box.load('a', req(COUNTER));
    await box.load('b', req(COUNTER));
    expect((await call(box, 'a')).output).toBe('1');
    expect((await call(box, 'a')).output).toBe('2');
    expect((await call(box, 'b')).output).toBe('1');
    const [sa, sb] = (await Promise.all([box.stats('a'), box.stats('b')])) as PoolStats[];
    expect(sa!.workerPid).not.toBe(process.pid);
    expect(sa!.workerPid).not.toBe(sb!.workerPid); // spread over the two workers
    expect(sa!.heapUsedBytes).toBeGreaterThan(0);
  });

  it('reports load errors from the worker as the same user errors', async () => {
    box = new WorkerPoolSandbox({ workers: 1 });
    await expect(
      box.load('bad', req('export const handler = (', { source: { kind: 'file', filename: 'bad.js', code: 'export const handler = (' } })),
    ).rejects.toMatchObject({
      code: 'LOAD_SYNTAX',
      kind: 'user',
    });
  });

  it('survives a fatal out-of-memory crash: the neighbour keeps its state, the offender backs off, then gets its own worker', async () => {
    const events: PoolEvent[] = [];
    box = new WorkerPoolSandbox({ workers: 1, baseBackoffMs: 2500, onEvent: (e) => events.push(e) });
    await box.load('good', req(COUNTER));
    await box.load('bomb', req(FATAL, { memoryMb: 64, timeoutMs: 20_000 }));
    expect((await call(box, 'good')).output).toBe('1');
    const firstPid = ((await box.stats('good')) as PoolStats).workerPid;

    const crash = await call(box, 'bomb', { boom: true });
    expect(crash.error?.code).toBe('WORKER_CRASHED');
    expect(events.find((e) => e.type === 'worker-exit')).toMatchObject({ running: ['bomb'] });

    // The neighbour was reloaded into a new worker with its env as of its last run.
    expect((await call(box, 'good')).output).toBe('2');
    expect(((await box.stats('good')) as PoolStats).workerPid).not.toBe(firstPid);

    // The offender is in backoff and says why.
    const backoff = await call(box, 'bomb', { boom: false });
    expect(backoff.error?.code).toBe('CRASH_LOOP_BACKOFF');
    expect(backoff.error?.message).toMatch(/crashed its sandbox worker 1 time/);
    expect(((await box.stats('bomb')) as PoolStats).crashes).toBe(1);

    // After the backoff it runs again; a second crash moves it to a worker of its own.
    await sleep(2600);
    expect((await call(box, 'bomb', { boom: false })).output).toBe('"fine"');
    expect((await call(box, 'bomb', { boom: true })).error?.code).toBe('WORKER_CRASHED');
    expect(events.some((e) => e.type === 'function-dedicated' && e.fn === 'bomb')).toBe(true);
    const [sg, sb] = (await Promise.all([box.stats('good'), box.stats('bomb')])) as PoolStats[];
    expect(sb!.dedicatedWorker).toBe(true);
    expect(sb!.workerPid).not.toBe(sg!.workerPid);
    expect(sb!.backoffUntil).not.toBeNull();
    // Its neighbour was untouched by the second crash.
    expect((await call(box, 'good')).output).toBe('3');
  });

  it('kills and replaces a worker that stops answering its heartbeat', async () => {
    const events: PoolEvent[] = [];
    box = new WorkerPoolSandbox({ workers: 1, heartbeatMs: 100, heartbeatTimeoutMs: 500, onEvent: (e) => events.push(e) });
    await box.load('a', req(COUNTER));
    expect((await call(box, 'a')).output).toBe('1');
    const pid = ((await box.stats('a')) as PoolStats).workerPid;
    process.kill(pid, 'SIGSTOP'); // frozen: alive but silent
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'worker-exit') && Date.now() < deadline) await sleep(50);
    expect(events.find((e) => e.type === 'worker-exit')).toMatchObject({ pid, reason: expect.stringMatching(/no heartbeat/) });
    const r = await call(box, 'a');
    expect(r.error).toBeUndefined();
    expect(r.output).toBe('2');
  });

  it('replaces a worker killed from outside and reloads its functions', async () => {
    box = new WorkerPoolSandbox({ workers: 1 });
    await box.load('a', req(COUNTER, { env: '{"n":41}' }));
    const pid = ((await box.stats('a')) as PoolStats).workerPid;
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    expect((await call(box, 'a')).output).toBe('42');
    expect(box.workerPids()).not.toContain(pid);
  });

  it('stops a function at its time limit inside the worker without a crash', async () => {
    box = new WorkerPoolSandbox({ workers: 1 });
    await box.load('spin', req(`export async function handler() { await null; for (;;) {} }`, { timeoutMs: 100 }));
    const r = await call(box, 'spin');
    expect(r.error?.code).toBe('TIMEOUT');
    expect(((await box.stats('spin')) as PoolStats).crashes).toBe(0);
  });
});
