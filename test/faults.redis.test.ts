// Faults around a real redlet process: kill -9 during activity, and Redis stopped for
// 10 s then started EMPTY (it runs without persistence).
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { spawnRedlet, type Watched } from './helpers/process.js';
import { sleep, waitFor } from './helpers/wait.js';
import { Keys } from '../src/keys.js';

async function startRedlet(env: Record<string, string>): Promise<{ w: Watched; base: string }> {
  const { w, base } = await spawnRedlet({ REDLET_DEMO: '0', LOG_LEVEL: 'warn', ...env });
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, `redlet ready on ${base}`, 20_000, 100);
  return { w, base };
}

const SEEN = `export function handler(input, context) {
  context.env.seen = [...(context.env.seen || []), input.v];
  return context.env.seen.length;
}`;

async function register(base: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${base}/api/functions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
}

describe('faults', () => {
  const procs: Watched[] = [];
  const servers: PrivateRedis[] = [];
  const clients: Redis[] = [];
  let prefix = '';
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill();
      await p.exited;
    }
    for (const c of clients.splice(0)) {
      await deletePrefix(c, prefix).catch(() => {});
      c.disconnect();
    }
    for (const s of servers.splice(0)) await s.close();
  });

  it('kill -9 during activity: functions come back with env as of their last completed run; no input is handled twice', async () => {
    prefix = testPrefix();
    const redis = redisClient();
    clients.push(redis);
    const env = { REDIS_URL: redisUrl(), REDLET_PREFIX: ownPrefix(prefix) };
    const first = await startRedlet(env);
    procs.push(first.w);
    for (const [name, trigger] of [
      ['ks', 'keyspace'],
      ['poll', 'poll'],
    ] as const) {
      await register(first.base, {
        name,
        source: SEEN,
        filename: `${name}.js`,
        inputKey: `${prefix}in`,
        outputKey: `${prefix}out-${name}`,
        trigger,
        period: 0.1,
      });
    }
    let v = 0;
    const writeUntil = async (n: number) => {
      while (v < n) {
        await redis.set(`${prefix}in`, JSON.stringify({ v: ++v }));
        await sleep(15);
      }
    };
    await writeUntil(120);
    first.w.child.kill('SIGKILL');
    await first.w.exited;

    const before = await Promise.all(
      ['ks', 'poll'].map(async (n) => JSON.parse((await redis.get(new Keys(ownPrefix(prefix)).state(n)))!).env.seen as number[]),
    );
    expect(before[0]!.length).toBeGreaterThan(10);

    const second = await startRedlet(env);
    procs.push(second.w);
    const listed = (await (await fetch(`${second.base}/api/functions`)).json()) as { functions: Array<{ name: string }> };
    expect(listed.functions.map((f) => f.name).sort()).toEqual(['ks', 'poll']);
    await sleep(500); // the last input (v = 120) is already handled: it must not run again
    await writeUntil(150);
    for (const [i, n] of (['ks', 'poll'] as const).entries()) {
      const seen = await waitFor(
        async () => {
          const s = JSON.parse((await redis.get(new Keys(ownPrefix(prefix)).state(n)))!).env.seen as number[];
          return s.at(-1) === 150 ? s : null;
        },
        `${n} to handle v=150`,
        10_000,
      );
      // env continued from where it was; every input at most once, in order.
      expect(seen.slice(0, before[i]!.length)).toEqual(before[i]);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(Number(await redis.get(`${prefix}out-${n}`))).toBe(seen.length);
    }
  }, 90_000);

  it('Redis stopped for 10 s and started empty: redlet stays up, says so, writes back what it holds and resumes', async () => {
    prefix = testPrefix();
    const server = await privateRedis();
    servers.push(server);
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    redis.on('error', () => {});
    clients.push(redis);
    const { w, base } = await startRedlet({ REDIS_URL: server.url, REDLET_PREFIX: ownPrefix(prefix) });
    procs.push(w);
    await register(base, { name: 'counter', source: SEEN, filename: 'counter.js', inputKey: 'in', outputKey: 'out', period: 0.1 });
    await redis.set('in', '{"v":1}');
    await waitFor(async () => (await redis.get('out')) === '1', 'first output');

    await server.stop();
    const down = await waitFor(
      async () => {
        const r = await fetch(`${base}/readyz`);
        return r.status === 503 ? ((await r.json()) as Record<string, unknown>) : null;
      },
      '/readyz to answer 503',
      5000,
    );
    expect(JSON.stringify(down)).toMatch(/Redis unavailable/);
    const status = await waitFor(
      async () => {
        const f = (await (await fetch(`${base}/api/functions/counter`)).json()) as { status: { detail: string | null } };
        return f.status.detail?.startsWith('Redis unavailable') ? f : null;
      },
      'function status to say Redis unavailable',
      5000,
    );
    expect(status).toBeTruthy();
    await sleep(10_000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(w.child.exitCode).toBeNull();

    await server.start(); // EMPTY: no persistence
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, '/readyz to recover', 15_000, 100);
    await waitFor(
      async () => (await redis.smembers(`${ownPrefix(prefix)}functions`)).includes('counter'),
      'the registry written back',
      10_000,
    );
    const state = JSON.parse(
      (await waitFor(() => redis.get(new Keys(ownPrefix(prefix)).state('counter')), 'the state written back', 10_000))!,
    );
    expect(state.env.seen).toEqual([1]);
    await redis.set('in', '{"v":2}');
    await waitFor(async () => (await redis.get('out')) === '2', 'output after recovery', 10_000);
  }, 90_000);
});
