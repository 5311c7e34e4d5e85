// The coordinator's rounds at scale: what other replicas read of the functions run here
// is written when it changes and refreshed now and then, not rewritten every round, and
// the whole registry is read every two lease periods (with thousands of functions a
// round must stay cheap).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterCoordinator, type ClusterMember } from './cluster.js';
import { Keys } from './keys.js';
import { silentLogger } from './logger.js';
import { MemoryStore } from './store/memory-store.js';

const LEASE_MS = 1000;

function member(names: string[]) {
  const marks = new Map(names.map((n) => [n, 'idle|0']));
  const published: string[][] = [];
  const m: ClusterMember = {
    names: () => [...names],
    staleNames: () => [],
    takeOver: async () => true,
    handOver: async () => {},
    refresh: async () => {},
    statusMark: (name) => marks.get(name) ?? null,
    statusSnapshots: async (asked) => {
      published.push([...asked].sort());
      return new Map(asked.map((n) => [n, JSON.stringify({ name: n, mark: marks.get(n) })]));
    },
  };
  return { m, marks, published };
}

/** Fake timers for the tests of the calling describe block (time is their subject). */
function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

describe('ClusterCoordinator status publishing', () => {
  useFakeClock();

  it('publishes every function once, then only the ones whose status changed, and refreshes the rest now and then', async () => {
    const store = new MemoryStore({ now: () => Date.now() });
    const keys = new Keys('redlet:');
    const { m, marks, published } = member(['a', 'b', 'c']);
    const c = new ClusterCoordinator(m, store, keys, { replicaId: 'r1', leaseMs: LEASE_MS }, silentLogger());
    c.start();
    await vi.advanceTimersByTimeAsync(50);
    // First round: takes all three (one replica) and publishes each.
    expect(published.flat().sort()).toEqual(['a', 'b', 'c']);
    expect(JSON.parse((await store.get(keys.status('b')))!)).toEqual({ name: 'b', mark: 'idle|0' });

    published.length = 0;
    marks.set('b', 'idle|1');
    await vi.advanceTimersByTimeAsync(LEASE_MS / 5);
    expect(published).toEqual([['b']]);
    expect(JSON.parse((await store.get(keys.status('b')))!).mark).toBe('idle|1');

    // Unchanged: left alone for a while, then refreshed (every four lease periods), so
    // their keys never lapse.
    published.length = 0;
    await vi.advanceTimersByTimeAsync(LEASE_MS * 2);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(LEASE_MS * 2);
    expect(published.flat().sort()).toEqual(['a', 'b', 'c']);
    await vi.advanceTimersByTimeAsync(LEASE_MS * 30);
    for (const n of ['a', 'b', 'c']) expect(await store.get(keys.status(n))).not.toBeNull();

    await c.stop();
    await c.releaseAll();
  });
});

describe('ClusterCoordinator registry resync', () => {
  useFakeClock();

  it('reads the whole registry at start and then every two lease periods, not every round', async () => {
    const store = new MemoryStore({ now: () => Date.now() });
    const keys = new Keys('redlet:');
    const { m } = member(['a']);
    const seen: string[][] = [];
    m.staleNames = (registryNames) => {
      seen.push([...registryNames]);
      return [];
    };
    const c = new ClusterCoordinator(m, store, keys, { replicaId: 'r1', leaseMs: LEASE_MS }, silentLogger());
    c.start();
    await vi.advanceTimersByTimeAsync(50);
    expect(seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(LEASE_MS * 1.2);
    expect(seen).toHaveLength(2);
    await c.stop();
    await c.releaseAll();
  });
});

describe('ClusterCoordinator and a registration in flight', () => {
  useFakeClock();

  it('keeps a function claimed by a registration that has not installed it yet: a round does not hand it over', async () => {
    const store = new MemoryStore({ now: () => Date.now() });
    const keys = new Keys('redlet:');
    const names = ['a'];
    const { m } = member(names);
    const handedOver: string[] = [];
    m.handOver = async (name) => void handedOver.push(name);
    const c = new ClusterCoordinator(m, store, keys, { replicaId: 'r1', leaseMs: LEASE_MS }, silentLogger());
    c.start();
    await vi.advanceTimersByTimeAsync(50);
    // 'b' is being registered: claimed, not yet among the names this replica knows.
    expect(await c.claim('b')).toBe(true);
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(handedOver).toEqual([]);
    expect(c.owns('b')).toBe(true);
    expect(await store.get(keys.owner('b'))).toBe('r1');
    // Installed: it stays, and is renewed like any other.
    names.push('b');
    await vi.advanceTimersByTimeAsync(LEASE_MS * 3);
    expect(handedOver).toEqual([]);
    expect(c.owns('b')).toBe(true);
    await c.stop();
    await c.releaseAll();
  });
});

describe('ClusterCoordinator rounds over many functions', () => {
  it('give the event loop back while they run, so timers due meanwhile are not held up behind them', async () => {
    const store = new MemoryStore();
    const keys = new Keys('redlet:');
    const names = Array.from({ length: 20_000 }, (_, i) => `f-${i}`);
    const { m } = member(names);
    // Each status mark costs a couple of microseconds, as a real one does at scale: a
    // round over 20,000 functions then runs for tens of milliseconds.
    let watching = false;
    let marked = 0;
    let timer: Promise<number> | null = null;
    m.statusMark = () => {
      // The round being watched: a timer set at its first mark must run before its last.
      if (watching) {
        marked += 1;
        timer ??= new Promise((resolve) => setTimeout(() => resolve(marked), 0));
      }
      const until = performance.now() + 0.002;
      while (performance.now() < until);
      return 'idle|0';
    };
    // A long lease: rounds run only when kicked, not on their own clock during the test.
    const c = new ClusterCoordinator(m, store, keys, { replicaId: 'r1', leaseMs: 60_000 }, silentLogger());
    c.start();
    await vi.waitFor(() => expect(names.every((n) => c.owns(n))).toBe(true), { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first round has ended

    watching = true;
    c.kick(0);
    await vi.waitFor(() => expect(timer).not.toBeNull(), { timeout: 30_000 });
    // The timer ran while the round was still marking, not after all 20,000 marks.
    const markedWhenTimerRan = await timer!;
    expect(markedWhenTimerRan).toBeLessThan(names.length);
    await c.stop();
    await c.releaseAll();
  }, 60_000);
});
