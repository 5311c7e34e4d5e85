/**
 * Waits for a replica's acknowledgement of each commit (WAIT), so the failover
 * that promotes that replica keeps it, without letting WAIT slow everything else down.
 * WAIT blocks the connection it is sent on, and that connection also carries the lease
 * renewals and input reads to the same primary. So:
 * - at most one WAIT per primary is out at a time; commits that complete meanwhile
 *   share the next one (WAIT covers every earlier write of its connection);
 * - a primary whose WAIT came back short (its replica is down or far behind, e.g.
 *   just after a failover promoted the only one) is not waited on for `holdMs`; the
 *   commits meanwhile count as unacknowledged at once.
 * Unacknowledged commits go to UnreplicatedCommits (metrics, status, log).
 *
 * @example
 * const acks = new ReplicaAcks({ replicas: 1, timeoutMs: 500 }, (key) => primaryOf(key), unreplicated);
 * if (await script()) await acks.confirm('redlet:{avg}:owner');
 */
import type { UnreplicatedCommits } from './unreplicated-commits.js';

/** The connection a primary's commits went through, by a stable name. */
export interface PrimaryConnection {
  id: string;
  wait(replicas: number, timeoutMs: number): Promise<number>;
}

export interface ReplicaAcksOptions {
  replicas: number;
  timeoutMs: number;
  /** How long a primary that answered short is not waited on. Default 10 s. */
  holdMs?: number;
  now?: () => number;
}

interface PerPrimary {
  inFlight: boolean;
  /** The commits that wait for the next WAIT. */
  next: { promise: Promise<number>; resolve: (acked: number) => void } | null;
  /** Not waited on until then (epoch ms). */
  heldUntil: number;
}

export class ReplicaAcks {
  private readonly primaries = new Map<string, PerPrimary>();
  private readonly holdMs: number;
  private readonly now: () => number;

  constructor(
    private readonly opts: ReplicaAcksOptions,
    /** The primary serving `key` and the connection its commands go through; null when unknown. */
    private readonly primaryOf: (key: string) => PrimaryConnection | null,
    private readonly report: UnreplicatedCommits,
  ) {
    this.holdMs = opts.holdMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** After a commit to `key`'s slot applied: resolves once acknowledged, or reported as not. */
  async confirm(key: string): Promise<void> {
    const primary = this.primaryOf(key);
    if (!primary) return this.report.record(key, null);
    const p = this.primaries.get(primary.id) ?? { inFlight: false, next: null, heldUntil: 0 };
    this.primaries.set(primary.id, p);
    if (this.now() < p.heldUntil) return this.report.record(key, null);
    const acked = await this.nextWait(primary, p);
    if (acked >= this.opts.replicas) return;
    p.heldUntil = Math.max(p.heldUntil, this.now() + this.holdMs);
    this.report.record(key, acked);
  }

  private nextWait(primary: PrimaryConnection, p: PerPrimary): Promise<number> {
    if (p.next) return p.next.promise;
    let resolve!: (acked: number) => void;
    const promise = new Promise<number>((r) => (resolve = r));
    p.next = { promise, resolve };
    if (!p.inFlight) this.send(primary, p);
    return promise;
  }

  private send(primary: PrimaryConnection, p: PerPrimary): void {
    const batch = p.next!;
    p.next = null;
    p.inFlight = true;
    primary
      .wait(this.opts.replicas, this.opts.timeoutMs)
      // A lost connection acknowledged nothing we can know of.
      .then(Number, () => 0)
      .then((acked) => {
        batch.resolve(acked);
        p.inFlight = false;
        if (p.next) this.send(primary, p);
      });
  }
}
