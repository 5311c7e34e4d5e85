/**
 * One suite every Store must pass: the embedded MemoryStore and RedisStore (against a
 * private redis-server this file starts, so keyspace notifications can be switched on)
 * answer the same calls the same way. Data operations, then the coordination ones
 * (leases, fenced writes, membership, pub/sub). Where time is the subject, the memory
 * store runs on a clock the test moves; Redis keeps its own time, so its TTLs are short
 * and the test waits them out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory-store.js';
import type { Store } from '../src/store/store.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { openStore } from './helpers/redis-testbed.js';
import { sleep, waitFor } from './helpers/wait.js';

interface Subject {
  store: Store;
  /** Lets `ms` of the store's time pass. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

let server: PrivateRedis;
beforeAll(async () => {
  server = await privateRedis();
});
afterAll(async () => {
  await server.close();
});

const subjects: Record<string, () => Promise<Subject>> = {
  memory: async () => {
    let now = 1_700_000_000_000;
    const store = new MemoryStore({ now: () => now });
    return {
      store,
      advance: async (ms) => {
        now += ms;
      },
      close: () => store.close(),
    };
  },
  redis: async () => {
    const store = await openStore({ url: server.url, maxBackoffMs: 200 });
    return { store, advance: async (ms) => void (await sleep(ms + 20)), close: () => store.close() };
  },
};

let n = 0;
/** Keys no other test shares. */
const fresh = (): string => `conf:${++n}:`;

