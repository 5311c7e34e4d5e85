// ClusterCoordinator on the embedded store with fake timers: the lease timing is the
// subject, so the test moves the clock instead of waiting leases out. Replicas share
// one MemoryStore; each sees it through a link the test can cut (a replica cut off
// from Redis). The multi-process counterpart against a real Redis is
// test/cluster.redis.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assignOwner } from './assignment.js';
import { ClusterCoordinator, type ClusterMember } from './cluster.js';
import { Keys } from './keys.js';
import { silentLogger } from './logger.js';
import { MemoryStore } from './store/memory-store.js';
import type { Store } from './store/store.js';

const LEASE_MS = 1000;
const NAMES = Array.from({ length: 12 }, (_, i) => `fn-${i}`);
const keys = new Keys('redlet:');

interface Replica {
  id: string;
  coordinator: ClusterCoordinator;
  /** Functions running on this replica now. */
  running: Set<string>;
  /** While true every store call of this replica fails, as when Redis is out of reach. */
  cut: boolean;
}

let store: MemoryStore;
let replicas: Replica[];
/** Every moment a function was started on one replica while it still ran on another. */
let doubleRuns: string[];

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
  store = new MemoryStore({ now: () => Date.now() });
  replicas = [];
  doubleRuns = [];
});

afterEach(async () => {
  for (const r of replicas) await r.coordinator.stop();
  vi.useRealTimers();
});

/** The store as one replica reaches it: every call fails while `r.cut` holds. */
function linkOf(r: Replica): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'subscribe') return value;
      return (...args: unknown[]) =>
        r.cut
          ? Promise.reject(new Error('Redis unavailable: connection lost'))
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}

function startReplica(id: string): Replica {
  const r: Replica = { id, running: new Set(), cut: false, coordinator: null as unknown as ClusterCoordinator };
  const member: ClusterMember = {
    names: () => NAMES,
    staleNames: () => [],
    takeOver: async (name) => {
      const elsewhere = replicas.filter((o) => o !== r && o.running.has(name)).map((o) => o.id);
      if (elsewhere.length) doubleRuns.push(`${name} on ${id} while on ${elsewhere.join(',')} at ${Date.now()}`);
      r.running.add(name);
      return true;
    },
    handOver: async (name) => void r.running.delete(name),
    refresh: async () => {},
    statusMark: (name) => (r.running.has(name) ? 'idle' : null),
    statusSnapshots: async () => new Map(),
  };
  r.coordinator = new ClusterCoordinator(member, linkOf(r), keys, { replicaId: id, leaseMs: LEASE_MS }, silentLogger());
  replicas.push(r);
  r.coordinator.start();
  return r;
}

/** Where each function runs: the replica ids running it. */
function placement(): Map<string, string[]> {
  return new Map(NAMES.map((n) => [n, replicas.filter((r) => r.running.has(n)).map((r) => r.id)]));
}

/** Every function on exactly the replica rendezvous hashing assigns among `ids`. */
function expectAssigned(ids: string[]): void {
  expect(placement()).toEqual(new Map(NAMES.map((n) => [n, [assignOwner(n, ids)]])));
}

describe('ClusterCoordinator', () => {
  it('runs each function on exactly one replica, the one rendezvous hashing assigns', async () => {
    startReplica('a');
    startReplica('b');
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expectAssigned(['a', 'b']);
    // A third joins: it takes its share, the others hand it over first.
    startReplica('c');
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expectAssigned(['a', 'b', 'c']);
    expect(doubleRuns).toEqual([]);
  });

  it('takes over the functions of a replica that died only once their leases lapsed', async () => {
    const [, b] = [startReplica('a'), startReplica('b')];
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    const ofB = [...b.running];
    expect(ofB.length).toBeGreaterThan(0);
    // kill -9: no more renewals, nothing released, nothing runs there any more.
    await b.coordinator.stop();
    replicas = replicas.filter((r) => r !== b);
    // Its last renewal was at most one renewal period (lease / 5) ago: its leases hold for 0.8 lease at least.
    await vi.advanceTimersByTimeAsync(0.8 * LEASE_MS - 1);
    expect(ofB.filter((n) => placement().get(n)!.length > 0)).toEqual([]);
    // They lapse within one lease; the next round (lease / 5 later) takes them.
    await vi.advanceTimersByTimeAsync(0.2 * LEASE_MS + 0.2 * LEASE_MS + 1);
    expectAssigned(['a']);
    expect(doubleRuns).toEqual([]);
  });

  it('a replica cut off from the store stops its functions before their leases lapse; another takes them after', async () => {
    const [, b] = [startReplica('a'), startReplica('b')];
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    const ofB = [...b.running];
    expect(ofB.length).toBeGreaterThan(0);
    b.cut = true;
    // Still running: its leases may still be valid (renewed at most lease / 5 ago).
    await vi.advanceTimersByTimeAsync(0.7 * LEASE_MS - 1);
    expect([...b.running].sort()).toEqual([...ofB].sort());
    // Stopped by the time the leases lapse, and taken over by a after.
    await vi.advanceTimersByTimeAsync(0.3 * LEASE_MS + 1);
    expect(b.running.size).toBe(0);
    await vi.advanceTimersByTimeAsync(0.4 * LEASE_MS);
    for (const n of ofB) expect(placement().get(n)).toEqual(['a']);
    expect(doubleRuns).toEqual([]);

    // Back: it rejoins and takes its share again, without a double run.
    b.cut = false;
    await vi.advanceTimersByTimeAsync(2 * LEASE_MS);
    expectAssigned(['a', 'b']);
    expect(doubleRuns).toEqual([]);
  });

  it('releases everything on a clean stop, so the others take over at once', async () => {
    const [a, b] = [startReplica('a'), startReplica('b')];
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    await b.coordinator.stop();
    for (const n of [...b.running]) b.running.delete(n);
    await b.coordinator.releaseAll();
    replicas = replicas.filter((r) => r !== b);
    // One round of a (lease / 5), far within a lease.
    await vi.advanceTimersByTimeAsync(0.2 * LEASE_MS);
    expect(a.running.size).toBe(NAMES.length);
    expect(doubleRuns).toEqual([]);
  });
});
