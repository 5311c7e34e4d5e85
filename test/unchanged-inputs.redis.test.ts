// Large inputs known unchanged through keyspace notifications (src/store/unchanged-inputs.ts),
// against real servers: the shared test Redis for reads and writes, a private one to
// drop the notification connection.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inputMarker } from '../src/function-runner.js';
import { RedisStore } from '../src/store/redis-store.js';
import { UnchangedInputs } from '../src/store/unchanged-inputs.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { deletePrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';

const BIG = JSON.stringify({ data: 'x'.repeat(300 * 1024) });

/** One poll tick as the runner does it: true when the key had to be read. */
async function tick(
  store: RedisStore,
  inputs: UnchangedInputs,
  key: string,
  last: string | null,
): Promise<{ read: boolean; marker: string | null }> {
  if (inputs.holds(key, last)) return { read: false, marker: last };
  const ticket = inputs.beforeRead(key);
  const raw = await store.get(key);
  const marker = raw === null ? null : inputMarker(raw);
  if (raw !== null) inputs.afterRead(ticket, marker, raw.length);
  return { read: true, marker };
}

describe('UnchangedInputs', () => {
  let admin: Redis;
  let prefix: string;
  const stores: RedisStore[] = [];
  const servers: PrivateRedis[] = [];
  const open = (url = redisUrl()) => {
    const s = new RedisStore({ url, maxBackoffMs: 100 });
    stores.push(s);
    return s;
  };
  beforeAll(() => {
    admin = redisClient();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const s of servers.splice(0)) await s.close();
    await deletePrefix(admin, prefix);
  });
  afterAll(async () => {
    await admin.quit();
  });

  it('stops reading a large unchanged value and reads it again after any write to it', async () => {
    prefix = testPrefix();
    const key = `${prefix}big`;
    const s = open();
    await waitFor(() => s.available, 'ready');
    const inputs = new UnchangedInputs(s);
    await admin.set(key, BIG);
    let last: string | null = null;
    const reads: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await tick(s, inputs, key, last);
      reads.push(r.read);
      last = r.marker;
      await sleep(30); // the subscription's acknowledgement arrives meanwhile
    }
    // Read to start tracking, read once under the acknowledged watch, then never.
    expect(reads.slice(-3)).toEqual([false, false, false]);

    // Even the same bytes written again count as a write: read again.
    await admin.set(key, BIG);
    await waitFor(() => !inputs.holds(key, last), 'the notification of the write');
    const again = await tick(s, inputs, key, last);
    expect(again).toEqual({ read: true, marker: last });
    await admin.set(key, BIG.replace('x', 'y'));
    await waitFor(() => !inputs.holds(key, last), 'the notification of the second write');
    expect((await tick(s, inputs, key, last)).marker).not.toBe(last);
  });

  it('reads small values every time and verifies a large one in full after verifyMs', async () => {
    prefix = testPrefix();
    const s = open();
    await waitFor(() => s.available, 'ready');
    let now = 0;
    const inputs = new UnchangedInputs(s, () => now, 1000);
    await admin.set(`${prefix}small`, '{"a":1}');
    await admin.set(`${prefix}big`, BIG);
    let small: string | null = null;
    let big: string | null = null;
    for (let i = 0; i < 4; i++) {
      expect((await tick(s, inputs, `${prefix}small`, small)).read).toBe(true);
      small = inputMarker('{"a":1}');
      big = (await tick(s, inputs, `${prefix}big`, big)).marker;
      await sleep(30);
    }
    expect(inputs.holds(`${prefix}big`, big)).toBe(true);
    now += 1001;
    expect(inputs.holds(`${prefix}big`, big)).toBe(false);
  });

  it('forgets what it knew when the notification connection drops', async () => {
    const server = await privateRedis(['--notify-keyspace-events', 'K$g']);
    servers.push(server);
    prefix = testPrefix();
    const key = `${prefix}big`;
    const s = open(server.url);
    await waitFor(() => s.available, 'ready');
    const direct = new Redis(server.url);
    try {
      await direct.set(key, BIG);
      const inputs = new UnchangedInputs(s);
      let last: string | null = null;
      for (let i = 0; i < 4; i++) {
        last = (await tick(s, inputs, key, last)).marker;
        await sleep(30);
      }
      expect(inputs.holds(key, last)).toBe(true);
      // Drop the subscriber: announcements in between could be lost.
      await direct.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitFor(() => !inputs.holds(key, last), 'the drop noticed');
      // Once it is back and a read happened under the new subscription, it is known again.
      await waitFor(
        async () => {
          last = (await tick(s, inputs, key, last)).marker;
          return inputs.holds(key, last);
        },
        'known again',
        10_000,
        50,
      );
    } finally {
      direct.disconnect();
    }
  });
});
