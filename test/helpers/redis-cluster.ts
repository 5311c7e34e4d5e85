/**
 * A Redis Cluster of the test's own: 3 primaries (+ 1 replica each when asked), real
 * redis-server processes on free ports in a temp dir, created with
 * `redis-cli --cluster create`. A short cluster-node-timeout makes a replica take over
 * a killed primary within about two seconds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './process.js';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  /** `127.0.0.1:port` */
  address: string;
  /** Killed with SIGKILL (a crash). */
  kill(): Promise<void>;
  readonly running: boolean;
}

export interface PrivateCluster {
  nodes: ClusterNode[];
  /** `host:port,host:port,...` of every node (REDIS_CLUSTER_NODES). */
  seeds: string;
  /** The node currently serving `key`'s slot as primary. */
  primaryFor(key: string): Promise<ClusterNode>;
  /** Primaries as the cluster sees them now. */
  primaries(): Promise<ClusterNode[]>;
  /** Waits until every slot is served by a live primary and the cluster says ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts redis-server on a free port (and its cluster bus on port + 10000); another
 * process may take a port between the check and the start (tests run side by side),
 * so a server that exits at once is tried again on other ports.
 */
async function startServer(dir: string, args: (port: number) => string[], taken: number[]): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort({ bus: true });
    if (taken.includes(port)) continue;
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args(port)],
      { stdio: 'ignore' },
    );
    if (await waitPing(port, child)) return { port, child };
    child.kill('SIGKILL');
    if (attempt === 5) throw new Error(`redis-server did not start (last tried on port ${port})`);
  }
}

/** True once the server answers PING; false when it exited or did not answer within 10 s. */
async function waitPing(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200 && child.exitCode === null && child.signalCode === null; i++) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child.exitCode === null;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/** A one-off command to one node; null when it does not answer. */
export async function nodeCommand(port: number, ...args: Array<string | number>): Promise<unknown> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1).map(String));
  } catch {
    return null;
  } finally {
    c.disconnect();
  }
}

export async function privateCluster(
  opts: { replicas?: boolean; nodeTimeoutMs?: number; nodeArgs?: (index: number) => string[] } = {},
): Promise<PrivateCluster> {
  const withReplicas = opts.replicas ?? true;
  const count = withReplicas ? 6 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'redlet-private-cluster-'));
  const ports: number[] = [];
  const children = new Map<number, ChildProcess>();
  try {
    for (let i = 0; i < count; i++) {
      const args = (port: number) => [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(opts.nodeTimeoutMs ?? 1000),
        ...(opts.nodeArgs?.(i) ?? []),
      ];
      const { port, child } = await startServer(dir, args, ports);
      ports.push(port);
      children.set(port, child);
    }
  } catch (err) {
    for (const c of children.values()) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const nodes: ClusterNode[] = ports.map((port) => ({
    port,
    address: `127.0.0.1:${port}`,
    get running() {
      const c = children.get(port);
      return !!c && c.exitCode === null && c.signalCode === null;
    },
    async kill() {
      const c = children.get(port);
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      });
    },
  }));
  const byPort = (port: number) => nodes.find((n) => n.port === port)!;
  const api: PrivateCluster = {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    async primaries() {
      for (const n of nodes) {
        if (!n.running) continue;
        const slots = (await nodeCommand(n.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]> | null;
        if (!slots) continue;
        return [...new Set(slots.map((s) => s[2][1]))].map(byPort);
      }
      throw new Error('no cluster node answers');
    },
    async primaryFor(key) {
      for (const n of nodes) {
        if (!n.running) continue;
        const slot = (await nodeCommand(n.port, 'CLUSTER', 'KEYSLOT', key)) as number | null;
        const slots = (await nodeCommand(n.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]> | null;
        if (slot === null || !slots) continue;
        const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
        if (range) return byPort(range[2][1]);
      }
      throw new Error(`no primary serves ${key}`);
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter((n) => n.running);
        const infos = await Promise.all(live.map((n) => nodeCommand(n.port, 'CLUSTER', 'INFO')));
        const ok = infos.every((i) => typeof i === 'string' && i.includes('cluster_state:ok') && i.includes('cluster_slots_ok:16384'));
        if (ok) {
          // Every live node must agree that no slot is served by a dead node.
          const slots = (await nodeCommand(live[0]!.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]> | null;
          if (slots && slots.every((s) => byPort(s[2][1]).running)) return;
        }
        if (Date.now() > deadline) throw new Error(`the cluster did not become healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', withReplicas ? '1' : '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    await api.waitHealthy();
    if (withReplicas) {
      // Replicas must have synced before a test kills their primary.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const infos = await Promise.all(nodes.map((n) => nodeCommand(n.port, 'INFO', 'replication')));
        if (infos.filter((i) => typeof i === 'string' && i.includes('master_link_status:up')).length === 3) break;
        if (Date.now() > deadline) throw new Error('the cluster replicas did not sync');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await api.close();
    throw err;
  }
  return api;
}
