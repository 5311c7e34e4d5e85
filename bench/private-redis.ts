/**
 * The benchmark's own redis-server, on a free port, with no persistence: the run never
 * touches a shared Redis's data. Copied (trimmed) from test/helpers/private-redis.ts so
 * bench/ does not depend on the test helpers.
 *
 * @example
 * const redis = await startPrivateRedis();
 * console.log(redis.url); // redis://127.0.0.1:40123
 * await redis.close();
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface PrivateRedis {
  url: string;
  port: number;
  pid: number;
  version: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redlet-bench-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--notify-keyspace-events',
      'K$g',
      '--maxclients',
      '10000',
    ],
    { stdio: 'ignore' },
  );
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`cannot start redis-server (is it installed?): ${err.message}`))),
  );
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  let version = 'unknown';
  for (let i = 0; ; i++) {
    try {
      await Promise.race([probe.connect(), spawnFailed]);
      const info = await probe.info('server');
      version = /redis_version:(\S+)/.exec(info)?.[1] ?? version;
      probe.disconnect();
      break;
    } catch (err) {
      probe.disconnect();
      if (i >= 100 || String(err).includes('cannot start')) {
        child.kill('SIGKILL');
        throw err instanceof Error ? err : new Error(String(err));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    port,
    pid: child.pid ?? -1,
    version,
    async close() {
      if (child.exitCode === null) {
        await new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGKILL');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
