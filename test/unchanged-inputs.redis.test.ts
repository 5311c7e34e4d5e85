// Large inputs known unchanged through keyspace notifications (src/store/unchanged-inputs.ts),
// against real servers: the shared test Redis for reads and writes, a private one to
// drop the notification connection.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { inputMarker } from '../src/function-runner.js';
import { RedisStore } from '../src/store/redis-store.js';
import { UnchangedInputs } from '../src/store/unchanged-inputs.js';
import { useRedis } from './helpers/redis-testbed.js';
import { waitFor } from './helpers/wait.js';

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
  const redis = useRedis();

  it('stops reading a large unchanged value and reads it again after any write to it', async () => {
    const key = redis.key('big');
    const s = await redis.store({ maxBackoffMs: 100 });
    const inputs = new UnchangedInputs(s);
    await redis.admin.set(key, BIG);
    let last: string | null = null;
    // Read to start tracking, read again under the acknowledged watch, then never.
    await waitFor(async () => {
      const r = await tick(s, inputs, key, last);
      last = r.marker;
      return !r.read;
    }, 'a tick that need not read');
    for (let i = 0; i < 3; i++) expect(await tick(s, inputs, key, last)).toEqual({ read: false, marker: last });

    // Even the same bytes written again count as a write: read again.
    await redis.admin.set(key, BIG);
    await waitFor(() => !inputs.holds(key, last), 'the notification of the write');
    const again = await tick(s, inputs, key, last);
    expect(again).toEqual({ read: true, marker: last });
    await redis.admin.set(key, BIG.replace('x', 'y'));
    await waitFor(() => !inputs.holds(key, last), 'the notification of the second write');
    expect((await tick(s, inputs, key, last)).marker).not.toBe(last);
  });

  it('reads small values every time and verifies a large one in full after verifyMs', async () => {
    const s = await redis.store({ maxBackoffMs: 100 });
    let now = 0;
    const inputs = new UnchangedInputs(s, () => now, 1000);
    await redis.admin.set(redis.key('small'), '{"a":1}');
    await redis.admin.set(redis.key('big'), BIG);
    const small = inputMarker('{"a":1}');
    const smallReads: boolean[] = [];
    let big: string | null = null;
    await waitFor(async () => {
      smallReads.push((await tick(s, inputs, redis.key('small'), smallReads.length ? small : null)).read);
      big = (await tick(s, inputs, redis.key('big'), big)).marker;
      return inputs.holds(redis.key('big'), big);
    }, 'the large value known unchanged');
    smallReads.push((await tick(s, inputs, redis.key('small'), small)).read);
    expect(smallReads.length).toBeGreaterThan(2);
    expect(smallReads.every(Boolean)).toBe(true);
    // Held for verifyMs after its last full read, then read again.
    now += 999;
    expect(inputs.holds(redis.key('big'), big)).toBe(true);
    now += 1;
    expect(inputs.holds(redis.key('big'), big)).toBe(false);
  });

  it('forgets what it knew when the notification connection drops', async () => {
    const server = await redis.server(['--notify-keyspace-events', 'K$g']);
    const key = redis.key('big');
    const s = await redis.store({ url: server.url, maxBackoffMs: 100 });
    const direct = new Redis(server.url);
    try {
      await direct.set(key, BIG);
      const inputs = new UnchangedInputs(s);
      let last: string | null = null;
      await waitFor(async () => {
        last = (await tick(s, inputs, key, last)).marker;
        return inputs.holds(key, last);
      }, 'the value known unchanged');
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
