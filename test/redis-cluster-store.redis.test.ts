// RedisStore on a real Redis Cluster (3 primaries + 3 replicas) and a real Sentinel
// setup: per-slot atomic ops, scans over every primary, keyspace notifications from
// every shard, after a primary failover too, and a naming of the node that refuses them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { Keys } from '../src/keys.js';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { keySlot } from '../src/store/key-slot.js';
import { RedisStore } from '../src/store/redis-store.js';
import { nodeCommand, privateCluster, type PrivateCluster } from './helpers/redis-cluster.js';
import { privateSentinel, type PrivateSentinel } from './helpers/redis-sentinel.js';
import { waitFor } from './helpers/wait.js';

const hostPorts = (seeds: string) => seeds.split(',').map((s) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) }));

describe('RedisStore on Redis Cluster', () => {
  let cluster: PrivateCluster;
  let store: RedisStore;
  let admin: Cluster;
  const keys = new Keys('redlet:');

  beforeAll(async () => {
    cluster = await privateCluster();
    store = new RedisStore({ cluster: { nodes: hostPorts(cluster.seeds) }, maxBackoffMs: 200 });
    admin = new Cluster(hostPorts(cluster.seeds));
    await waitFor(() => store.available, 'the cluster client ready', 10_000);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    admin?.disconnect();
    await cluster?.close();
  });

  it("keeps a function's keys in one slot and runs its fenced commit there, with a replica's acknowledgement", async () => {
    expect(store.sharded).toBe(true);
    expect(store.sameSlot([keys.state('avg'), keys.owner('avg'), keys.definition('avg'), keys.code('avg'), keys.status('avg')])).toBe(true);
    expect(store.sameSlot([keys.state('avg'), keys.functions()])).toBe(false);
    expect(store.sameSlot([keys.state('avg'), 'out-{avg}'])).toBe(true);
    expect(store.sameSlot([keys.state('avg'), 'avg-output'])).toBe(false);
    expect(await store.acquire(keys.owner('avg'), 'r1', 5000)).toBe(true);
    expect(await store.execIf({ key: keys.owner('avg'), value: 'r1' }, [{ op: 'set', key: keys.state('avg'), value: 's1' }])).toBe(true);
    expect(await store.execIf({ key: keys.owner('avg'), value: 'r2' }, [{ op: 'set', key: keys.state('avg'), value: 's2' }])).toBe(false);
    expect(await store.get(keys.state('avg'))).toBe('s1');
    expect(store.unreplicatedCommits).toBe(0);
    expect(await store.renew(keys.owner('avg'), 'r1', 5000)).toBe(true);
    // Leases of functions in many slots, renewed together: each answered in order.
    const others = ['a1', 'b2', 'c3', 'd4', 'e5'];
    for (const n of others.slice(0, 3)) expect(await store.acquire(keys.owner(n), 'r1', 5000)).toBe(true);
    expect(await store.acquire(keys.owner('d4'), 'r2', 5000)).toBe(true);
    expect(await store.renewMany([keys.owner('avg'), ...others.map((n) => keys.owner(n))], 'r1', 5000)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(await store.release(keys.owner('avg'), 'r1')).toBe(true);
    await store.exec([
      { op: 'set', key: keys.definition('avg'), value: '{}' },
      { op: 'set', key: keys.code('avg'), value: 'x' },
    ]);
    // Reads over many slots and a scan of every primary.
    const many = Array.from({ length: 50 }, (_, i) => `scan-test:${i}`);
    await Promise.all(many.map((k, i) => store.set(k, String(i))));
    expect(await store.mget(many)).toEqual(many.map((_, i) => String(i)));
    expect((await store.scan('scan-test:*')).sort()).toEqual([...many].sort());
    const owners = new Set(await Promise.all(many.map(async (k) => (await cluster.primaryFor(k)).port)));
    expect(owners.size).toBe(3);
  });

  it("computes each key's slot as the servers do", async () => {
    for (const k of ['foo', 'redlet:{avg}:state', 'in:redlet-test:1a2b:fn-007', 'ü{ключ}x', '{}x'])
      expect(keySlot(k), k).toBe(await nodeCommand(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', k));
  });

  it('arms a watched key only once the primary serving its slot confirmed it: a write right after is heard, on every shard', async () => {
    // A store of its own, so nothing is connected yet when the first key is watched.
    const fresh = new RedisStore({ cluster: { nodes: hostPorts(cluster.seeds) }, maxBackoffMs: 200 });
    try {
      await waitFor(() => fresh.available, 'the cluster client ready', 10_000);
      const watched = Array.from({ length: 12 }, (_, i) => `arm-test:${i}`);
      expect(new Set(await Promise.all(watched.map(async (k) => (await cluster.primaryFor(k)).port)))).toHaveProperty('size', 3);
      const heard = new Set<string>();
      for (const k of watched) {
        await fresh.watch(k, () => heard.add(k)).armed;
        await admin.set(k, '1');
      }
      await waitFor(() => watched.every((k) => heard.has(k)), `a notification for every key (heard ${[...heard].join(', ')})`, 5000, 20);
    } finally {
      await fresh.close();
    }
  });

  it('runs a keyspace function on a write made right after its registration', async () => {
    const fresh = new RedisStore({ cluster: { nodes: hostPorts(cluster.seeds) }, maxBackoffMs: 200 });
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, REDLET_PREFIX: 'rt-arm:redlet:', REDLET_REPLICA_ID: 'r1', REDLET_DEMO: '0' };
    const config = loadConfig(env, () => false);
    const runtime = new Runtime({ config, store: fresh, sandbox: new InProcessSandbox() });
    try {
      await waitFor(() => fresh.available, 'the cluster client ready', 10_000);
      await runtime.start();
      // Seeing itself live, it runs what it registers at once: registration returns armed.
      await waitFor(() => runtime.cluster?.replicas.length === 1, 'the replica to see itself live', 10_000, 20);
      // invokeOn 'always': no safety poll, so only the notification can run it.
      for (let i = 0; i < 6; i++) {
        await runtime.register({
          name: `arm-${i}`,
          origin: 'api',
          source: { kind: 'file', filename: `arm-${i}.js`, code: 'export const handler = (input) => ({ got: input.v })' },
          settings: { inputKey: `rt-arm:in:${i}`, outputKey: `rt-arm:out:${i}`, trigger: 'keyspace', invokeOn: 'always', period: 60 },
        });
        await admin.set(`rt-arm:in:${i}`, JSON.stringify({ v: i }));
      }
      for (let i = 0; i < 6; i++)
        expect(JSON.parse(await waitFor(() => admin.get(`rt-arm:out:${i}`), `the output of arm-${i}`, 10_000, 20))).toEqual({ got: i });
    } finally {
      await runtime.stop();
      await fresh.close();
    }
  });

  it('hears writes to keys on every shard, and on the promoted replica after a primary is killed', async () => {
    const watched = Array.from({ length: 30 }, (_, i) => `ks-test:${i}`);
    const heard = new Map<string, number>();
    for (const k of watched) store.watch(k, () => heard.set(k, (heard.get(k) ?? 0) + 1));
    await waitFor(() => store.keyspaceStatus().enabled, 'keyspace notifications enabled', 10_000, 50);
    // Every node, replicas included (they are configured in turn, so allow a moment).
    for (const n of cluster.nodes)
      await waitFor(
        async () => /K/.test(String(((await nodeCommand(n.port, 'CONFIG', 'GET', 'notify-keyspace-events')) as string[])[1])),
        `notifications on at node ${n.port}`,
        10_000,
      );
    await Promise.all(watched.map((k) => admin.set(k, '1')));
    await waitFor(() => watched.every((k) => heard.has(k)), 'a notification from every shard', 5000, 20);

    const victim = await cluster.primaryFor(watched[0]!);
    const onVictim: string[] = [];
    for (const k of watched) if ((await cluster.primaryFor(k)).port === victim.port) onVictim.push(k);
    heard.clear();
    await victim.kill();
    const killedAt = Date.now();
    // Once the promoted replica confirmed them, the keys of its slots are armed anew and
    // each listener is called once, unasked: a write made while no one listened is read.
    await waitFor(() => onVictim.every((k) => heard.get(k) === 1), 'the keys of the moved slots re-armed', 20_000, 50);
    expect(watched.filter((k) => !onVictim.includes(k) && heard.has(k))).toEqual([]);
    await cluster.waitHealthy();
    heard.clear();
    // Writes to the victim's slots now land on its promoted replica.
    await waitFor(
      async () => {
        await Promise.all(onVictim.map((k) => admin.set(k, String(Date.now())).catch(() => {})));
        await new Promise((r) => setTimeout(r, 100));
        return onVictim.every((k) => heard.has(k));
      },
      'notifications from the promoted replica',
      20_000,
      100,
    );
    console.log(`cluster: keyspace notifications resumed ${Date.now() - killedAt} ms after the primary was killed`);
  }, 60_000);
});

describe('RedisStore on a Redis Cluster with a node that refuses CONFIG', () => {
  let cluster: PrivateCluster;
  let store: RedisStore;

  beforeAll(async () => {
    // The first node of three primaries refuses CONFIG, as managed services do.
    cluster = await privateCluster({ replicas: false, nodeArgs: (i) => (i === 0 ? ['--rename-command', 'CONFIG', ''] : []) });
    store = new RedisStore({ cluster: { nodes: hostPorts(cluster.seeds) }, maxBackoffMs: 200 });
    await waitFor(() => store.available, 'the cluster client ready', 10_000);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await cluster?.close();
  });

  it('names the node that refused in the keyspace status', async () => {
    store.watch('some-input', () => {});
    const status = await waitFor(
      () => (store.keyspaceStatus().reason?.includes('on 127.0.0.1:') ? store.keyspaceStatus() : null),
      'a refusal',
      10_000,
      50,
    );
    expect(status.enabled).toBe(false);
    expect(status.reason).toContain(`could not enable Redis keyspace notifications on ${cluster.nodes[0]!.address} (`);
    for (const n of cluster.nodes.slice(1)) expect(status.reason).not.toContain(n.address);
    expect(status.reason).toMatch(/notify-keyspace-events to include 'K\$g' on every cluster node, or use the poll trigger/);
  });
});

describe('RedisStore on Redis Sentinel', () => {
  let sentinel: PrivateSentinel;
  let store: RedisStore;

  beforeAll(async () => {
    sentinel = await privateSentinel();
    store = new RedisStore({
      sentinel: { sentinels: hostPorts(sentinel.sentinels), name: sentinel.name, password: null },
      maxBackoffMs: 200,
    });
    await waitFor(() => store.available, 'the sentinel client ready', 10_000);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await sentinel?.close();
  });

  it('commits with a replica acknowledgement, keeps them across a failover and hears the new primary', async () => {
    expect(store.sharded).toBe(false);
    await store.acquire('redlet:{f}:owner', 'r1', 60_000);
    for (let i = 0; i < 20; i++)
      expect(await store.execIf({ key: 'redlet:{f}:owner', value: 'r1' }, [{ op: 'set', key: 'redlet:{f}:state', value: String(i) }])).toBe(
        true,
      );
    expect(store.unreplicatedCommits).toBe(0);
    let heard = 0;
    store.watch('input', () => heard++);
    await waitFor(() => store.keyspaceStatus().enabled, 'keyspace notifications enabled', 5000, 20);

    const old = await sentinel.killPrimary();
    const killedAt = Date.now();
    await sentinel.waitFailover(old);
    let last: string | null = null;
    await waitFor(
      async () => {
        last = await store.get('redlet:{f}:state').catch((err: Error) => `error: ${err.message}`);
        return last === '19';
      },
      'the last commit on the new primary',
      20_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last read: ${last}`);
    });
    expect(await store.get('redlet:{f}:owner')).toBe('r1');
    await waitFor(
      async () => {
        await store.set('input', String(Date.now())).catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
        return heard > 0;
      },
      'a notification from the new primary',
      20_000,
      100,
    );
    console.log(`sentinel: commands and keyspace notifications resumed ${Date.now() - killedAt} ms after the primary was killed`);
  }, 60_000);
});
