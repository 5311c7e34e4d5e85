/**
 * Item 10, Redis topologies: the same redlet (in-process isolates, replica leases on)
 * on the bench's single redis-server and on a private Redis Cluster of 3 primaries +
 * 3 replicas (every fenced commit waits for a replica's acknowledgement there).
 * - keyspace latency: one function, sequential SETs of its input, until the invocation
 *   is committed (state, and output, written);
 * - invocations/s: 100 keyspace functions (quick: 20), each input rewritten as soon as
 *   its invocation is committed, for a fixed window;
 * - 300 functions (quick: 60), input keys over every slot, half poll and half keyspace
 *   triggered: one round of inputs, each handled exactly once, and the wall time; on
 *   the cluster, a primary is then killed (its replica takes over) during the next round,
 *   once its inputs reached the replicas: time from the kill until every function handled
 *   it, and whether any input was lost or doubled.
 */
import { Cluster, Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import type { InvocationEvent } from '../src/function-runner.js';
import { Keys } from '../src/keys.js';
import { silentLogger } from '../src/logger.js';
import { startRedlet, type RunningRedlet } from '../src/main.js';
import { privateCluster, type PrivateCluster } from '../test/helpers/redis-cluster.js';
import { input2k, ownPrefix, registerMany, type BenchContext, type ItemResult, type Row } from './harness.js';
import { fmt, sleep, summarize } from './stats.js';

const SEEN = `export function handler(input, context) {
  context.env.seen = [...(context.env.seen || []), input.v];
  return { v: input.v, n: context.env.seen.length };
}`;
const ECHO = 'export function handler(input) { return input; }\n';

type Client = Redis | Cluster;

async function start(env: Record<string, string>, prefix: string): Promise<RunningRedlet> {
  const config = loadConfig(
    {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      REDLET_PREFIX: ownPrefix(prefix),
      REDLET_SANDBOX: 'inline',
      REDLET_DEMO: '0',
      REDLET_COLLECT: '0',
      LOG_LEVEL: 'silent',
      REDLET_DRAIN_MS: '2000',
      REDLET_LEASE_MS: '2000',
    },
    () => false,
  );
  return startRedlet(config, silentLogger());
}

/** Resolves at the next committed invocation of `name`. */
function nextInvocation(app: RunningRedlet, name: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no invocation of ${name} within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = app.runtime.onInvocation((e: InvocationEvent) => {
      if (e.name !== name) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

async function measure(ctx: BenchContext, label: string, env: Record<string, string>, client: Client, cluster: PrivateCluster | null) {
  const quick = ctx.quick;
  const result: Record<string, unknown> = { topology: label };

  // Keyspace latency.
  {
    const prefix = `bench:topo:lat:`;
    const app = await start(env, prefix);
    try {
      const inKey = `${prefix}in`;
      await client.set(inKey, input2k(0));
      await app.runtime.register({
        name: 'lat',
        origin: 'api',
        source: { kind: 'file', filename: 'lat.js', code: ECHO },
        settings: { inputKey: inKey, outputKey: `${prefix}out`, trigger: 'keyspace', invokeOn: 'change', period: 5 },
      });
      await sleep(1000);
      const samples: number[] = [];
      const count = quick ? 50 : 200;
      for (let i = 0; i < count + 10; i++) {
        const seen = nextInvocation(app, 'lat');
        const t0 = performance.now();
        await client.set(inKey, input2k(i + 1));
        await seen;
        if (i >= 10) samples.push(performance.now() - t0);
      }
      result.latencyMs = summarize(samples);
    } finally {
      await app.stop();
    }
  }

  // Invocations/s, absorbed.
  {
    const n = quick ? 20 : 100;
    const windowMs = quick ? 2000 : 5000;
    const prefix = `bench:topo:tp:`;
    const app = await start(env, prefix);
    try {
      for (let i = 0; i < n; i++) await client.set(`${prefix}in:${i}`, input2k(0));
      await registerMany(app.runtime, n, (i) => ({
        name: `tp-${i}`,
        origin: 'api',
        source: { kind: 'file', filename: `tp-${i}.js`, code: ECHO },
        settings: { inputKey: `${prefix}in:${i}`, outputKey: `${prefix}out:${i}`, trigger: 'keyspace', invokeOn: 'change', period: 5 },
      }));
      await sleep(1500);
      let ok = 0;
      let seq = 1;
      const deadline = performance.now() + windowMs;
      const stop = app.runtime.onInvocation((e) => {
        if (!e.ok || performance.now() > deadline) return;
        ok++;
        void client.set(`${prefix}in:${e.name.slice(3)}`, input2k(seq++)).catch(() => {});
      });
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => client.set(`${prefix}in:${i}`, input2k(seq++))));
      await sleep(windowMs);
      stop();
      result.invocationsPerS = Math.round(ok / ((performance.now() - t0) / 1000));
      result.throughputFunctions = n;
    } finally {
      await app.stop();
    }
  }

  // 300 functions, exactly once, and a primary failover on the cluster.
  {
    const n = quick ? 60 : 300;
    const prefix = `bench:topo:many:`;
    const keys = new Keys(ownPrefix(prefix));
    const names = Array.from({ length: n }, (_, i) => `m-${i}`);
    const app = await start(env, prefix);
    try {
      await registerMany(app.runtime, n, (i) => ({
        name: names[i]!,
        origin: 'api',
        source: { kind: 'file', filename: `${names[i]}.js`, code: SEEN },
        settings: {
          inputKey: `in:${prefix}${i}`,
          outputKey: `out:${prefix}${i}`,
          trigger: i % 2 ? 'keyspace' : 'poll',
          invokeOn: 'change',
          period: 0.5,
        },
      }));
      const states = async () =>
        Promise.all(
          names.map(
            async (nm) => JSON.parse((await client.get(keys.state(nm)).catch(() => null)) ?? 'null') as { env: { seen?: number[] } } | null,
          ),
        );
      /** Writes the round, then runs `after` (the round's clock then starts when it ends); waits for every function. */
      const round = async (v: number, after?: () => Promise<void>) => {
        let t0 = performance.now();
        await Promise.all(
          names.map(async (_, i) => {
            for (;;) {
              try {
                await client.set(`in:${prefix}${i}`, JSON.stringify({ v }));
                return;
              } catch {
                await sleep(100);
              }
            }
          }),
        );
        if (after) {
          await after();
          t0 = performance.now();
        }
        for (;;) {
          const done = (await states()).filter((s) => s?.env.seen?.at(-1) === v).length;
          if (done === n) return performance.now() - t0;
          if (performance.now() - t0 > 180_000) throw new Error(`${label}: round ${v} handled by ${done} of ${n} functions within 180 s`);
          await sleep(200);
        }
      };
      // Wait until every function is owned and running.
      await round(1);
      result.roundMs = Math.round(await round(2));
      if (cluster) {
        // The round's inputs reach the replicas first (Redis itself may lose a write its
        // replica never got: not redlet's to keep), then the primary dies; the clock starts there.
        const victim = await cluster.primaryFor(keys.functions());
        const ms = await round(3, async () => {
          await Promise.all((client as Cluster).nodes('master').map((node) => node.wait(1, 5000)));
          await victim.kill();
        });
        result.failoverResumeMs = Math.round(ms);
        await round(4);
      }
      const expected = cluster ? [1, 2, 3, 4] : [1, 2];
      const all = await states();
      result.exactlyOnce = all.every((s) => JSON.stringify(s?.env.seen) === JSON.stringify(expected));
      result.functions = n;
      result.unreplicatedCommits = app.runtime.store.unreplicatedCommits ?? 0;
    } finally {
      await app.stop();
    }
  }
  return result;
}

export async function redisTopologies(ctx: BenchContext): Promise<ItemResult> {
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  ctx.note('single Redis');
  const single = await measure(ctx, 'single', { REDIS_URL: ctx.redisUrl }, ctx.redis, null);
  ctx.note('starting a 3-primary + 3-replica cluster');
  const cluster = await privateCluster();
  const client = new Cluster(
    cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    { slotsRefreshInterval: 500 },
  );
  client.on('error', () => {});
  let onCluster: Record<string, unknown>;
  try {
    ctx.note('Redis Cluster');
    onCluster = await measure(ctx, 'cluster', { REDIS_CLUSTER_NODES: cluster.seeds }, client, cluster);
  } finally {
    client.disconnect();
    await cluster.close();
  }
  data.single = single;
  data.cluster = onCluster;
  const lat = (r: Record<string, unknown>) => r.latencyMs as { median: number; p99: number };
  rows.push({
    metric: 'keyspace latency median / p99, single vs cluster (ms)',
    value: `${fmt(lat(single).median)} / ${fmt(lat(single).p99)} vs ${fmt(lat(onCluster).median)} / ${fmt(lat(onCluster).p99)}`,
  });
  rows.push({
    metric: `invocations/s, ${single.throughputFunctions} keyspace functions, single vs cluster`,
    value: `${fmt(single.invocationsPerS as number)} vs ${fmt(onCluster.invocationsPerS as number)}`,
  });
  rows.push({
    metric: `${single.functions} functions: one round handled (ms), single vs cluster`,
    value: `${fmt(single.roundMs as number)} vs ${fmt(onCluster.roundMs as number)}`,
  });
  rows.push({
    metric: `cluster primary killed during a round of ${onCluster.functions}: all handled after (ms)`,
    value: fmt(onCluster.failoverResumeMs as number),
  });
  rows.push({
    metric: `cluster, ${onCluster.functions} functions with the failover: commits no replica acknowledged within 500 ms`,
    value: String(onCluster.unreplicatedCommits),
  });
  rows.push({
    metric: 'each input handled exactly once (single / cluster with failover)',
    value: `${single.exactlyOnce ? 'yes' : 'NO'} / ${onCluster.exactlyOnce ? 'yes' : 'NO'}`,
    target: 'yes / yes',
    met: Boolean(single.exactlyOnce && onCluster.exactlyOnce),
  });
  return {
    rows,
    data,
    notes: [
      'cluster: 3 primaries + 3 replicas on this machine, cluster-node-timeout 1 s, one redlet with a 2 s lease; fenced commits wait for a replica (WAIT 1 500)',
    ],
  };
}
