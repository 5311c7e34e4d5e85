/**
 * Replicas sharing one Redis share the work: each function is run by exactly one live
 * replica, the one holding its lease (`owner:<name>`, SET NX PX, renewed by its owner,
 * released with compare-and-delete). Every tick a replica renews its heartbeat in the
 * `replicas` sorted set, computes the same assignment as everyone else (rendezvous
 * hashing over the live replicas, see assignment.ts: a change moves few functions),
 * gives up what is no longer its own (stopping the runner first, so there is never a
 * double run), and takes what is free and assigned to it. A replica that cannot reach
 * Redis stops its functions when their leases lapse, and its late writes are fenced
 * (Store.execIf on the lease). Registry changes are announced on a channel so every
 * replica refreshes within milliseconds; a full resync each tick covers lost messages.
 *
 * @example
 * const cluster = new ClusterCoordinator(runtime, store, keys, { replicaId: 'pod-a', leaseMs: 5000 }, log);
 * cluster.start();
 */
import { z } from 'zod';
import { assignOwner } from './assignment.js';
import type { Keys } from './keys.js';
import type { Logger } from './logger.js';
import type { Store } from './store/store.js';
import { TimeSlice } from './time-slice.js';

/** What the coordinator needs of the runtime. */
export interface ClusterMember {
  /** Every function this replica knows of (registry and configuration), sorted. */
  names(): string[];
  /** Names in the registry that differ from what this replica holds (to refresh). */
  staleNames(registryNames: string[]): string[];
  /** Loads and starts a function whose lease this replica just took. */
  takeOver(name: string): Promise<boolean>;
  /** Stops a function here (waiting for its invocation in flight) and frees its isolate. */
  handOver(name: string): Promise<void>;
  /** Re-reads a function from the registry after another replica changed it. */
  refresh(name: string): Promise<void>;
  /** JSON status snapshots of the functions running here, for the other replicas. */
  statusSnapshots(names: string[]): Promise<Map<string, string>>;
  /**
   * A cheap mark of what the other replicas see of a function's status (state, counters,
   * detail): its snapshot is published again when the mark changes. Null: not running here.
   */
  statusMark(name: string): string | null;
}

export interface ClusterOptions {
  replicaId: string;
  leaseMs: number;
}

/** The registry is read in full every this many lease periods (see round()). */
const RESYNC_LEASES = 2;
/** An unchanged status is published again every this many lease periods ... */
const REPUBLISH_LEASES = 4;
/** ... and its key expires after this many, so a dead replica's statuses go away. */
const STATUS_TTL_LEASES = 10;

/** Statuses snapshotted and written per turn of the event loop. */
const STATUS_BATCH = 200;

/** A registry change, announced on `Keys.events()`: which function, and which replica changed it. */
const clusterEventSchema = z.object({ name: z.string(), from: z.string() });
type ClusterEvent = z.output<typeof clusterEventSchema>;

/**
 * How much of a lease this replica counts on after taking or renewing it. Lapsed leases
 * are looked for every tick (a fifth of the lease), so the margin must be larger than a
 * tick: a replica cut off from Redis then stops a function before its lease can expire
 * there, not at the same moment (fenced commits would still refuse its writes).
 */
const SURELY_VALID = 0.7;

/** Functions taken over in parallel (their isolates load side by side). */
const TAKEOVER_BATCH = 4;

export class ClusterCoordinator {
  readonly replicaId: string;
  private readonly leaseMs: number;
  private readonly tickMs: number;
  /** Functions whose lease this replica holds -> until when it is surely still valid. */
  private readonly owned = new Map<string, number>();
  private live: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing = false;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  /** Each name's owner under the live replicas of `live` (see assigned()). */
  private assignment = { live: '', owners: new Map<string, string | null>() };
  private lastResync = -Infinity;
  /** What was last published of each function run here: its status mark, and when. */
  private readonly published = new Map<string, { mark: string; at: number }>();

  constructor(
    private readonly member: ClusterMember,
    private readonly store: Store,
    private readonly keys: Keys,
    opts: ClusterOptions,
    private readonly log: Logger,
  ) {
    this.replicaId = opts.replicaId;
    this.leaseMs = opts.leaseMs;
    this.tickMs = Math.max(100, Math.floor(opts.leaseMs / 5));
  }

  /** Live replicas as last seen (sorted). */
  get replicas(): string[] {
    return [...this.live];
  }

  owns(name: string): boolean {
    return this.owned.has(name);
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.store.subscribe(this.keys.events(), (message) => void this.onEvent(message));
    this.timer = setInterval(() => this.kick(0), this.tickMs);
    // Renewals run on their own clock: a long round (taking over many functions) must
    // never make this replica's other leases lapse.
    this.renewTimer = setInterval(() => void this.renewAll(), this.tickMs);
    this.kick(0);
  }

