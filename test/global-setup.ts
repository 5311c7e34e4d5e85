/**
 * Makes sure the tests have a Redis: REDLET_TEST_REDIS_URL when set explicitly, else a
 * private `redis-server` started here on a free port (no persistence) and stopped at
 * the end. A Redis already running on this machine (e.g. on 6379) belongs to its user
 * and is never used implicitly. Tests only ever touch keys under their own random
 * prefix; nothing here flushes a server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers/process.js';

let child: ChildProcess | undefined;
let dir: string | undefined;

function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export async function setup(): Promise<void> {
  if (process.env.REDLET_TEST_REDIS_URL) return;
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'redlet-test-redis-'));
  child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  child.on('error', (err) => {
    throw new Error(`redis-server could not be started (${err.message}): install redis-server, or set REDLET_TEST_REDIS_URL`);
  });
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) {
      process.env.REDLET_TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('a private redis-server was started for the tests but never answered');
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
