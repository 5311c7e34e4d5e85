// Property-based test of the runner against a real Redis (a private redis-server with
// an append-only file, so a stop/start keeps the data) and real sandbox workers: random
// sequences of input writes, definition updates, dry runs (some timing out), pauses,
// worker kills and Redis stops. At quiescence:
// - never two calls of one function at once;
// - each distinct (input, revision) handled exactly once;
// - context.env never goes backwards;
// - the output holds the result of the last input under the current revision.
// A failure prints fast-check's seed and path; replay with REDLET_PROPERTY_SEED=<seed>.
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/types.js';
import { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import { loadConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { RedisStore } from '../src/store/redis-store.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { Keys } from '../src/keys.js';
import { deletePrefix, ownPrefix, testPrefix } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';

const NAME = 'prop';
// Records every handled (input, revision) in context.env; `hang` never settles (a dry run past its limit).
const code = (rev: number) => `const REV = ${rev};
export async function handler(i, ctx) {
  if (i.hang) await new Promise(() => {});
  ctx.env.seen = [...(ctx.env.seen || []), [i.v, REV]];
  return { v: i.v, rev: REV };
}`;

type Cmd =
  | { kind: 'write' }
  | { kind: 'update' }
  | { kind: 'dry'; hang: boolean }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'killWorker' }
  | { kind: 'redisBounce' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Cmd>({ kind: 'write' }) },
  { weight: 2, arbitrary: fc.constant<Cmd>({ kind: 'update' }) },
  { weight: 2, arbitrary: fc.boolean().map<Cmd>((hang) => ({ kind: 'dry', hang })) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ kind: 'pause' }) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ kind: 'resume' }) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ kind: 'killWorker' }) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ kind: 'redisBounce' }) },
);

/** Wraps a sandbox to catch two calls of one function overlapping. */
function watched(inner: WorkerPoolSandbox): { box: Sandbox; overlaps: () => number } {
  const active = new Map<string, number>();
  let overlaps = 0;
  const box: Sandbox = {
    load: (id, req) => inner.load(id, req),
    dispose: (id) => inner.dispose(id),
    stats: (id) => inner.stats(id),
    close: () => inner.close(),
    async invoke(id, req) {
      const n = (active.get(id) ?? 0) + 1;
      active.set(id, n);
      if (n > 1) overlaps++;
      try {
        return await inner.invoke(id, req);
      } finally {
        active.set(id, (active.get(id) ?? 1) - 1);
      }
    },
  };
  return { box, overlaps: () => overlaps };
}

let server: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  server = await privateRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
  admin = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  admin.on('error', () => {});
});

afterAll(async () => {
  admin.disconnect();
  await server.close();
});

describe('runner properties', () => {
  it('holds its guarantees under random interleavings', { timeout: 600_000 }, async () => {
    const seed = process.env.REDLET_PROPERTY_SEED ? Number(process.env.REDLET_PROPERTY_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 3, maxLength: 7 }), async (cmds) => {
        const prefix = testPrefix();
        const input = `${prefix}in`;
        const output = `${prefix}out`;
        const config = { ...loadConfig({ REDLET_PREFIX: ownPrefix(prefix), REDIS_URL: server.url }), cluster: null };
        const store = new RedisStore({ url: server.url });
        const pool = new WorkerPoolSandbox({ workers: 1, heartbeatTimeoutMs: 120_000, baseBackoffMs: 100, maxBackoffMs: 200 });
        const { box, overlaps } = watched(pool);
        const rt = new Runtime({ config, store, sandbox: box });
        let v = 0;
        let rev = 1;
        let lastEnv: unknown[] = [];
        const seenNow = async (): Promise<unknown[]> => {
          const raw = await admin.get(new Keys(ownPrefix(prefix)).state(NAME));
          return raw ? ((JSON.parse(raw) as { env: { seen?: unknown[] } }).env.seen ?? []) : [];
        };
        const notBackwards = async () => {
          const seen = await seenNow().catch(() => null);
          if (seen === null) return;
          expect(seen.slice(0, lastEnv.length)).toEqual(lastEnv);
          lastEnv = seen;
        };
        try {
          await waitFor(() => store.available, 'redis ready');
          await rt.start();
          await admin.set(input, JSON.stringify({ v: ++v }));
          await rt.register({
            name: NAME,
            origin: 'api',
            source: { kind: 'file', filename: 'p.js', code: code(rev) },
            settings: { inputKey: input, outputKey: output, period: 0.1, timeoutMs: 500, memoryMb: 16 },
          });
          for (const c of cmds) {
            switch (c.kind) {
              case 'write':
                await admin.set(input, JSON.stringify({ v: ++v }));
                break;
              case 'update':
                rev++;
                await rt.update(NAME, { source: { kind: 'file', filename: 'p.js', code: code(rev) } });
                break;
              case 'dry': {
                const r = await rt.invoke(NAME, JSON.stringify(c.hang ? { hang: true } : { v: -1 }), { dryRun: true });
                if (c.hang) expect(r.ok).toBe(false);
                break;
              }
              case 'pause':
                await rt.pause(NAME);
                break;
              case 'resume':
                await rt.resume(NAME);
                break;
              case 'killWorker':
                for (const pid of pool.workerPids()) process.kill(pid, 'SIGKILL');
                break;
              case 'redisBounce':
                await server.stop();
                await sleep(200);
                await server.start();
                await waitFor(() => store.available, 'redis back', 20_000);
                break;
            }
            await notBackwards();
          }
          // Quiescence: resumed, and the last input handled under the current revision.
          if (rt.runner(NAME)!.def.paused) await rt.resume(NAME);
          const want = JSON.stringify({ v, rev });
          await waitFor(async () => (await store.get(output).catch(() => null)) === want, `output ${want}`, 30_000);
          await notBackwards();
          const seen = (await seenNow()) as Array<[number, number]>;
          const keys = seen.map(([a, b]) => `${a}@${b}`);
          expect(new Set(keys).size, `handled twice: ${keys.join(' ')}`).toBe(keys.length);
          expect(seen.at(-1)).toEqual([v, rev]);
          expect(overlaps()).toBe(0);
        } finally {
          await rt.stop(2000).catch(() => {});
          await store.close();
          await deletePrefix(admin, prefix);
        }
      }),
      { numRuns: 3, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) },
    );
  });
});
