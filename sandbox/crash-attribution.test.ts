// A worker that dies is blamed on the one function whose call took it down; the other
// functions' calls in flight in it are sent again to the replacement, not failed.
import { afterEach, describe, expect, it } from 'vitest';
import type { ContextFields, LoadRequest } from './types.js';
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
const req = (name: string, code: string, extra: Partial<LoadRequest> = {}): LoadRequest => ({
  source: { kind: 'file', filename: `${name}.js`, code },
  handler: 'handler',
  memoryMb: 32,
  timeoutMs: 60_000,
  env: '{}',
  name,
  ...extra,
});

// Busy for a minute in an isolate loaded before the call was sent: surely still running
// when its neighbour crashes. Its re-run, in an isolate the replacement worker loaded
// after that, returns at once.
const SLOW_COUNTER = `const loadedAt = Date.now();
export function handler(i, ctx) {
  while (Date.now() < i.until && loadedAt < i.sentAt) {}
  ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`;
// V8's fatal out-of-memory path: it takes the whole worker process down.
const FATAL = `export function handler(i) { const a = new Array(1e8).fill(1.1); return a.length }`;

let box: WorkerPoolSandbox | null = null;
afterEach(async () => {
  await box?.close();
  box = null;
});

describe('crash attribution', () => {
  it('blames only the function whose isolate failed; a neighbour call in flight is re-run, not failed', { timeout: 90_000 }, async () => {
    const events: PoolEvent[] = [];
    box = new WorkerPoolSandbox({
      workers: 1,
      heartbeatTimeoutMs: 20_000,
      baseBackoffMs: 600_000,
      maxBackoffMs: 600_000,
      onEvent: (e) => events.push(e),
    });
    await box.load('good', req('good', SLOW_COUNTER));
    await box.load('bomb', req('bomb', FATAL, { memoryMb: 8 }));
    // The neighbour's call is in flight in the same worker when the bomb's takes it down.
    const sentAt = Date.now();
    const good = box.invoke('good', { input: JSON.stringify({ until: sentAt + 60_000, sentAt }), context, maxOutputBytes: 1 << 20 });
    await new Promise((r) => setTimeout(r, 300));
    const bomb = await box.invoke('bomb', { input: '{}', context, maxOutputBytes: 1 << 20 });
    expect(bomb.ok).toBe(false);
    expect(bomb.error?.code).toBe('WORKER_CRASHED');

    const g = await good;
    expect(g.ok).toBe(true);
    expect(g.output).toBe('1'); // the lost call never completed: its env change was not kept

    const exit = events.find((e) => e.type === 'worker-exit');
    expect(exit).toMatchObject({ blamed: ['bomb'] });
    expect(exit?.type === 'worker-exit' && [...exit.running].sort()).toEqual(['bomb', 'good']);
    const [sg, sb] = (await Promise.all([box.stats('good'), box.stats('bomb')])) as PoolStats[];
    expect(sg!.crashes).toBe(0);
    expect(sg!.backoffUntil).toBeNull();
    expect(sb!.crashes).toBe(1);
    expect(sb!.backoffUntil).not.toBeNull();
  });
});
