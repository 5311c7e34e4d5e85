/**
 * A Sentinel-managed Redis of the test's own: one primary, one replica and three
 * redis-sentinel processes on free ports in a temp dir. Short timeouts make a failover
 * after the primary is killed take a few seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer, waitOwnServer } from './private-redis.js';
import { nodeCommand } from './redis-cluster.js';
import { freePort } from './process.js';

export const SENTINEL_NAME = 'redlet-primary';

export interface PrivateSentinel {
  /** `127.0.0.1:port,...` of the three sentinels (REDIS_SENTINELS). */
  sentinels: string;
  name: string;
  /** Port of the primary the sentinels announce now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the current primary. */
  killPrimary(): Promise<number>;
  /** Waits until the sentinels announce a primary other than `oldPort`, and it accepts writes. */
  waitFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function privateSentinel(): Promise<PrivateSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'redlet-private-sentinel-'));
  const children = new Map<number, ChildProcess>();
  const startServer = async (port: number, args: string[]) => {
    children.set(port, await spawnRedisServer(port, dir, args));
  };
  const kill = async (port: number) => {
    const c = children.get(port);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  };
  const primary = await freePort();
  const replica = await freePort();
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const api: PrivateSentinel = {
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
    name: SENTINEL_NAME,
    async primaryPort() {
      for (const s of sentinelPorts) {
        const addr = (await nodeCommand(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string] | null;
        if (addr) return Number(addr[1]);
      }
      throw new Error('no sentinel answers');
    },
    async killPrimary() {
      const port = await api.primaryPort();
      await kill(port);
      return port;
    },
    async waitFailover(oldPort, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const port = await api.primaryPort().catch(() => oldPort);
        if (port !== oldPort) {
          const role = (await nodeCommand(port, 'ROLE')) as [string] | null;
          if (role?.[0] === 'master') return port;
        }
        if (Date.now() > deadline) throw new Error(`no failover within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await Promise.all([...children.keys()].map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await startServer(primary, []);
    await startServer(replica, ['--replicaof', '127.0.0.1', String(primary)]);
    for (const port of sentinelPorts) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          '',
        ].join('\n'),
      );
      const c = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
      children.set(port, c);
      await waitOwnServer(port, c, 'redis-sentinel');
    }
    // The replica must have synced, and every sentinel must know it and the others.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const info = (await nodeCommand(replica, 'INFO', 'replication')) as string | null;
      const views = await Promise.all(sentinelPorts.map((p) => nodeCommand(p, 'SENTINEL', 'MASTER', SENTINEL_NAME)));
      const field = (v: unknown, f: string) => (Array.isArray(v) ? Number(v[v.indexOf(f) + 1]) : 0);
      if (
        info?.includes('master_link_status:up') &&
        views.every((v) => field(v, 'num-slaves') >= 1 && field(v, 'num-other-sentinels') >= 2)
      )
        break;
      if (Date.now() > deadline)
        throw new Error(
          `the sentinels did not settle within 30 s: replica link ${/master_link_status:(\w+)/.exec(info ?? '')?.[1] ?? 'unknown'}, ` +
            `per sentinel (replicas, other sentinels): ${views.map((v) => `${field(v, 'num-slaves')}/${field(v, 'num-other-sentinels')}`).join(' ')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await api.close();
    throw err;
  }
  return api;
}
