/**
 * The setup most Redis tests share, as hooks of the calling file or describe block: a
 * private key prefix per test, one admin connection per file, and the stores and
 * private servers a test opens closed after it, with every key under its prefix
 * deleted. Register it before the file's own hooks: its afterEach then runs after
 * theirs (vitest runs after-hooks last-registered first), once runtimes are stopped.
 *
 * @example
 * const redis = useRedis();
 * it('reads what it wrote', async () => {
 *   const store = await redis.store();
 *   await store.set(redis.key('in'), '1');
 *   expect(await redis.admin.get(redis.key('in'))).toBe('1');
 * });
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach } from 'vitest';
import type { RedisStoreOptions } from '../../src/store/redis-connection.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { privateRedis, type PrivateRedis } from './private-redis.js';
import { deletePrefix, redisClient, redisUrl, testPrefix } from './redis.js';
import { waitFor } from './wait.js';

export interface RedisTestbed {
  /** The file's connection to the test Redis, for setting up and inspecting keys. */
  readonly admin: Redis;
  /** This test's private prefix, e.g. `redlet-test:3f9a1c:`. */
  readonly prefix: string;
  /** `${prefix}${name}`: a key of this test's own. */
  key(name: string): string;
  /** A RedisStore (on the test Redis unless `opts` names another), once connected; closed after the test. */
  store(opts?: RedisStoreOptions): Promise<RedisStore>;
  /** A redis-server of this test's own (to stop, restart or reconfigure); closed after the test. */
  server(extraArgs?: string[]): Promise<PrivateRedis>;
}

/** A RedisStore on the test Redis unless `opts` name a url, cluster or sentinels, once it is connected. The caller closes it. */
export async function openStore(opts: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore(opts.url || opts.cluster || opts.sentinel ? opts : { ...opts, url: redisUrl() });
  try {
    await waitFor(() => store.available, 'the store to connect', 10_000);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

export function useRedis(): RedisTestbed {
  let admin: Redis | null = null;
  let prefix = '';
  const stores: RedisStore[] = [];
  const servers: PrivateRedis[] = [];
  const bed: RedisTestbed = {
    get admin() {
      return (admin ??= redisClient());
    },
    get prefix() {
      return prefix;
    },
    key: (name) => `${prefix}${name}`,
    async store(opts) {
      const store = await openStore(opts);
      stores.push(store);
      return store;
    },
    async server(extraArgs) {
      const server = await privateRedis(extraArgs);
      servers.push(server);
      return server;
    },
  };
  beforeEach(() => {
    prefix = testPrefix();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const s of servers.splice(0)) await s.close();
    await deletePrefix(bed.admin, prefix);
  });
  afterAll(async () => {
    await admin?.quit();
    admin = null;
  });
  return bed;
}
