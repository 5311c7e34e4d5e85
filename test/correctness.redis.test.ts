// Regression cases for the runtime's guarantees under change and concurrency: a changed
// definition re-runs the current input once, dry runs queue behind scheduled runs,
// registry mutations are serialised, a keyspace trigger is armed before it counts as
// started, and a Redis outage is reported as one.
import { beforeEach, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig, type RuntimeConfig } from '../src/config.js';
import type { Store } from '../src/store/store.js';
import { ownPrefix } from './helpers/redis.js';
import { useRuntimes } from './helpers/runtime-harness.js';
import { waitFor } from './helpers/wait.js';

const bed = useRuntimes({ fnDefaults: { timeoutMs: 300 } });
/** The user's keys, under the test's prefix but outside redlet's own (`ownPrefix`). */
const { key: k, keys, fn } = bed;
const newRuntime = (s?: Store, c?: RuntimeConfig) => bed.runtime(s, c);
let store: Store;
beforeEach(() => {
  store = bed.store;
});

describe('definition revision', () => {
  it('re-runs the current input once after the code, the handler or the output key changes', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"x":3}');
    await rt.register(
      fn('rev', `export function handler(i) { return { v: 1, x: i.x } }\nexport function other(i) { return { v: 'other', x: i.x } }`),
    );
    expect(await waitFor(() => store.get(k('out-rev')), 'first output')).toBe('{"v":1,"x":3}');

    await rt.update('rev', {
      source: {
        kind: 'file',
        filename: 'rev.js',
        code: `export function handler(i) { return { v: 2, x: i.x } }\nexport function other(i) { return { v: 'other', x: i.x } }`,
      },
    });
    await waitFor(async () => (await store.get(k('out-rev'))) === '{"v":2,"x":3}', 'output of the new code');

    await rt.update('rev', { settings: { handler: 'other' } });
    await waitFor(async () => (await store.get(k('out-rev'))) === '{"v":"other","x":3}', 'output of the new handler');

    await rt.update('rev', { settings: { outputKey: k('out-rev-2') } });
    expect(await waitFor(() => store.get(k('out-rev-2')), 'the new output key')).toBe('{"v":"other","x":3}');

    // Once per (input, revision): later ticks see nothing new.
    const runner = rt.runner('rev')!;
    await waitFor(() => runner.status.unchangedTicks >= 3, 'unchanged ticks');
    expect(runner.status.snapshot().invocations).toBe(1);
  });

  it('keeps the marker across a restart: neither repeats nor skips', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"x":1}');
    await rt.register(fn('keep', `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return { n: ctx.env.n, x: i.x } }`));
    expect(await waitFor(() => store.get(k('out-keep')), 'output')).toBe('{"n":1,"x":1}');
    await bed.stop(rt);

    // Same definition: nothing to do after the restart.
    const store2 = await bed.newStore();
    const rt2 = await newRuntime(store2);
    const runner = await waitFor(() => rt2.runner('keep'), 'restored');
    await waitFor(() => runner.status.unchangedTicks >= 3, 'unchanged ticks after restart');
    expect(runner.status.snapshot().invocations).toBe(0);
    // A change made while it runs is handled once, and a further restart does not repeat it.
    await rt2.update('keep', { settings: { timeoutMs: 400 } });
    await waitFor(async () => (await store.get(k('out-keep'))) === '{"n":2,"x":1}', 'output after the change');
    await bed.stop(rt2);
    const rt3 = await newRuntime(store2);
    const r3 = await waitFor(() => rt3.runner('keep'), 'restored again');
    await waitFor(() => r3.status.unchangedTicks >= 3, 'unchanged ticks after the second restart');
    expect(r3.status.snapshot().invocations).toBe(0);
  });
});

describe('one queue per function', () => {
  it('a dry run that times out is reported to its caller only: the scheduled runs never see it', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"x":1}');
    // Guest globals see overlapping calls: a second call entering while one is awaiting.
    const code = `let active = 0, overlap = 0;
      export async function handler(i, ctx) {
        active++; if (active > 1) overlap++;
        try {
          if (i.hang) await new Promise(() => {});
          await null;
          // Busy for a while after an await: the host waits on this call asynchronously.
          const t = Date.now(); while (Date.now() - t < 60) {}
          return { x: i.x, overlap };
        } finally { active-- }
      }`;
    await rt.register(fn('q', code, { invokeOn: 'always', period: 0.1, timeoutMs: 1000 }));
    await waitFor(() => store.get(k('out-q')), 'first output');
    for (let i = 0; i < 3; i++) {
      const dry = await rt.invoke('q', '{"hang":true}', { dryRun: true });
      expect(dry.ok).toBe(false);
      expect(dry.error?.code).toBe('TIMEOUT');
      const ok = await rt.invoke('q', '{"x":7}', { dryRun: true });
      expect(ok.error).toBeUndefined();
    }
    const runner = rt.runner('q')!;
    const before = runner.status.snapshot().invocations;
    await waitFor(() => runner.status.snapshot().invocations >= before + 3, 'more scheduled runs');
    const s = runner.status.snapshot();
    expect(s.errors).toBe(0);
    expect(s.state).not.toBe('error');
    expect(JSON.parse((await store.get(k('out-q')))!)).toMatchObject({ x: 1, overlap: 0 });
  });
});