  /** Stops ticking; the runtime stops the runners, then calls releaseAll(). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.unsubscribe?.();
    await this.running;
  }

  /** Gives every lease up and leaves the replica set, so others take over at once. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.owned.keys()].map((name) => this.store.release(this.keys.owner(name), this.replicaId).catch(() => false)));
    this.owned.clear();
    await this.store.forget(this.keys.replicas(), this.replicaId).catch(() => {});
  }

  /**
   * Tells the other replicas that a function changed (registered, updated, deleted,
   * paused), and runs a round here soon. `settled`: this replica already holds what the
   * change needs (a registration it claimed), so no round is due for it; registering
   * thousands of functions then does not run a round over all of them after each one.
   */
  async announce(name: string, { settled = false }: { settled?: boolean } = {}): Promise<void> {
    const event: ClusterEvent = { name, from: this.replicaId };
    await this.store.publish(this.keys.events(), JSON.stringify(event)).catch((err: Error) => {
      this.log.warn({ function: name, err: err.message }, 'could not announce a change; other replicas pick it up at their next resync');
    });
    if (!settled) this.kick();
  }

  /**
   * Takes a function just registered here at once when the assignment gives it to this
   * replica and its lease is free, so its first run does not wait for a tick (and its
   * freshly loaded isolate is kept). False: leave it to the regular ticks.
   */
  async claim(name: string): Promise<boolean> {
    if (this.stopped || this.live.length === 0) return false;
    if (assignOwner(name, this.live) !== this.replicaId) return false;
    const got = await this.store.acquire(this.keys.owner(name), this.replicaId, this.leaseMs).catch(() => false);
    if (got) this.owned.set(name, Date.now() + this.leaseMs * SURELY_VALID);
    return got;
  }

  /** A function this replica owned is gone: drop its lease. */
  async dropped(name: string): Promise<void> {
    if (this.owned.delete(name)) await this.store.release(this.keys.owner(name), this.replicaId).catch(() => false);
  }

