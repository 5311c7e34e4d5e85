/**
 * Knows, without reading it, that a large input key still holds the value last read:
 * a poll function with a 50 MB input that never changes must not move and re-hash
 * 50 MB at every tick. Redis has no cheap, always-available digest of a value
 * (`DEBUG DIGEST-VALUE` hashes the whole value and DEBUG is off by default; `OBJECT`
 * says nothing about content; sampling bytes is unsafe), so the knowledge comes from
 * keyspace notifications: once a read of the key completes with the key's
 * subscription acknowledged and no notification during the read, the value is known
 * until a notification for the key arrives or the subscription drops (the store's
 * watch epoch changes). Writes that announce nothing (SWAPDB, a server with the
 * notification flags removed later) are caught by a full read at least every
 * `verifyMs`. Small values are simply read: it costs less than a subscription.
 *
 * @example
 * const inputs = unchangedInputsOf(store);
 * if (inputs.holds(key, lastMarker)) return; // no read, no hash
 * const read = inputs.beforeRead(key);
 * const raw = await store.get(key);
 * inputs.afterRead(read, raw === null ? null : inputMarker(raw), raw?.length ?? 0);
 */
import type { Store } from './store.js';

/** Values from this size on are tracked (bytes of the JSON text). */
export const TRACK_FROM_BYTES = 256 * 1024;
/** A tracked value is read in full at least this often anyway. */
export const VERIFY_MS = 60_000;

interface Entry {
  unwatch: () => void;
  /** Bumped by every notification for the key. */
  writes: number;
  /** The marker of the value, while it is known; null when unknown. */
  marker: string | null;
  /** The watch epoch the marker was learnt under. */
  epoch: number | null;
  verifiedAt: number;
}

export interface ReadTicket {
  key: string;
  writes: number;
  epoch: number | null;
}

export class UnchangedInputs {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly verifyMs = VERIFY_MS,
    private readonly fromBytes = TRACK_FROM_BYTES,
  ) {}

  /** True when `key` surely holds the value whose marker is `marker`: no read needed. */
  holds(key: string, marker: string | null): boolean {
    const e = this.entries.get(key);
    if (!e || marker === null || e.marker !== marker || e.epoch === null) return false;
    if (this.store.watchEpoch?.(key) !== e.epoch) return false;
    return this.now() - e.verifiedAt < this.verifyMs;
  }

  /** Call right before reading `key`. */
  beforeRead(key: string): ReadTicket {
    const e = this.entries.get(key);
    return { key, writes: e?.writes ?? 0, epoch: e ? (this.store.watchEpoch?.(key) ?? null) : null };
  }

  /** Call with what the read found (marker null: the key was empty). */
  afterRead(ticket: ReadTicket, marker: string | null, bytes: number): void {
    let e = this.entries.get(ticket.key);
    if (!e) {
      if (bytes < this.fromBytes || !this.store.watchEpoch) return;
      // Tracked from now on; known only after the next read under an acknowledged watch.
      e = { unwatch: () => {}, writes: 0, marker: null, epoch: null, verifiedAt: 0 };
      const entry = e;
      entry.unwatch = this.store.watch(ticket.key, () => {
        entry.writes++;
        entry.marker = null;
      });
      this.entries.set(ticket.key, e);
      return;
    }
    const quiet = e.writes === ticket.writes && ticket.epoch !== null && this.store.watchEpoch?.(ticket.key) === ticket.epoch;
    e.marker = quiet ? marker : null;
    e.epoch = quiet ? ticket.epoch : null;
    e.verifiedAt = this.now();
  }

  /** A function using `key` goes away: stop tracking it (another reader of the key starts again). */
  release(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.unwatch();
    this.entries.delete(key);
  }
}

const perStore = new WeakMap<Store, UnchangedInputs>();

/** The one tracker of a store (every function reading through it shares it). */
export function unchangedInputsOf(store: Store): UnchangedInputs {
  let u = perStore.get(store);
  if (!u) perStore.set(store, (u = new UnchangedInputs(store)));
  return u;
}