describe('registry mutations', () => {
  it('a pause during an update is not lost, and one timestamp is stored per change', async () => {
    const rt = await newRuntime();
    await store.set(k('in'), '{"x":1}');
    await rt.register(fn('pz', `export const handler = (i) => i.x`));
    const updating = rt.update('pz', { source: { kind: 'file', filename: 'pz.js', code: `export const handler = (i) => i.x + 1` } });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 2));
    const pausing = rt.pause('pz');
    await Promise.all([updating, pausing]);
    expect(rt.runner('pz')!.def.paused).toBe(true);
    const stored = JSON.parse((await store.get(keys().definition('pz')))!);
    expect(stored.paused).toBe(true);
    expect(stored.updatedAt).toBe(rt.runner('pz')!.def.updatedAt);
  });

  it('a pause racing a delete never leaves half a registry entry behind', async () => {
    const rt = await newRuntime();
    await rt.register(fn('gone', `export const handler = (i) => i`));
    const results = await Promise.allSettled([rt.remove('gone'), rt.pause('gone'), rt.resume('gone')]);
    expect(results[0].status).toBe('fulfilled');
    expect(await store.get(keys().definition('gone'))).toBeNull();
    expect(await store.smembers(keys().functions())).not.toContain('gone');
  });
});

describe('keyspace trigger', () => {
  it.each(['always', 'change'] as const)('a write right after registration is handled (invokeOn %s)', async (invokeOn) => {
    // A store of its own, so the subscription connection is new (the slow case).
    const own = await bed.newStore();
    const rt = await newRuntime(own);
    await rt.register(fn('ks', `export const handler = (i) => ({ got: i.x })`, { trigger: 'keyspace', invokeOn, period: 3600 }));
    await bed.redis.admin.set(k('in'), '{"x":5}');
    expect(await waitFor(() => own.get(k('out-ks')), 'output of the write made right after registration', 10_000)).toBe('{"got":5}');
  });
});

describe('registration', () => {
  it('a write made while the code loads is handled, not the value read before it', async () => {
    // The input is read ahead while the code loads; a write announced after that read
    // must be what the first run sees (or what a second run handles).
    const sandbox = new InProcessSandbox();
    const load = sandbox.load.bind(sandbox);
    sandbox.load = async (id, req) => {
      const info = await load(id, req);
      await new Promise((r) => setTimeout(r, 30));
      await bed.redis.admin.set(k('in'), '{"x":2}');
      await new Promise((r) => setTimeout(r, 30));
      return info;
    };
    const rt = await bed.runtime(store, bed.config, sandbox);
    await store.set(k('in'), '{"x":1}');
    await rt.register(fn('during', `export const handler = (i) => ({ got: i.x })`, { trigger: 'keyspace', period: 3600 }));
    await waitFor(async () => (await store.get(k('out-during'))) === '{"got":2}', 'output of the write made during the load', 3000);
  });

  it("picks up a leftover state's env: the first run sees it", async () => {
    const rt = await newRuntime();
    await rt.registry.saveState('leftover', { env: '{"n":41}', lastSeen: null, revision: null, lastExecution: null });
    await store.set(k('in'), '{"x":1}');
    await rt.register(fn('leftover', `export function handler(i, context) { context.env.n += 1; return { n: context.env.n } }`));
    expect(await waitFor(() => store.get(k('out-leftover')), 'first output', 3000)).toBe('{"n":42}');
  });
});

describe('Redis outage', () => {
  it('shows every function in error with the address and reason, and recovers', async () => {
    const server = await bed.redis.server();
    const cfg = { ...loadConfig({ REDLET_PREFIX: ownPrefix(bed.redis.prefix), REDIS_URL: server.url }) };
    expect(cfg.cluster).not.toBeNull(); // the default with Redis: one replica of a possible many
    const s = await bed.redis.store({ url: server.url });
    const rt = await newRuntime(s, cfg);
    await s.set(k('in'), '{"x":1}');
    await rt.register(fn('o1', `export const handler = (i) => i.x`));
    await rt.register(fn('o2', `export const handler = (i) => i.x`, { trigger: 'keyspace' }));
    await waitFor(() => s.get(k('out-o1')), 'output');
    await server.stop();
    const want = `Redis unavailable at 127.0.0.1:${server.port} (ECONNREFUSED)`;
    await waitFor(
      async () => (await rt.list()).every((v) => v.status.state === 'error' && v.status.detail === want),
      'every function in error',
      10_000,
    );
    for (const v of await rt.list()) expect(v.status.detail).not.toMatch(/replica|lease/);
    await server.start();
    await waitFor(async () => (await rt.list()).every((v) => v.status.state !== 'error'), 'recovered', 15_000);
  });
});
