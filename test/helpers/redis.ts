/**
 * Test access to Redis: the server chosen by test/global-setup.ts, a random private
 * key prefix per test, and cleanup that deletes only keys under that prefix.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export function redisUrl(): string {
  const url = process.env.REDLET_TEST_REDIS_URL;
  if (!url) throw new Error('REDLET_TEST_REDIS_URL is not set: run the tests through vitest (test/global-setup.ts)');
  return url;
}

/** A prefix no other test (or user) shares, e.g. `redlet-test:3f9a1c:`. */
export function testPrefix(): string {
  return `redlet-test:${randomBytes(5).toString('hex')}:`;
}

/**
 * The REDLET_PREFIX a test gives redlet under its private `prefix`: functions may not
 * use keys inside redlet's own namespace, so a test's data keys (`${prefix}in`) sit
 * beside it, and `deletePrefix(prefix)` still removes both.
 */
export function ownPrefix(prefix: string): string {
  return `${prefix}redlet:`;
}

export function redisClient(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix` (SCAN + DEL), never anything else. */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.del(...keys);
  } while (cursor !== '0');
}
