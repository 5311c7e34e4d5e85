// Redis refusals are told apart from outages: NOPERM, NOAUTH, READONLY and OOM each get
// their own error code and a message that says what to fix. Uses a private server,
// since each case reconfigures it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/store/redis-store.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { waitFor } from './helpers/wait.js';

let server: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  server = await privateRedis();
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin.disconnect();
  await server.close();
});

async function withStore<T>(url: string, fn: (s: RedisStore) => Promise<T>): Promise<T> {
  const s = new RedisStore({ url });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('Redis error codes', () => {
  it('NOPERM: the ACL user may not touch the key', async () => {
    await admin.call('ACL', 'SETUSER', 'limited', 'on', '>secret', '~allowed:*', '+@all');
    const url = `redis://limited:secret@127.0.0.1:${server.port}`;
    await withStore(url, async (s) => {
      await waitFor(() => s.available, 'connected');
      const err = await s.set('other', '1').catch((e) => e);
      expect(err).toMatchObject({ code: 'REDIS_NOPERM' });
      expect(err.message).toMatch(/ACL/);
      expect(err.message).toContain('other');
    });
  });

  it('NOAUTH: a password is required', async () => {
    await admin.config('SET', 'requirepass', 'pw');
    try {
      await withStore(server.url, async (s) => {
        const err = await waitFor(
          async () =>
            (
              await s.set('k', '1').then(
                () => null,
                (e) => e,
              )
            )?.code !== 'REDIS_UNAVAILABLE' && (await s.set('k', '1').catch((e) => e)),
          'an auth error',
        );
        expect(err).toMatchObject({ code: 'REDIS_NOAUTH' });
        expect(err.message).toMatch(/password/);
      });
    } finally {
      await admin.call('AUTH', 'pw');
      await admin.config('SET', 'requirepass', '');
    }
  });

  it('READONLY: the server is a read-only replica', async () => {
    await admin.call('REPLICAOF', '127.0.0.1', '1');
    try {
      await withStore(server.url, async (s) => {
        await waitFor(() => s.available, 'connected');
        const err = await s.set('k', '1').catch((e) => e);
        expect(err).toMatchObject({ code: 'REDIS_READONLY' });
        expect(err.message).toMatch(/primary|master/);
      });
    } finally {
      await admin.call('REPLICAOF', 'NO', 'ONE');
    }
  });

  it('OOM: the server is at its maxmemory', async () => {
    await admin.config('SET', 'maxmemory', '1');
    try {
      await withStore(server.url, async (s) => {
        await waitFor(() => s.available, 'connected');
        const err = await s.set('k', 'x'.repeat(1000)).catch((e) => e);
        expect(err).toMatchObject({ code: 'REDIS_OOM' });
        expect(err.message).toMatch(/maxmemory/);
      });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
  });

  it('a server that is down is named with its address and the reason', async () => {
    await withStore('redis://127.0.0.1:1', async (s) => {
      const err = await waitFor(async () => {
        const e = await s.get('k').catch((x) => x);
        return e?.message?.includes('ECONNREFUSED') && e;
      }, 'a refused connection');
      expect(err).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
      expect(err.message).toBe('Redis unavailable at 127.0.0.1:1 (ECONNREFUSED)');
      expect(s.lastError).toBe('Redis unavailable at 127.0.0.1:1 (ECONNREFUSED)');
    });
  });
});
