/**
 * A redis-server of the test's own, on a free port, for tests that stop, restart or
 * reconfigure Redis (which must never happen to a shared server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './process.js';

export interface PrivateRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Resolves once the server on `port` answers and is `child` itself (INFO's process_id):
 * a PING answered by another process's server on the same port must not pass for ours.
 * Rejects when `child` exits first or nothing answers within about 10 s.
 *
 * @example
 * const c = spawn('redis-sentinel', [conf]);
 * await waitOwnServer(port, c, 'redis-sentinel');
 */
export async function waitOwnServer(port: number, child: ChildProcess, what = 'redis-server'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} on port ${port} exited at start (${child.exitCode ?? child.signalCode}); is the port taken?`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      const pid = /process_id:(\d+)/.exec(await probe.info('server'))?.[1];
      if (Number(pid) === child.pid) return;
      if (pid) throw new Error(`port ${port} is served by process ${pid}, not by the ${what} started here (${child.pid})`);
    } catch (err) {
      if ((err as Error).message.startsWith('port ')) throw err;
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} on port ${port} did not answer within 10 s`);
}

/**
 * A redis-server on 127.0.0.1:`port` without persistence, its files in `dir`; resolves
 * once it answers as itself (rejects after about 10 s, or when it exits at start).
 */
export async function spawnRedisServer(port: number, dir: string, extraArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs],
    { stdio: 'ignore' },
  );
  try {
    await waitOwnServer(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

export async function privateRedis(extraArgs: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redlet-private-redis-'));
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const api: PrivateRedis = {
    url,
    port,
    async start() {
      child = await spawnRedisServer(port, dir, extraArgs);
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      });
    },
    async close() {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await api.start();
  return api;
}
