// Three redlet processes against one Redis share the work: 30 functions spread as
// rendezvous hashing assigns them, each input handled once, failover after kill -9 once
// the lease lapses, rebalancing when the replica comes back, and changes through any
// replica. The times are printed for the record; how fast is the bench's to measure.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignOwner } from '../src/assignment.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { spawnRedlet, type Watched } from './helpers/process.js';
import { tcpProxy } from './helpers/tcp-proxy.js';
import { sleep, waitFor } from './helpers/wait.js';
import { Keys } from '../src/keys.js';

// 2 s keeps the test short; REDLET_TEST_LEASE_MS=5000 measures the default lease.
const LEASE_MS = Number(process.env.REDLET_TEST_LEASE_MS ?? 2000);
const N = 30;
const SEEN = `export function handler(input, context) {
  context.env.seen = [...(context.env.seen || []), input.v];
  return context.env.seen.length;
}`;

interface Replica {
  id: string;
  base: string;
  w: Watched;
}

describe('replicas sharing one Redis', () => {
  let redis: Redis;
  const prefix = testPrefix();
  const replicas = new Map<string, Replica>();
  const names = Array.from({ length: N }, (_, i) => `fn-${String(i).padStart(2, '0')}`);

  async function start(id: string, redisUrlFor = redisUrl()): Promise<Replica> {
    const { w, base } = await spawnRedlet({
      REDIS_URL: redisUrlFor,
      REDLET_PREFIX: ownPrefix(prefix),
      REDLET_REPLICA_ID: id,
      REDLET_LEASE_MS: String(LEASE_MS),
      REDLET_DEMO: '0',
      REDLET_SANDBOX_WORKERS: '1',
      LOG_LEVEL: 'warn',
    });
    const r = { id, base, w };
    await waitFor(async () => (await fetch(`${r.base}/readyz`)).ok, `replica ${id} ready`, 30_000, 100);
    replicas.set(id, r);
    return r;
  }

  const api = async (r: Replica, path: string, init?: RequestInit) => {
    const res = await fetch(`${r.base}${path}`, init);
    // The API's JSON, read field by field by the assertions below.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
  };
  /** Owner of each function, from Redis leases. */
  const owners = async () => {
    const values = await redis.mget(...names.map((n) => new Keys(ownPrefix(prefix)).owner(n)));
    return new Map(names.map((n, i) => [n, values[i] ?? null]));
  };
  const counts = (m: Map<string, string | null>) => {
    const c: Record<string, number> = {};
    for (const o of m.values()) if (o) c[o] = (c[o] ?? 0) + 1;
    return c;
  };
  /** Every function runs on the replica rendezvous hashing assigns it among `ids`. */
  const assigned = (o: Map<string, string | null>, ids: string[]) =>
    o.size === N && [...o].every(([n, owner]) => owner === assignOwner(n, ids));
  /** Writes {v} to every input, then waits until every function has handled it. */
  const roundOf = async (v: number) => {
    await Promise.all(names.map((n) => redis.set(`${prefix}in-${n}`, JSON.stringify({ v }))));
    await waitFor(
      async () => {
        const states = await redis.mget(...names.map((n) => new Keys(ownPrefix(prefix)).state(n)));
        return states.every((s) => s && (JSON.parse(s).env.seen as number[]).at(-1) === v);
      },
      `every function to handle v=${v}`,
      15_000,
      50,
    );
  };
  const seenLists = async () =>
    (await redis.mget(...names.map((n) => new Keys(ownPrefix(prefix)).state(n)))).map((s) => JSON.parse(s!).env.seen as number[]);

  beforeAll(async () => {
    redis = redisClient();
    await Promise.all(['a', 'b', 'c'].map((id) => start(id)));
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas.values()) {
      r.w.kill();
      await r.w.exited;
    }
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('spreads 30 functions over the three as assigned and handles each input exactly once', async () => {
    const a = replicas.get('a')!;
    for (const n of names) {
      const r = await api(a, '/api/functions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: n,
          source: SEEN,
          filename: `${n}.js`,
          inputKey: `${prefix}in-${n}`,
          outputKey: `${prefix}out-${n}`,
          period: 0.2,
        }),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await waitFor(async () => assigned(await owners(), ['a', 'b', 'c']), 'the assigned spread', 15_000, 100);
    for (const c of Object.values(counts(await owners()))) expect(c).toBeGreaterThan(0);
    for (let v = 1; v <= 3; v++) await roundOf(v);
    for (const seen of await seenLists()) expect(seen).toEqual([1, 2, 3]);
    // Every replica's API lists every function with its owner.
    const viaC = await api(replicas.get('c')!, '/api/functions');
    expect(viaC.body.functions).toHaveLength(N);
    const o = await owners();
    for (const f of viaC.body.functions) expect(f.owner, f.name).toBe(o.get(f.name));
  }, 90_000);

  it('moves the functions of a replica killed with SIGKILL once its leases lapse; nothing lost or run twice', async () => {
    const b = replicas.get('b')!;
    const ofB = [...(await owners())].filter(([, o]) => o === 'b').map(([n]) => n);
    expect(ofB.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    b.w.child.kill('SIGKILL');
    await b.w.exited;
    replicas.delete('b');
    await waitFor(
      async () => {
        const o = await owners();
        return ofB.every((n) => o.get(n) === 'a' || o.get(n) === 'c');
      },
      "b's functions to be taken over",
      30_000,
      20,
    );
    console.log(`failover: ${Date.now() - killedAt} ms (lease ${LEASE_MS} ms)`);
    await waitFor(async () => assigned(await owners(), ['a', 'c']), 'the spread over two', 10_000, 50);
    await roundOf(4);
    for (const seen of await seenLists()) expect(seen).toEqual([1, 2, 3, 4]);
  }, 60_000);

  it('rebalances when the replica comes back, without double runs', async () => {
    const startedAt = Date.now();
    await start('b');
    await waitFor(async () => assigned(await owners(), ['a', 'b', 'c']), 'the spread over three again', 15_000, 50);
    console.log(`rebalance after restart: ${Date.now() - startedAt} ms (including the process start)`);
    for (let v = 5; v <= 6; v++) await roundOf(v);
    for (const seen of await seenLists()) expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  }, 60_000);

  it('a change through any replica takes effect on the owner', async () => {
    const [a, c] = [replicas.get('a')!, replicas.get('c')!];
    // Registered through a, listed by c, run by its owner.
    const created = await api(a, '/api/functions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'late',
        source: 'export const handler = (i) => ({ v: i.v, code: 1 })',
        filename: 'late.js',
        inputKey: `${prefix}in-late`,
        outputKey: `${prefix}out-late`,
        trigger: 'keyspace',
      }),
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await api(c, '/api/functions/late')).status === 200, 'c to list it', 10_000, 20);
    await sleep(300);
    await redis.set(`${prefix}in-late`, '{"v":1}');
    expect(JSON.parse(await waitFor(() => redis.get(`${prefix}out-late`), 'its output', 10_000, 20))).toEqual({ v: 1, code: 1 });

    // Updated through a replica that is not its owner.
    const owner = await redis.get(new Keys(ownPrefix(prefix)).owner('late'));
    const other = [...replicas.values()].find((r) => r.id !== owner)!;
    const put = await api(other, '/api/functions/late', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'export const handler = (i) => ({ v: i.v, code: 2 })', filename: 'late.js' }),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await waitFor(
      async () => {
        await redis.set(`${prefix}in-late`, JSON.stringify({ v: Date.now() }));
        return JSON.parse((await redis.get(`${prefix}out-late`)) ?? '{}').code === 2;
      },
      'the new code to run on the owner',
      10_000,
      50,
    );

    // Deleted through yet another replica: the owner stops it.
    const del = await api(other, '/api/functions/late', { method: 'DELETE' });
    expect(del.status).toBe(204);
    await waitFor(
      async () => (await redis.get(new Keys(ownPrefix(prefix)).owner('late'))) === null,
      'the lease to be released',
      10_000,
      20,
    );
    await redis.set(`${prefix}in-late`, '{"v":"after"}');
    await sleep(300);
    expect(JSON.parse((await redis.get(`${prefix}out-late`))!).v).not.toBe('after');
  }, 60_000);

  it('a replica cut off from Redis stops its functions when its leases lapse; nothing runs twice when it comes back', async () => {
    const url = new URL(redisUrl());
    const proxy = await tcpProxy(Number(url.port || 6379), url.hostname);
    try {
      const d = await start('d', `redis://127.0.0.1:${proxy.port}`);
      await waitFor(async () => assigned(await owners(), ['a', 'b', 'c', 'd']), 'a spread over four', 15_000, 50);
      await roundOf(7);
      const ofD = [...(await owners())].filter(([, o]) => o === 'd').map(([n]) => n);
      expect(ofD.length).toBeGreaterThanOrEqual(7);

      const cutAt = Date.now();
      proxy.cut();
      await waitFor(
        async () => {
          const o = await owners();
          return ofD.every((n) => o.get(n) !== null && o.get(n) !== 'd');
        },
        "d's functions to move",
        30_000,
        20,
      );
      console.log(`takeover from a cut-off replica: ${Date.now() - cutAt} ms`);
      // d says what is wrong and runs nothing of its former functions.
      const ready = await fetch(`${d.base}/readyz`);
      expect(ready.status).toBe(503);
      const fromD = (await (await fetch(`${d.base}/api/functions/${ofD[0]}`)).json()) as { owner: string | null };
      expect(fromD.owner).not.toBe('d');
      await roundOf(8);

      proxy.restore();
      await waitFor(async () => assigned(await owners(), ['a', 'b', 'c', 'd']), 'd to take its share again', 20_000, 50);
      for (let v = 9; v <= 10; v++) await roundOf(v);
      for (const seen of await seenLists()) expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
