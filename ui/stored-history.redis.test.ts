// The charts' history in a store: a capped stream per function, trimmed by length and
// age, read back as the same series on any process sharing the store (two RedisStores
// on one Redis stand in for two replicas), and the same on the embedded store.
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix, redisClient, redisUrl, testPrefix } from '../test/helpers/redis.js';
import { waitFor } from '../test/helpers/wait.js';
import { Keys } from '../src/keys.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
import { StoredHistory } from './stored-history.js';

const prefix = testPrefix();
const keys = new Keys(prefix);
const stores: Store[] = [];

afterAll(async () => {
  for (const s of stores) await s.close();
  const c = redisClient();
  await deletePrefix(c, prefix);
  c.disconnect();
});

async function redisStore(): Promise<Store> {
  const s = new RedisStore({ url: redisUrl() });
  stores.push(s);
  await waitFor(() => s.available, 'connected');
  return s;
}

describe.each([
  ['Redis', async () => [await redisStore(), await redisStore()] as const],
  [
    'the embedded store',
    async () => {
      const m = new MemoryStore();
      return [m, m] as const;
    },
  ],
])('StoredHistory on %s', (_label, makeStores) => {
  it('writes on one replica and reads the same series on another; non-numeric outputs add nothing', async () => {
    const [a, b] = await makeStores();
    const name = `f-${Math.random().toString(36).slice(2, 8)}`;
    const writer = new StoredHistory(a, (n) => keys.history(n));
    const reader = new StoredHistory(b, (n) => keys.history(n));
    const now = Date.now();
    await writer.record(name, '{"cpu":10,"label":"x"}', now);
    await writer.record(name, '"text"', now);
    await writer.record(name, '{"cpu":20,"mem":5}', now + 1);
    // Within one slot of the chart: written when the slot ends (or at a flush).
    expect(await reader.series(name)).toMatchObject({ fields: [{ key: 'cpu' }] });
    await writer.flush();
    const s = await reader.series(name);
    expect(s?.fields.map((f) => f.key)).toEqual(['cpu', 'mem']);
    expect(s?.fields[0]!.values.filter((v) => v !== null).at(-1)).toBe(20);
    expect(await reader.series('nothing-here')).toBeNull();
  });

  it('keeps at most maxPoints entries', async () => {
    const [a] = await makeStores();
    const name = `g-${Math.random().toString(36).slice(2, 8)}`;
    const h = new StoredHistory(a, (n) => keys.history(n), { maxPoints: 10, windowMs: 600_000 });
    // One point per slot (60 s here): each output in a slot of its own.
    const t0 = Date.now() - 30 * 60_000;
    for (let i = 0; i < 30; i++) await h.record(name, JSON.stringify({ i }), t0 + i * 60_000);
    const entries = await a.readSince(keys.history(name), 0, 1000);
    expect(entries.map((e) => JSON.parse(e.value).i)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  });

  it('writes one point per slot however often the function runs: the newest output of each slot', async () => {
    const [a] = await makeStores();
    const name = `s-${Math.random().toString(36).slice(2, 8)}`;
    const h = new StoredHistory(a, (n) => keys.history(n), { maxPoints: 600, windowMs: 600_000 });
    const t0 = Date.now();
    for (let i = 0; i < 500; i++) await h.record(name, JSON.stringify({ i }), t0 + i);
    await h.record(name, '"not a number"', t0 + 600);
    expect((await a.readSince(keys.history(name), 0, 1000)).map((e) => JSON.parse(e.value).i)).toEqual([0]);
    await h.flush();
    expect((await a.readSince(keys.history(name), 0, 1000)).map((e) => JSON.parse(e.value).i)).toEqual([0, 499]);
    // A slot after the last point written starts a new point at once.
    await h.record(name, JSON.stringify({ i: 2000 }), t0 + 2000);
    expect((await a.readSince(keys.history(name), 0, 1000)).map((e) => JSON.parse(e.value).i)).toEqual([0, 499, 2000]);
    h.forget(name);
  });

  it('drops entries older than the window (MINID)', async () => {
    const [a] = await makeStores();
    const name = `h-${Math.random().toString(36).slice(2, 8)}`;
    const h = new StoredHistory(a, (n) => keys.history(n), { windowMs: 60_000 });
    await h.record(name, '{"v":1}', Date.now());
    await new Promise((r) => setTimeout(r, 30));
    // A point whose window starts after the first one trims it.
    await a.appendCapped(keys.history(name), '{"v":2}', { maxLen: 600, minTime: Date.now() - 10 });
    const entries = await a.readSince(keys.history(name), 0, 100);
    expect(entries.map((e) => JSON.parse(e.value))).toEqual([{ v: 2 }]);
  });
});