  /** Runs a tick soon (coalesced). */
  kick(delayMs = 10): void {
    if (this.stopped) return;
    if (this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      void this.tick();
    }, delayMs);
  }

  private async onEvent(message: string): Promise<void> {
    let event: ClusterEvent;
    try {
      event = clusterEventSchema.parse(JSON.parse(message));
    } catch {
      return; // not an announcement of this version: the next resync covers it
    }
    if (event.from === this.replicaId) return;
    try {
      await this.member.refresh(event.name);
    } catch (err) {
      this.log.warn({ function: event.name, err: (err as Error).message }, 'could not refresh a function after a change');
    }
    this.kick();
  }

  private tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.round()
      .catch((err: Error) => this.log.error({ err: err.message }, 'cluster tick failed'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick(0);
        }
      });
    return this.running;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    // The full resync of the registry (a safety net under the announcements) every few
    // lease periods: with thousands of functions, reading every name each tick costs.
    const resync = now - this.lastResync >= this.leaseMs * RESYNC_LEASES;
    let live: string[];
    let registryNames: string[] | null;
    try {
      [live, registryNames] = await Promise.all([
        this.store.heartbeat(this.keys.replicas(), this.replicaId, now + this.leaseMs, now),
        resync ? this.store.smembers(this.keys.functions()) : null,
      ]);
    } catch {
      // Cut off from Redis: whatever we cannot prove we still own must stop running.
      await this.dropLapsed();
      return;
    }
    this.live = [...live].sort();
    // With thousands of functions a round is long: it lets due timers run every few ms.
    const slice = new TimeSlice();
    if (registryNames) {
      this.lastResync = now;
      for (const name of this.member.staleNames(registryNames)) await this.member.refresh(name).catch(() => {});
      await slice.yield();
    }

    const names = new Set(this.member.names());
    const mine = await this.assigned(names, slice);

    await this.dropLapsed(slice);

    // Hand over what is no longer ours: stop first, then release, so it never runs twice.
    for (const name of [...this.owned.keys()]) {
      if (slice.due()) await slice.yield();
      // Owned but not known here: a registration that claimed it and has not installed it
      // yet. Handing it over would stop it the moment the registration ends (and load it
      // again a round later). Whoever removes a function drops its lease (dropped()).
      if (!names.has(name)) continue;
      if (mine.has(name)) continue;
      await this.member.handOver(name);
      this.owned.delete(name);
      await this.store.release(this.keys.owner(name), this.replicaId).catch(() => false);
    }

    // Take what is ours and free, a few at a time (loads overlap), and no longer than a
    // quarter lease per round: the rest waits for the next round, which comes at once.
    const deadline = Date.now() + this.leaseMs / 4;
    const wanted = [...mine].filter((name) => !this.owned.has(name));
    for (let i = 0; i < wanted.length && !this.stopped; i += TAKEOVER_BATCH) {
      if (Date.now() > deadline) {
        this.again = true;
        break;
      }
      await Promise.all(wanted.slice(i, i + TAKEOVER_BATCH).map((name) => this.take(name)));
    }

    await this.publishStatus(slice);
  }

  /**
   * The names assigned to this replica. The assignment of a name changes only when the
   * live replicas do, so it is computed once per name and set of replicas, not each round.
   */
  private async assigned(names: Set<string>, slice: TimeSlice): Promise<Set<string>> {
    const liveKey = this.live.join('\n');
    if (liveKey !== this.assignment.live || this.assignment.owners.size > names.size * 2) {
      this.assignment = { live: liveKey, owners: new Map() };
    }
    const mine = new Set<string>();
    for (const name of names) {
      if (slice.due()) await slice.yield();
      let owner = this.assignment.owners.get(name);
      if (owner === undefined) {
        owner = assignOwner(name, this.live);
        this.assignment.owners.set(name, owner);
      }
      if (owner === this.replicaId) mine.add(name);
    }
    return mine;
  }

  private async take(name: string): Promise<void> {
    const got = await this.store.acquire(this.keys.owner(name), this.replicaId, this.leaseMs).catch(() => false);
    if (!got) return;
    this.owned.set(name, Date.now() + this.leaseMs * SURELY_VALID);
    const ok = await this.member.takeOver(name).catch((err: Error) => {
      this.log.error({ function: name, err: err.message }, 'could not start a function this replica took over');
      return false;
    });
    if (!ok) {
      this.owned.delete(name);
      await this.store.release(this.keys.owner(name), this.replicaId).catch(() => false);
    }
  }

  /** Extends every lease this replica holds; a lease it lost (expired, taken) stops at once. */
  private async renewAll(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    try {
      const now = Date.now();
      const names = [...this.owned.keys()];
      // One answer per lease; null: Redis did not answer (the lease lapses unless a later round renews it).
      const renewed = await this.store
        .renewMany(
          names.map((name) => this.keys.owner(name)),
          this.replicaId,
          this.leaseMs,
        )
        .catch(() => null);
      if (renewed) {
        const lost: string[] = [];
        names.forEach((name, i) => {
          if (renewed[i]) {
            if (this.owned.has(name)) this.owned.set(name, now + this.leaseMs * SURELY_VALID);
          } else if (this.owned.delete(name)) lost.push(name);
        });
        await Promise.all(
          lost.map((name) => {
            this.log.warn({ function: name }, 'lost the lease of a function; stopping it here');
            return this.member.handOver(name);
          }),
        );
      }
      await this.dropLapsed();
    } finally {
      this.renewing = false;
    }
  }

  private async dropLapsed(slice = new TimeSlice()): Promise<void> {
    let now = Date.now();
    for (const [name, validUntil] of [...this.owned]) {
      if (slice.due()) {
        await slice.yield();
        now = Date.now();
      }
      if (validUntil > now) continue;
      this.log.warn({ function: name }, 'could not renew the lease of a function in time; stopping it here');
      this.owned.delete(name);
      await this.member.handOver(name);
    }
  }

  /**
   * Publishes the status of the functions run here whose status changed since it was last
   * published, and of the others every REPUBLISH_LEASES lease periods (their key expires
   * after STATUS_TTL_LEASES, so a dead replica's statuses disappear; a new owner publishes
   * its own at once). Unchanged functions cost a string comparison per
   * round, not a snapshot and a write: with 10,000 functions a round stays cheap.
   */
  private async publishStatus(slice: TimeSlice): Promise<void> {
    const now = Date.now();
    const due = new Map<string, string>();
    for (const name of [...this.owned.keys()]) {
      if (slice.due()) await slice.yield();
      const mark = this.member.statusMark(name);
      if (mark === null) continue;
      const last = this.published.get(name);
      if (last && last.mark === mark && now - last.at < this.leaseMs * REPUBLISH_LEASES) continue;
      due.set(name, mark);
    }
    for (const name of this.published.keys()) if (!this.owned.has(name)) this.published.delete(name);
    if (due.size === 0) return;
    // In batches, each written before the next is built: all at once, a republish of
    // 10,000 statuses was one burst of snapshots and one multi-megabyte write.
    const names = [...due.keys()];
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < names.length; i += STATUS_BATCH) {
      const snapshots = await this.member.statusSnapshots(names.slice(i, i + STATUS_BATCH));
      for (const [name, json] of snapshots)
        writes.push(
          this.store.setWithTtl(this.keys.status(name), json, this.leaseMs * STATUS_TTL_LEASES).then(
            () => void this.published.set(name, { mark: due.get(name)!, at: now }),
            () => {},
          ),
        );
      await slice.yield();
    }
    await Promise.all(writes);
  }
}
