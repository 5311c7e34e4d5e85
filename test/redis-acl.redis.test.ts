// redlet under a Redis ACL user with only the permissions docs/security.md lists, on
// a private redis-server: it registers, runs and commits; it cannot touch other
// applications' keys; without CONFIG it reports that keyspace notifications were
// refused and its keyspace function visibly polls instead.
import { Keys } from '../src/keys.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { RedisStore } from '../src/store/redis-store.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { waitFor } from './helpers/wait.js';

/** The ACL rule docs/security.md gives for prefix `redlet:` and function keys `metrics*`, `*-output`. */
export const REDLET_ACL = [
  'on',
  '>redlet-acl-test-password',
  'resetkeys',
  '~redlet:*',
  '~metrics*',
  '~*-output',
  'resetchannels',
  '&redlet:events',
  '&__keyspace@0__:metrics*',
  '-@all',
  '+get',
  '+type',
  '+zrem',
  '+xadd',
  '+xtrim',
  '+xrange',
  '+wait',
  '+set',
  '+mget',
  '+del',
  '+exists',
  '+sadd',
  '+srem',
  '+smembers',
  '+scan',
  '+eval',
  '+evalsha',
  '+multi',
  '+exec',
  '+discard',
  '+zadd',
  '+zremrangebyscore',
  '+zrange',
  '+publish',
  '+subscribe',
  '+unsubscribe',
  '+ping',
  '+info',
  '+select',
  '+client|setname',
  '+pexpire',
];

let server: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  server = await privateRedis();
  admin = new Redis(server.url);
  await admin.acl('SETUSER', 'redlet', ...REDLET_ACL);
});

afterAll(async () => {
  await admin?.quit();
  await server?.close();
});

describe('redlet as a restricted ACL user', () => {
  it('runs functions, cannot reach other keys, and reports keyspace notifications refused', async () => {
    const url = `redis://redlet:redlet-acl-test-password@127.0.0.1:${server.port}`;
    const config = { ...loadConfig({ REDIS_URL: url, REDLET_LEASE_MS: '1000', REDLET_DEMO: '0', REDLET_COLLECT: '0' }) };
    const store = new RedisStore({ url });
    await waitFor(() => store.available, 'redis ready as the ACL user');
    const rt = new Runtime({ config, store, sandbox: new InProcessSandbox() });
    await rt.start();
    try {
      await admin.set('other-app:secret', 'x');
      await admin.set('metrics', '{"v":1}');
      await rt.register({
        name: 'avg',
        origin: 'api',
        source: {
          kind: 'file',
          filename: 'avg.js',
          code: 'export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return { v: i.v, n: ctx.env.n } }',
        },
        settings: { inputKey: 'metrics', outputKey: 'avg-output', trigger: 'keyspace', invokeOn: 'always', period: 0.2 },
      });
      await waitFor(async () => (await admin.get('avg-output')) !== null, 'the first output', 10_000);
      // Leases, registry, state: all written with these permissions.
      expect(await admin.get(new Keys('redlet:').owner('avg'))).toBe(config.cluster!.replicaId);
      expect(JSON.parse((await admin.get(new Keys('redlet:').state('avg')))!).env.n).toBeGreaterThan(0);

      // No CONFIG permission: the refusal is reported and the function polls at its period.
      await waitFor(
        async () => /keyspace notifications unavailable, polling every 0.2 s/.test((await rt.view('avg')).status.detail ?? ''),
        'the fallback reported',
        10_000,
      );
      await admin.set('metrics', '{"v":2}');
      await waitFor(async () => JSON.parse((await admin.get('avg-output')) ?? '{}').v === 2, 'a run by polling', 10_000);

      // The same user cannot read or write another application's keys.
      const user = new Redis(url);
      try {
        await expect(user.get('other-app:secret')).rejects.toThrow(/NOPERM/);
        await expect(user.set('other-app:secret', 'y')).rejects.toThrow(/NOPERM/);
      } finally {
        user.disconnect();
      }
      expect(await admin.get('other-app:secret')).toBe('x');
    } finally {
      await rt.stop(500);
      await store.close();
    }
  }, 40_000);
});
