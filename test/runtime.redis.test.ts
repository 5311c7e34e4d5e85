// Behaviour of the data path (input key -> trigger -> runner -> isolate -> output key),
// run twice: against a real Redis and against the embedded store.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig, type RuntimeConfig } from '../src/config.js';
import { Runtime, type RegisterInput } from '../src/runtime/runtime.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';

const kinds = ['redis', 'memory'] as const;

describe.each(kinds)('runtime on the %s store', (kind) => {
  let prefix: string;
  let store: Store;
  let config: RuntimeConfig;
  let runtimes: Runtime[] = [];
  let admin: Redis | null = null;

  const newStore = (): Store => (kind === 'redis' ? new RedisStore({ url: redisUrl() }) : store);
  const k = (name: string) => `${prefix}${name}`;

  async function newRuntime(s: Store = store, c: RuntimeConfig = config): Promise<Runtime> {
    const rt = new Runtime({ config: c, store: s, sandbox: new InProcessSandbox() });
    runtimes.push(rt);
    await rt.start();
    return rt;
  }

  function fn(name: string, code: string, settings: RegisterInput['settings'] = {}): RegisterInput {
    return {
      name,
      origin: 'api',
      source: { kind: 'file', filename: `${name}.js`, code },
      settings: { inputKey: k('in'), outputKey: k(`out-${name}`), period: 0.1, timeoutMs: 200, memoryMb: 16, ...settings },
    };
  }

  beforeEach(async () => {
    prefix = testPrefix();
    config = {
      ...loadConfig({ REDLET_PREFIX: ownPrefix(prefix) }),
      redis: kind === 'redis' ? { url: redisUrl(), host: '127.0.0.1', port: 6379 } : null,
    };
    store = kind === 'redis' ? new RedisStore({ url: redisUrl() }) : new MemoryStore();
    if (kind === 'redis') {
      admin ??= redisClient();
      await waitFor(() => store.available, 'redis ready');
    }
  });

  afterEach(async () => {
    for (const rt of runtimes) await rt.stop(1000);
    runtimes = [];
    await store.close();
    if (admin) await deletePrefix(admin, prefix);
  });

  afterAll(async () => {
    await admin?.quit();
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
    await sleep(300);
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
    await sleep(kind === 'redis' ? 200 : 10); // subscription in place
    for (let n = 1; n <= 3; n++) {
      await store.set(k('in'), JSON.stringify({ n }));
      expect(await waitFor(async () => (await store.get(k('out-ks'))) === String(n * 10), `output ${n * 10}`, 2000)).toBe(true);
    }
  });

  it('keeps context.env and the last-seen marker across a restart', async () => {
    const code = `export function handler(i, ctx) { ctx.env.seen = [...(ctx.env.seen || []), i.v]; return ctx.env.seen }`;
    await store.set(k('in'), '{"v":1}');
    const first = await newRuntime();
    await first.register(fn('hist', code));
    await waitFor(async () => (await store.get(k('out-hist'))) === '[1]', 'first run');
    await store.set(k('in'), '{"v":2}');
    await waitFor(async () => (await store.get(k('out-hist'))) === '[1,2]', 'second run');
    await first.stop();
    runtimes = runtimes.filter((r) => r !== first);

    // A new runtime on the same store: the function comes back from the registry with its env,
    // and the input it already handled is not handled again.
    const second = await newRuntime(kind === 'redis' ? newStore() : store);
    expect(second.names()).toEqual(['hist']);
    await sleep(400);
    expect((await second.view('hist')).status.invocations).toBe(0);
    await store.set(k('in'), '{"v":3}');
    expect(await waitFor(async () => (await store.get(k('out-hist'))) === '[1,2,3]', 'run after restart')).toBe(true);
    if (kind === 'redis') await second.store.close();
  });

  it('stops a looping and a hanging function at their limits while a neighbour keeps its schedule', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{}');
    await rt.register(fn('loop', `export function handler() { for (;;) {} }`, { invokeOn: 'always', timeoutMs: 150 }));
    await rt.register(
      fn('hang', `export async function handler() { await new Promise(() => {}) }`, { invokeOn: 'always', timeoutMs: 150 }),
    );
    await rt.register(
      fn('tick', `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return ctx.env.n }`, { invokeOn: 'always' }),
    );
    const t0 = Date.now();
    await sleep(1500);
    const elapsed = (Date.now() - t0) / 1000;
    const [loop, hang, tick] = await Promise.all(['loop', 'hang', 'tick'].map((n) => rt.view(n)));
    expect(loop!.status.lastError?.code).toBe('TIMEOUT');
    expect(hang!.status.lastError?.code).toBe('TIMEOUT');
    expect(loop!.status.state).toMatch(/error|running/);
    // 0.1 s period over ~1.5 s: the neighbour ran most of its ticks.
    expect(tick!.status.invocations).toBeGreaterThanOrEqual(Math.floor(elapsed / 0.1) * 0.6);
    expect(tick!.status.errors).toBe(0);
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
    const replica = (replicaId: string): RuntimeConfig => ({ ...config, cluster: { replicaId, leaseMs: 1000 } });
    const other = newStore();
    try {
      const a = await newRuntime(store, replica('a'));
      const b = await newRuntime(other, replica('b'));
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
    } finally {
      for (const rt of runtimes) await rt.stop(1000);
      runtimes = [];
      if (other !== store) await other.close();
    }
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
