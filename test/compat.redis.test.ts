// The course Deployment's contract, end to end: a real redlet process started with the
// course's env variables against a real Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { zipFolder } from '../scripts/zip-folder.mjs';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { Keys } from '../src/keys.js';

const root = resolve(import.meta.dirname, '..');
const snapshot = readFileSync(join(root, 'test/fixtures/metrics-example.json'), 'utf8');

interface Proc {
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<number | null>;
}

function redlet(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'ui/entry.ts', 'start'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout!.on('data', (d) => out.push(String(d)));
  child.stderr!.on('data', (d) => err.push(String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out, err, exited };
}

describe('compatibility mode (course env variables)', () => {
  let redis: Redis;
  let prefix: string;
  let dir: string;
  const prefixes: string[] = [];
  const procs: Proc[] = [];

  beforeAll(() => {
    redis = redisClient();
    dir = mkdtempSync(join(tmpdir(), 'redlet-compat-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
  });
  afterAll(async () => {
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => {
    prefix = testPrefix();
    prefixes.push(prefix);
    return {
      REDIS_URL: redisUrl(),
      REDLET_PREFIX: ownPrefix(prefix),
      REDIS_INPUT_KEY: `${prefix}metrics`,
      REDIS_OUTPUT_KEY: `${prefix}output`,
      MONITORING_PERIOD: '0.2',
    };
  };

  it('runs the course reference function in Python, named the course way (HANDLER_FUNCTION=handler_module.handler)', async () => {
    const env = { ...base(), FUNCTION_FILE: join(root, 'examples/course-reference.py'), HANDLER_FUNCTION: 'handler_module.handler' };
    await redis.set(env.REDIS_INPUT_KEY, snapshot);
    const p = redlet(env);
    procs.push(p);
    const out = JSON.parse(await waitFor(() => redis.get(env.REDIS_OUTPUT_KEY), 'output key', 60_000));
    expect(out['avg-util-cpu3-60sec']).toBe(57.1);
    const state = JSON.parse((await waitFor(() => redis.get(new Keys(ownPrefix(prefix)).state('course-reference')), 'saved state', 5000))!);
    expect(state.env.cpuHistory).toHaveLength(1);
  }, 90_000);

  it('runs the course reference function from FUNCTION_FILE and writes its output key', async () => {
    const env = { ...base(), FUNCTION_FILE: join(root, 'examples/course-reference.js'), HANDLER_FUNCTION: 'course-reference.handler' };
    await redis.set(env.REDIS_INPUT_KEY, snapshot);
    const p = redlet(env);
    procs.push(p);
    const out = JSON.parse(await waitFor(() => redis.get(env.REDIS_OUTPUT_KEY), 'output key', 20_000));
    const s = JSON.parse(snapshot);
    expect(out['percent-network-egress']).toBeCloseTo(
      (s['net_io_counters_eth0-bytes_sent'] / (s['net_io_counters_eth0-bytes_sent'] + s['net_io_counters_eth0-bytes_recv'])) * 100,
      9,
    );
    expect(out['avg-util-cpu3-60sec']).toBe(57.1);
    // The function is listed as coming from configuration, and its env was saved.
    const state = JSON.parse((await waitFor(() => redis.get(new Keys(ownPrefix(prefix)).state('course-reference')), 'saved state', 5000))!);
    expect(Object.keys(state.env).length).toBeGreaterThan(0);
    expect(p.out.join('')).toContain('"origin":"config"');
  });

  it('runs a multi-module ZIP from FUNCTION_ZIP and from ZIP_URL', async () => {
    const zip = await zipFolder(join(root, 'examples/zip-stats'));
    const zipPath = join(dir, 'zip-stats.zip');
    writeFileSync(zipPath, zip);
    const env = { ...base(), FUNCTION_ZIP: zipPath, HANDLER_FUNCTION: 'index.handler' };
    await redis.set(env.REDIS_INPUT_KEY, snapshot);
    const p = redlet(env);
    procs.push(p);
    const fromPath = await waitFor(() => redis.get(env.REDIS_OUTPUT_KEY), 'output from FUNCTION_ZIP', 20_000);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);

    const server: Server = createServer((req, res) => {
      if (req.url === '/fn.zip') res.end(zip);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const env2 = { ...base(), ZIP_URL: `http://127.0.0.1:${port}/fn.zip`, HANDLER_FUNCTION: 'index.handler' };
      await redis.set(env2.REDIS_INPUT_KEY, snapshot);
      const p2 = redlet(env2);
      procs.push(p2);
      const fromUrl = JSON.parse(await waitFor(() => redis.get(env2.REDIS_OUTPUT_KEY), 'output from ZIP_URL', 20_000));
      // Same code, same input: same result; only the function's name (from the file name) differs.
      expect({ ...fromUrl, function: 'x' }).toEqual({ ...JSON.parse(fromPath), function: 'x' });
      expect(fromUrl.function).toBe('fn');

      const small = redlet({ ...base(), ZIP_URL: `http://127.0.0.1:${port}/fn.zip`, ZIP_URL_MAX_BYTES: '100' });
      procs.push(small);
      expect(await small.exited).toBe(1);
      expect(small.err.join('').trim()).toMatch(/^redlet: ZIP_URL=.*larger than the 100-byte limit/);
    } finally {
      server.close();
    }
  });

  it.each([
    [{ MONITORING_PERIOD: 'soon', FUNCTION_FILE: 'x.js' }, /^redlet: MONITORING_PERIOD must be a number of seconds/],
    [{ INTERVAL: '0', FUNCTION_FILE: 'x.js' }, /^redlet: INTERVAL must be at least 0.1 seconds/],
    [
      { FUNCTION_FILE: '/nonexistent/usermodule.js' },
      /^redlet: FUNCTION_FILE=\/nonexistent\/usermodule\.js: cannot read it \(no such file\)$/,
    ],
    [{ REDIS_INPUT_KEY: 'metrics' }, /^redlet: no function code: set FUNCTION_FILE/],
    [{ REDIS_PORT: 'http', REDIS_HOST: 'localhost', FUNCTION_FILE: 'x.js' }, /^redlet: REDIS_PORT must be a number/],
  ])('a bad setting %o prints one clear line and exits 1', async (env, message) => {
    prefix = testPrefix();
    prefixes.push(prefix);
    const p = redlet({ REDLET_PREFIX: ownPrefix(prefix), ...env });
    procs.push(p);
    expect(await p.exited).toBe(1);
    const stderr = p.err.join('').trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('rejects a function that does not load with one clear line naming the file', async () => {
    const file = join(dir, 'broken.js');
    writeFileSync(file, 'export function handler(input) {\n  return input.\n}\n');
    const p = redlet({ ...base(), FUNCTION_FILE: file });
    procs.push(p);
    expect(await p.exited).toBe(1);
    expect(p.err.join('')).toMatch(/^redlet: .*broken\.js:3:\d+/);
  });
});
