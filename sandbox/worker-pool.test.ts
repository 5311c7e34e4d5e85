import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContextFields, InvokeRequest, LoadRequest } from './types.js';
import { waitFor } from '../test/helpers/wait.js';
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
  it("starts each worker in a process group of its own: a terminal's Ctrl-C to redlet's group never reaches a worker, even one still starting", async () => {
    /** Process group of a process (Linux: field 5 of /proc/<pid>/stat, after the command in parentheses). */
    const group = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    box = new WorkerPoolSandbox({ workers: 2 });
    // At once, before any worker has said hello (its own SIGINT handler is not set yet).
    const pids = box.workerPids();
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      expect(group(pid)).not.toBe(group(process.pid));
      expect(group(pid)).toBe(pid);
    }
    await box.load('f', req(COUNTER));
    expect((await call(box, 'f')).output).toBe('1');
  });

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
    // The backoff runs on a clock the test moves: no waiting it out.
    let now = Date.parse('2026-01-01T00:00:00Z');
    box = new WorkerPoolSandbox({ workers: 1, baseBackoffMs: 2500, onEvent: (e) => events.push(e), now: () => now });
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

    // The offender is in backoff and says why, until the backoff is over.
    const backoff = await call(box, 'bomb', { boom: false });
    expect(backoff.error?.code).toBe('CRASH_LOOP_BACKOFF');
    expect(backoff.error?.message).toMatch(
      /crashed its sandbox worker 1 time\(s\) recently \(last: .* at 2026-01-01T00:00:00\.000Z\); next try in 2\.5 s/,
    );
    expect((await box.stats('bomb')) as PoolStats).toMatchObject({ crashes: 1, backoffUntil: now + 2500 });
    now += 2499;
    expect((await call(box, 'bomb', { boom: false })).error?.code).toBe('CRASH_LOOP_BACKOFF');

    // After the backoff it runs again; a second crash moves it to a worker of its own and doubles the backoff.
    now += 1;
    expect((await call(box, 'bomb', { boom: false })).output).toBe('"fine"');
    expect((await call(box, 'bomb', { boom: true })).error?.code).toBe('WORKER_CRASHED');
    expect(events.some((e) => e.type === 'function-dedicated' && e.fn === 'bomb')).toBe(true);
    const [sg, sb] = (await Promise.all([box.stats('good'), box.stats('bomb')])) as PoolStats[];
    expect(sb).toMatchObject({ dedicatedWorker: true, crashes: 2, backoffUntil: now + 5000 });
    expect(sb!.workerPid).not.toBe(sg!.workerPid);
    expect((await call(box, 'bomb', { boom: false })).error?.message).toMatch(/2 time\(s\).*next try in 5\.0 s/);
    // Its neighbour was untouched by the second crash.
    expect((await call(box, 'good')).output).toBe('3');

    // Crashes older than the window (10 minutes) no longer count.
    now += 10 * 60_000 + 1;
    expect((await box.stats('bomb')) as PoolStats).toMatchObject({ crashes: 0, backoffUntil: null });
    expect((await call(box, 'bomb', { boom: false })).output).toBe('"fine"');
  });

  it('kills and replaces a worker that stops answering its heartbeat', async () => {
    const events: PoolEvent[] = [];
    box = new WorkerPoolSandbox({ workers: 1, heartbeatMs: 100, heartbeatTimeoutMs: 500, onEvent: (e) => events.push(e) });
    await box.load('a', req(COUNTER));
    expect((await call(box, 'a')).output).toBe('1');
    const pid = ((await box.stats('a')) as PoolStats).workerPid;
    process.kill(pid, 'SIGSTOP'); // frozen: alive but silent
    await waitFor(() => events.some((e) => e.type === 'worker-exit'), 'the frozen worker to be killed');
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
    await waitFor(() => !box!.workerPids().includes(pid), 'the killed worker to be replaced');
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
