// Three redlet processes on a real Redis Cluster (3 primaries + 3 replicas) and on a
// real Sentinel setup (primary, replica, 3 sentinels). Functions with poll and keyspace
// triggers, input keys spread over every slot, each input handled exactly once; then a
// primary is killed during a round of inputs: no registration, env or output lost,
// nothing handled twice, and the time until every function handled the round is printed.
// The test runs 24 functions to fit a small shared machine; `npm run bench` runs 300.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../src/keys.js';
import { spawnRedlet, waitForStatus, type Watched } from './helpers/process.js';
import { privateCluster, type PrivateCluster } from './helpers/redis-cluster.js';
import { privateSentinel, type PrivateSentinel } from './helpers/redis-sentinel.js';
import { waitFor } from './helpers/wait.js';

const LEASE_MS = 2000;
const N = 24;
const SEEN = `export function handler(input, context) {
  context.env.seen = [...(context.env.seen || []), input.v];
  return { v: input.v, n: context.env.seen.length };
}`;

interface Backend {
  env: Record<string, string>;
  client: Redis | Cluster;
  /** Kills a primary; resolves once the backend has promoted a replica. */
  failover(): Promise<void>;
  close(): Promise<void>;
}

function scenario(name: string, makeBackend: () => Promise<Backend>) {
  describe(name, () => {
    let backend: Backend;
    const prefix = `redlet-test:${randomBytes(4).toString('hex')}:`;
    const keys = new Keys(prefix);
    const names = Array.from({ length: N }, (_, i) => `fn-${String(i).padStart(3, '0')}`);
    const input = (n: string) => `in:${prefix}${n}`;
    const output = (n: string) => `out:${prefix}${n}`;
    const replicas: Array<{ id: string; base: string; w: Watched }> = [];

    async function start(id: string) {
      const { w, base } = await spawnRedlet({
        ...backend.env,
        REDLET_PREFIX: prefix,
        REDLET_REPLICA_ID: id,
        REDLET_LEASE_MS: String(LEASE_MS),
        REDLET_DEMO: '0',
        // Isolates in the redlet process: this test is about Redis, and worker processes
        // (heartbeat 2 s) are restarted on a machine this loaded.
        REDLET_SANDBOX: 'inline',
        LOG_LEVEL: 'warn',
      });
      const r = { id, base, w };
      replicas.push(r);
      // Generous: on a loaded shared machine a start takes tens of seconds.
      await waitForStatus(r.w, `${r.base}/readyz`, 200, 90_000);
    }

    const states = async () =>
      Promise.all(
        names.map(async (n) => JSON.parse((await backend.client.get(keys.state(n))) ?? 'null') as { env: { seen?: number[] } } | null),
      );
    /** Writes {v} to every input (retrying through a failover), then waits until every function handled it. */
    const roundOf = async (v: number, during?: () => Promise<void>) => {
      const writes = Promise.all(
        names.map((n) =>
          waitFor(() => backend.client.set(input(n), JSON.stringify({ v })).then(() => true), `writing ${input(n)}`, 30_000, 100),
        ),
      );
      await during?.();
      await writes;
      await waitFor(async () => (await states()).every((s) => s?.env.seen?.at(-1) === v), `every function to handle v=${v}`, 40_000, 100);
    };

    beforeAll(async () => {
      backend = await makeBackend();
      console.log(`${name}: backend up`);
      for (const id of ['a', 'b', 'c']) {
        await start(id);
        console.log(`${name}: replica ${id} ready`);
      }
    }, 300_000);

    afterAll(async () => {
      for (const r of replicas) {
        r.w.kill();
        await r.w.exited;
      }
      await backend?.close();
    });

    it(`runs ${N} functions on 3 replicas, each input exactly once, and survives a primary failover`, async () => {
      for (const [i, n] of names.entries()) {
        const res = await fetch(`${replicas[i % 3]!.base}/api/functions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            name: n,
            source: SEEN,
            filename: `${n}.js`,
            inputKey: input(n),
            outputKey: output(n),
            period: 0.2,
            trigger: i % 2 ? 'keyspace' : 'poll',
          }),
        });
        expect(res.status, await res.text()).toBe(201);
      }
      await waitFor(
        async () => {
          const owners = await Promise.all(names.map((n) => backend.client.get(keys.owner(n))));
          return owners.every((o) => o !== null) && new Set(owners).size === 3;
        },
        'every function owned, by all three replicas',
        30_000,
        100,
      );
      for (let v = 1; v <= 2; v++) await roundOf(v);

      let resumeMs = 0;
      await roundOf(3, async () => {
        const t0 = Date.now();
        await backend.failover();
        resumeMs = t0;
      });
      console.log(
        `${name}: every function handled the round ${Date.now() - resumeMs} ms after the primary was killed (lease ${LEASE_MS} ms)`,
      );
      for (let v = 4; v <= 5; v++) await roundOf(v);

      // Nothing lost, nothing doubled: env, state and output agree on exactly 1..5.
      for (const [i, s] of (await states()).entries()) expect(s?.env.seen, names[i]).toEqual([1, 2, 3, 4, 5]);
      await waitFor(
        async () => {
          const outs = await Promise.all(names.map((n) => backend.client.get(output(n))));
          return outs.every((o) => o !== null && JSON.parse(o).v === 5 && JSON.parse(o).n === 5);
        },
        'every output to hold the last result',
        10_000,
        100,
      );
      // Every registration survived, seen through every replica.
      for (const r of replicas) {
        const list = (await (await fetch(`${r.base}/api/functions`)).json()) as { functions: Array<{ name: string }> };
        expect(list.functions.filter((f) => names.includes(f.name))).toHaveLength(N);
      }
    }, 240_000);
  });
}

scenario('Redis Cluster', async () => {
  const cluster: PrivateCluster = await privateCluster();
  const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  const client = new Cluster(nodes, { slotsRefreshInterval: 500 });
  client.on('error', () => {});
  return {
    env: { REDIS_CLUSTER_NODES: cluster.seeds },
    client,
    async failover() {
      // The primary that holds the function set and the replica heartbeats: the worst one to lose.
      const victim = await cluster.primaryFor(new Keys('x').functions());
      await victim.kill();
      await cluster.waitHealthy();
    },
    async close() {
      client.disconnect();
      await cluster.close();
    },
  };
});

scenario('Redis Sentinel', async () => {
  const sentinel: PrivateSentinel = await privateSentinel();
  const sentinels = sentinel.sentinels.split(',').map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) }));
  const client = new Redis({
    sentinels,
    name: sentinel.name,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
    sentinelRetryStrategy: () => 100,
  });
  client.on('error', () => {});
  return {
    env: { REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.name },
    client,
    async failover() {
      const old = await sentinel.killPrimary();
      await sentinel.waitFailover(old);
    },
    async close() {
      client.disconnect();
      await sentinel.close();
    },
  };
});
