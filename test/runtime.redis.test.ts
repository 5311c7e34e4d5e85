// Behaviour of the data path (input key -> trigger -> runner -> isolate -> output key),
// run twice: against a real Redis and against the embedded store.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import type { RuntimeConfig } from '../src/config.js';
import { useRuntimes } from './helpers/runtime-harness.js';
import { waitFor } from './helpers/wait.js';

const kinds = ['redis', 'memory'] as const;
/** Appends each input's `v` to context.env.seen and returns the list: what a function keeps across runs. */
const KEEPS_SEEN = `export function handler(i, ctx) { ctx.env.seen = [...(ctx.env.seen || []), i.v]; return ctx.env.seen }`;

describe.each(kinds)('runtime on the %s store', (kind) => {
  const bed = useRuntimes({ store: kind, fnDefaults: { timeoutMs: 200 } });
  const { key: k, fn } = bed;
  const newRuntime = (s?: Store) => bed.runtime(s);
  let store: Store;
  beforeEach(() => {
    store = bed.store;
  });

  it('polls the input key and writes the JSON result to the output key', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), JSON.stringify({ a: 20, b: 22 }));
    await rt.register(fn('add', `export function handler(input) { return { sum: input.a + input.b } }`));
    const out = await waitFor(() => store.get(k('out-add')), 'output');
    expect(JSON.parse(out)).toEqual({ sum: 42 });
    // The output is committed before the run's status is recorded: wait for the status to follow.
    await waitFor(async () => (await rt.view('add')).status.state === 'idle', 'idle state');
    expect((await rt.view('add')).status).toMatchObject({ state: 'idle', invocations: 1, errors: 0 });
  });

  it('waits for a missing input and says so', async () => {
    const rt = await newRuntime();
    await rt.register(fn('w', `export const handler = () => 1`));
    await waitFor(async () => (await rt.view('w')).status.state === 'waiting', 'waiting state');
    expect((await rt.view('w')).status.detail).toContain(k('in'));
    await store.set(k('in'), '{}');
    expect(await waitFor(() => store.get(k('out-w')), 'output')).toBe('1');
  });

  it('invokes only when the input changed, unless invokeOn is always', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"v":1}');
    await rt.register(fn('changed', `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`));
    await rt.register(
      fn('always', `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`, { invokeOn: 'always' }),
    );
    await waitFor(async () => Number(await store.get(k('out-always'))) >= 4, 'always to run 4 times');
    expect(await store.get(k('out-changed'))).toBe('1');
    expect((await rt.view('changed')).status.unchangedTicks).toBeGreaterThan(0);
    await store.set(k('in'), '{"v":2}');
    await waitFor(async () => (await store.get(k('out-changed'))) === '2', 'a run on the new value');
    // Later ticks find the input unchanged and do not run it again.
    const seen = (await rt.view('changed')).status.unchangedTicks;
    await waitFor(async () => (await rt.view('changed')).status.unchangedTicks >= seen + 3, 'three more unchanged ticks');
    expect(await store.get(k('out-changed'))).toBe('2');
  });

  it('writes nothing for a null result and never creates the output key', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{}');
    await rt.register(fn('nothing', `export function handler() { return null }`));
    await waitFor(async () => (await rt.view('nothing')).status.invocations >= 1, 'an invocation');
    expect(await store.get(k('out-nothing'))).toBeNull();
  });

  it('reports malformed JSON and a key of the wrong type without invoking', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"broken": ');
    await rt.register(fn('strict', `export function handler() { return 'ran' }`));
    const bad = await waitFor(async () => {
      const v = await rt.view('strict');
      return v.status.state === 'error' ? v : null;
    }, 'error state');
    expect(bad.status.lastError?.code).toBe('INPUT_NOT_JSON');
    expect(bad.status.detail).toMatch(/does not hold valid JSON/);
    expect(await store.get(k('out-strict'))).toBeNull();
    await store.set(k('in'), '{"fixed":true}');
    expect(await waitFor(() => store.get(k('out-strict')), 'output after the fix')).toBe('"ran"');

    await store.exec([
      { op: 'del', key: k('in') },
      { op: 'sadd', key: k('in'), member: 'x' },
    ]);
    const wrong = await waitFor(async () => {
      const v = await rt.view('strict');
      return v.status.lastError?.code === 'INPUT_WRONG_TYPE' ? v : null;
    }, 'wrong type error');
    expect(wrong.status.state).toBe('error');
    expect(wrong.status.lastError?.message).toMatch(/holds a Redis set, expected a string/);
  });

  it('triggers on keyspace notifications as soon as the key is written', async () => {
    const rt = await newRuntime();
    await rt.register(fn('ks', `export function handler(i) { return i.n * 10 }`, { trigger: 'keyspace', period: 60 }));
    // register() returns once the subscription is in place.
    for (let n = 1; n <= 3; n++) {
      await store.set(k('in'), JSON.stringify({ n }));
      expect(await waitFor(async () => (await store.get(k('out-ks'))) === String(n * 10), `output ${n * 10}`, 10_000)).toBe(true);
    }
  });

  it('keeps context.env and the last-seen marker across a restart', async () => {
    await store.set(k('in'), '{"v":1}');
    const first = await newRuntime();
    await first.register(fn('hist', KEEPS_SEEN));
    await waitFor(async () => (await store.get(k('out-hist'))) === '[1]', 'first run');
    await store.set(k('in'), '{"v":2}');
    await waitFor(async () => (await store.get(k('out-hist'))) === '[1,2]', 'second run');
    await bed.stop(first, 10_000);

    // A new runtime on the same store: the function comes back from the registry with its env,
    // and the input it already handled is not handled again.
    const second = await newRuntime(await bed.newStore());
    expect(second.names()).toEqual(['hist']);
    await waitFor(async () => (await second.view('hist')).status.unchangedTicks >= 3, 'unchanged ticks after the restart');
    expect((await second.view('hist')).status.invocations).toBe(0);
    await store.set(k('in'), '{"v":3}');
    expect(await waitFor(async () => (await store.get(k('out-hist'))) === '[1,2,3]', 'run after restart')).toBe(true);
  });

  it('a function taken back after Redis lost its state keeps the context.env it had here, not an empty one', async () => {
    await store.set(k('in'), '{"v":1}');
    const rt = await newRuntime();
    await rt.register(fn('hist', KEEPS_SEEN));
    await waitFor(async () => (await store.get(k('out-hist'))) === '[1]', 'first run');
    // Redis came back empty (no persistence): the lease is gone, so the function is
    // handed over and taken back before the write-back has put its state back.
    await rt.handOver('hist');
    await store.exec([{ op: 'del', key: bed.keys().state('hist') }]);
    expect(await rt.takeOver('hist')).toBe(true);
    await store.set(k('in'), '{"v":2}');
    expect(await waitFor(async () => (await store.get(k('out-hist'))) === '[1,2]', 'run after the take-over')).toBe(true);
  });

  it('stops a looping and a hanging function at their limits while a neighbour keeps running', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{}');
    await rt.register(fn('loop', `export function handler() { for (;;) {} }`, { invokeOn: 'always', timeoutMs: 150 }));
    await rt.register(
      fn('hang', `export async function handler() { await new Promise(() => {}) }`, { invokeOn: 'always', timeoutMs: 150 }),
    );
    // Stuck in its first invocation for the whole test (its limit is a minute).
    await rt.register(fn('stuck', `export function handler() { for (;;) {} }`, { timeoutMs: 60_000 }));
    await rt.register(
      fn('tick', `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`, { invokeOn: 'always' }),
    );
    await waitFor(async () => (await rt.view('stuck')).status.running, 'the stuck function to be running');
    const before = (await rt.view('tick')).status.invocations;
    await waitFor(async () => (await rt.view('tick')).status.invocations >= before + 5, 'the neighbour to run 5 more times');
    expect((await rt.view('stuck')).status).toMatchObject({ running: true, invocations: 0 });
    // The other two run into their limit again and again.
    const [loop, hang] = await waitFor(async () => {
      const v = await Promise.all(['loop', 'hang'].map((n) => rt.view(n)));
      return v.every((x) => x.status.errors >= 2) ? v : null;
    }, 'two timeouts each');
    expect(loop!.status.lastError?.code).toBe('TIMEOUT');
    expect(hang!.status.lastError?.code).toBe('TIMEOUT');
    expect((await rt.view('tick')).status.errors).toBe(0);
    await rt.remove('stuck');
  });

  it('never runs one function twice at once: overlapping ticks are skipped and counted', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{}');
    await rt.register(
      fn('slow', `export async function handler(i, ctx) { const t = Date.now(); while (Date.now() - t < 250) {} return 1 }`, {
        invokeOn: 'always',
        timeoutMs: 1000,
      }),
    );
    await waitFor(async () => (await rt.view('slow')).status.skippedTicks >= 2, 'skipped ticks');
  });

  it('replaces or deletes a function from configuration only when the configuration asks; anyone may pause it', async () => {
    const rt = await newRuntime();
    await rt.register({ ...fn('cfg', `export const handler = () => 1`), origin: 'config' });
    await expect(rt.update('cfg', { settings: { period: 5 } })).rejects.toMatchObject({ code: 'FUNCTION_FROM_CONFIG' });
    await expect(rt.remove('cfg')).rejects.toMatchObject({ code: 'FUNCTION_FROM_CONFIG', message: expect.stringMatching(/to delete it/) });
    expect((await rt.view('cfg')).definition.period).toBe(0.1);
    expect((await rt.update('cfg', { settings: { period: 5 }, origin: 'config' })).definition.period).toBe(5);
    expect((await rt.pause('cfg')).definition.paused).toBe(true);
    expect(rt.names()).toEqual(['cfg']);
  });

  it('tells onRemoved listeners of every function it stops holding: deleted here or by another replica', async () => {
    const replica = (replicaId: string): RuntimeConfig => ({ ...bed.config, cluster: { replicaId, leaseMs: 1000 } });
    const other = await bed.newStore();
    const a = await bed.runtime(store, replica('a'));
    const b = await bed.runtime(other, replica('b'));
    const removed = { a: [] as string[], b: [] as string[] };
    a.onRemoved((name) => removed.a.push(name));
    b.onRemoved((name) => removed.b.push(name));
    await a.register(fn('gone-a', `export const handler = () => 1`));
    await a.register(fn('gone-b', `export const handler = () => 2`));
    await waitFor(() => b.has('gone-a') && b.has('gone-b'), 'b to hold both');

    await a.remove('gone-a');
    expect(removed.a).toEqual(['gone-a']);
    await waitFor(() => removed.b.includes('gone-a'), 'b to hear that a deleted it');
    await b.remove('gone-b');
    await waitFor(() => removed.a.includes('gone-b'), 'a to hear that b deleted it');
    expect(removed).toEqual({ a: ['gone-a', 'gone-b'], b: ['gone-a', 'gone-b'] });
    expect([a.names(), b.names()]).toEqual([[], []]);
  });

  it('invokes on demand with JSON input only', async () => {
    const rt = await newRuntime();
    await rt.register(fn('echo', `export const handler = (i) => i`, { period: 60 }));
    await expect(rt.invoke('echo', '{oops')).rejects.toMatchObject({ code: 'INVALID_JSON' });
    await expect(rt.invoke('echo', '['.repeat(1001) + ']'.repeat(1001))).rejects.toMatchObject({ code: 'INVALID_JSON' });
    expect((await rt.invoke('echo', '{"a":1}')).output).toBe('{"a":1}');
  });

  it('replaces an isolate killed by its memory limit and records the error', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"hog":true}');
    await rt.register(
      fn('hog', `export function handler(i) { if (!i.hog) return 'ok'; const a = []; for (;;) a.push('x'.repeat(1000) + Math.random()) }`, {
        memoryMb: 16,
        timeoutMs: 10_000,
      }),
    );
    await waitFor(async () => (await rt.view('hog')).status.lastError?.code === 'MEMORY_LIMIT', 'memory error');
    await store.set(k('in'), '{"hog":false}');
    expect(await waitFor(() => store.get(k('out-hog')), 'output after replacement')).toBe('"ok"');
  });
});
