// Graceful shutdown of a real redlet process (what Kubernetes does at every rollout):
// on SIGTERM or SIGINT no new tick starts, the invocation in flight finishes and its
// output and context.env are written, Redis is closed, and the process exits 0; an
// invocation stuck past REDLET_DRAIN_MS does not hold the process; a signal while
// redlet is still starting ends it at once. One process per scenario.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Keys } from '../src/keys.js';
import { exitWithin, freePort, get, spawnRedlet, waitForStatus, type Watched } from './helpers/process.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** Busy for `input.busyMs` (no await: the isolate's own clock), then counts calls in context.env. */
const SLOW = `
export function handler(input, context) {
  const startedAt = Date.now();
  while (Date.now() - startedAt < input.busyMs) {}
  context.env.calls = (context.env.calls ?? 0) + 1;
  return { startedAt, finishedAt: Date.now(), calls: context.env.calls };
}
`;
/** Never returns; only the isolate's disposal ends it. */
const STUCK = `export function handler() { for (;;) {} }`;

let dir: string;
let admin: Redis;
let prefix: string;
let running: Watched[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redlet-shutdown-'));
  writeFileSync(join(dir, 'slow.js'), SLOW);
  writeFileSync(join(dir, 'stuck.js'), STUCK);
  admin = redisClient();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await admin.quit();
});
beforeEach(() => {
  prefix = testPrefix();
});
afterEach(async () => {
  for (const w of running) w.kill();
  running = [];
  await deletePrefix(admin, prefix);
});

/** `redlet start` from the sources, with only the given environment. */
async function start(env: Record<string, string>, opts: { detached?: boolean } = {}): Promise<{ w: Watched; base: string }> {
  const { w, base } = await spawnRedlet({ REDLET_PREFIX: ownPrefix(prefix), LOG_LEVEL: 'info', ...env }, opts);
  running.push(w);
  return { w, base };
}

/** Ready, with the configured function registered (readiness alone does not wait for it yet). */
async function ready(w: Watched, base: string): Promise<void> {
  await waitForStatus(w, `${base}/readyz`, 200);
  await waitFor(
    async () => ((JSON.parse((await get(`${base}/readyz`))?.body ?? '{}') as { functions?: number }).functions ?? 0) >= 1,
    `the function registered; output:\n${w.output()}`,
    20_000,
    50,
  );
}

/** Waits until the configured function is in an invocation, as the API reports it. */
async function inFlight(w: Watched, base: string): Promise<void> {
  await waitFor(
    async () => {
      const body = JSON.parse((await get(`${base}/api/functions`))?.body ?? '{}') as {
        functions?: Array<{ status: { running: boolean } }>;
      };
      return body.functions?.some((f) => f.status.running);
    },
    `an invocation in flight; output:\n${w.output()}`,
    10_000,
    20,
  );
}

function functionEnv(file: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl(),
    FUNCTION_FILE: join(dir, file),
    REDIS_INPUT_KEY: `${prefix}in`,
    REDIS_OUTPUT_KEY: `${prefix}out`,
    MONITORING_PERIOD: '0.1',
    ...extra,
  };
}

/** Starts the slow function, lets an invocation begin, signals, and checks it was drained. */
async function drainsOn(signal: 'SIGTERM' | 'SIGINT', toGroup: boolean): Promise<void> {
  const { w, base } = await start(functionEnv('slow.js', { REDLET_DRAIN_MS: '10000' }), { detached: toGroup });
  await ready(w, base);
  await admin.set(`${prefix}in`, JSON.stringify({ busyMs: 1500 }));
  await inFlight(w, base); // it runs for 1.5 s (possibly still on its way to the sandbox worker)
  const signalledAt = Date.now();
  // Ctrl-C in a terminal signals the whole process group, children included.
  process.kill(toGroup ? -w.child.pid! : w.child.pid!, signal);
  const exit = await exitWithin(w, 20_000);
  expect(exit.code, w.output()).toBe(0);
  // Sandbox worker processes share the group: they must leave stopping to redlet.
  expect(w.output(), 'a sandbox worker died of the signal itself, taking the invocation in flight with it').not.toMatch(
    /worker killed by SIG/,
  );

  const raw = await admin.get(`${prefix}out`);
  expect(raw, `no output was written; process output:\n${w.output()}`).not.toBeNull();
  const out = JSON.parse(raw!) as { startedAt: number; finishedAt: number; calls: number };
  // In flight when the signal came: the API reported it running before, and it ended after.
  expect(out.finishedAt, 'the invocation was over before the signal (the test was too slow)').toBeGreaterThan(signalledAt);
  expect(exit.at).toBeGreaterThanOrEqual(out.finishedAt);
  // context.env was saved with the output.
  const state = JSON.parse((await admin.get(new Keys(ownPrefix(prefix)).state('slow')))!) as { env: { calls: number } };
  expect(state.env.calls).toBe(1);
  expect(w.output()).toMatch(new RegExp(`"signal":"${signal}"`));
}

describe('graceful shutdown of `redlet start`', { timeout: 60_000 }, () => {
  it('SIGTERM waits for the invocation in flight, writes its output and context.env, then exits 0', async () => {
    await drainsOn('SIGTERM', false);
  });

  it('SIGINT to the whole process group (Ctrl-C) does the same', async () => {
    await drainsOn('SIGINT', true);
  });

  it('stops taking ticks at once: /readyz turns 503 while the drain runs', async () => {
    const { w, base } = await start(functionEnv('slow.js', { REDLET_DRAIN_MS: '10000' }));
    await ready(w, base);
    await admin.set(`${prefix}in`, JSON.stringify({ busyMs: 1500 }));
    await inFlight(w, base);
    w.child.kill('SIGTERM');
    // Still answering while the 1.5 s invocation drains (so probes see it), no longer ready.
    const during = await waitFor(
      async () => (await get(`${base}/readyz`))?.status === 503,
      `/readyz 503 during the drain; output:\n${w.output()}`,
      5000,
      20,
    );
    expect(during).toBe(true);
    expect(w.child.exitCode).toBeNull();
    expect((await exitWithin(w, 20_000)).code).toBe(0);
  });

  it('an invocation stuck past REDLET_DRAIN_MS does not keep the process: it exits 0 after the bound, long before the function would end', async () => {
    const { w, base } = await start(functionEnv('stuck.js', { REDLET_DRAIN_MS: '500', FUNCTION_TIMEOUT_MS: '60000' }));
    await ready(w, base);
    await admin.set(`${prefix}in`, '{}');
    await inFlight(w, base);
    const signalledAt = Date.now();
    w.child.kill('SIGTERM');
    // The function's own limit is a minute: an exit at all is the drain bound at work.
    const exit = await exitWithin(w, 30_000);
    expect(exit.code, w.output()).toBe(0);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(450);
  });

  it('a signal while redlet is still starting (Redis unreachable) ends it with 0, without waiting for Redis', async () => {
    const closed = await freePort();
    const { w, base } = await start(functionEnv('slow.js', { REDIS_URL: `redis://127.0.0.1:${closed}` }));
    await waitForStatus(w, `${base}/healthz`, 200);
    expect((await get(`${base}/readyz`))?.status).toBe(503);
    w.child.kill('SIGTERM');
    // Redis never comes: an exit at all is the signal at work.
    const exit = await exitWithin(w, 20_000);
    expect(exit.code, w.output()).toBe(0);
  });
});