describe.each(Object.keys(subjects))('Store conformance: %s', (kind) => {
  let s: Subject;
  let store: Store;
  beforeAll(async () => {
    s = await subjects[kind]!();
    store = s.store;
  });
  afterAll(async () => {
    await s.close();
  });

  it('get, getBuffer, set and mget; missing keys are null', async () => {
    const p = fresh();
    expect(await store.get(`${p}a`)).toBeNull();
    await store.set(`${p}a`, 'héllo');
    await store.set(`${p}b`, Buffer.from([0, 255, 1]));
    expect(await store.get(`${p}a`)).toBe('héllo');
    expect([...(await store.getBuffer(`${p}b`))!]).toEqual([0, 255, 1]);
    expect(await store.mget([`${p}a`, `${p}missing`])).toEqual(['héllo', null]);
  });

  it('exec applies a batch whole; a wrong type is INPUT_WRONG_TYPE', async () => {
    const p = fresh();
    await store.exec([
      { op: 'set', key: `${p}x`, value: '1' },
      { op: 'sadd', key: `${p}set`, member: 'm1' },
      { op: 'sadd', key: `${p}set`, member: 'm2' },
      { op: 'srem', key: `${p}set`, member: 'm1' },
    ]);
    expect(await store.get(`${p}x`)).toBe('1');
    expect(await store.smembers(`${p}set`)).toEqual(['m2']);
    await expect(store.get(`${p}set`)).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    await expect(store.exec([{ op: 'sadd', key: `${p}x`, member: 'y' }])).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    await store.exec([{ op: 'del', key: `${p}x` }]);
    expect(await store.get(`${p}x`)).toBeNull();
  });

  it('scan lists matching keys, never expired ones', async () => {
    const p = fresh();
    await store.set(`${p}one`, '1');
    await store.set(`${p}two`, '2');
    await store.setWithTtl(`${p}brief`, 'x', 100);
    expect((await store.scan(`${p}*`)).sort()).toEqual([`${p}brief`, `${p}one`, `${p}two`]);
    await s.advance(150);
    expect((await store.scan(`${p}*`)).sort()).toEqual([`${p}one`, `${p}two`]);
    expect(await store.get(`${p}brief`)).toBeNull();
    expect(await store.scan(`${p}t?o`)).toEqual([`${p}two`]);
  });

  it('appendCapped keeps the newest maxLen entries, none older than minTime, stamped with the store time', async () => {
    const p = fresh();
    const key = `${p}stream`;
    for (let i = 0; i < 5; i++) await store.appendCapped(key, `v${i}`, { maxLen: 3, minTime: 0 });
    const kept = await store.readSince(key, 0, 100);
    expect(kept.map((e) => e.value)).toEqual(['v2', 'v3', 'v4']);
    const newest = kept.at(-1)!.at;
    await s.advance(50);
    await store.appendCapped(key, 'later', { maxLen: 3, minTime: newest + 1 });
    const after = await store.readSince(key, 0, 100);
    expect(after.map((e) => e.value)).toEqual(['later']);
    expect(after[0]!.at).toBeGreaterThanOrEqual(newest + 50);
    expect(await store.readSince(key, after[0]!.at + 1, 100)).toEqual([]);
  });

  it('watch announces writes and deletes of one key until unsubscribed', async () => {
    const p = fresh();
    const seen: string[] = [];
    const stop = store.watch(`${p}k`, (key) => seen.push(key));
    // On Redis, the first watch switches notifications on and subscribes, asynchronously.
    await waitFor(() => store.keyspaceStatus().enabled, 'keyspace notifications on');
    await sleep(50);
    await store.set(`${p}k`, '1');
    await store.set(`${p}other`, '1');
    await waitFor(() => seen.length >= 1, 'the write is announced');
    await store.exec([{ op: 'del', key: `${p}k` }]);
    await waitFor(() => seen.length >= 2, 'the delete is announced');
    stop();
    await store.set(`${p}k`, '2');
    await sleep(100);
    expect(seen).toEqual([`${p}k`, `${p}k`]);
  });

  it('a lease: one holder at a time, renewed and released only by its holder, gone when it expires', async () => {
    const p = fresh();
    const lease = `${p}lease`;
    expect(await store.acquire(lease, 'a', 200)).toBe(true);
    expect(await store.acquire(lease, 'b', 200)).toBe(false);
    expect(await store.renew(lease, 'b', 200)).toBe(false);
    expect(await store.release(lease, 'b')).toBe(false);
    expect(await store.renew(lease, 'a', 400)).toBe(true);
    await s.advance(250);
    // Renewed to 400 ms: still a's.
    expect(await store.acquire(lease, 'b', 200)).toBe(false);
    expect(await store.release(lease, 'a')).toBe(true);
    expect(await store.acquire(lease, 'b', 100)).toBe(true);
    await s.advance(150);
    expect(await store.renew(lease, 'b', 100)).toBe(false);
    expect(await store.acquire(lease, 'c', 100)).toBe(true);
  });

  it('renewMany renews, in one call, exactly the leases the owner still holds, answering per lease in order', async () => {
    const p = fresh();
    const keys = [`${p}l1`, `${p}l2`, `${p}l3`, `${p}l4`];
    expect(await store.acquire(keys[0]!, 'a', 200)).toBe(true);
    expect(await store.acquire(keys[1]!, 'b', 200)).toBe(true);
    expect(await store.acquire(keys[3]!, 'a', 200)).toBe(true);
    // l3 is held by nobody.
    expect(await store.renewMany(keys, 'a', 400)).toEqual([true, false, false, true]);
    expect(await store.renewMany([], 'a', 400)).toEqual([]);
    await s.advance(250);
    // Renewed to 400 ms: still a's; b's lapsed.
    expect(await store.acquire(keys[0]!, 'c', 200)).toBe(false);
    expect(await store.acquire(keys[3]!, 'c', 200)).toBe(false);
    expect(await store.acquire(keys[1]!, 'c', 200)).toBe(true);
  });

  it('execIf writes only while the guard holds its value', async () => {
    const p = fresh();
    await store.acquire(`${p}fence`, 'me', 1000);
    expect(await store.execIf({ key: `${p}fence`, value: 'me' }, [{ op: 'set', key: `${p}out`, value: 'mine' }])).toBe(true);
    expect(await store.execIf({ key: `${p}fence`, value: 'other' }, [{ op: 'set', key: `${p}out`, value: 'theirs' }])).toBe(false);
    expect(await store.get(`${p}out`)).toBe('mine');
  });

  it('heartbeat keeps members scored at or above the floor, oldest expiry first; forget removes one', async () => {
    const p = fresh();
    const key = `${p}members`;
    expect(await store.heartbeat(key, 'r1', 100, 0)).toEqual(['r1']);
    expect(await store.heartbeat(key, 'r2', 50, 0)).toEqual(['r2', 'r1']);
    // r2's score (50) is under the floor: dropped.
    expect(await store.heartbeat(key, 'r3', 200, 60)).toEqual(['r1', 'r3']);
    await store.forget(key, 'r1');
    expect(await store.heartbeat(key, 'r3', 210, 60)).toEqual(['r3']);
  });

  it('publish reaches every subscriber of the channel, and no one after unsubscribing', async () => {
    const p = fresh();
    const got: string[] = [];
    const stop = store.subscribe(`${p}chan`, (m) => got.push(m));
    await sleep(50);
    await store.publish(`${p}chan`, 'one');
    await store.publish(`${p}elsewhere`, 'no');
    await waitFor(() => got.length === 1, 'the message arrives');
    stop();
    await sleep(50);
    await store.publish(`${p}chan`, 'two');
    await sleep(100);
    expect(got).toEqual(['one']);
  });
});
