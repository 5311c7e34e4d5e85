/**
 * What redlet needs of Redis, as one interface with two implementations: Redis itself
 * (`RedisStore`) and the in-process embedded store (`MemoryStore`) used when no Redis
 * is configured. The same behaviour tests run against both.
 */

/**
 * One write of a batch (`exec`). A batch is applied as one MULTI/EXEC: no client ever
 * sees part of it. Redis does not roll back an op that fails while running (a wrong
 * type), so batch only ops that cannot fail that way (SET, DEL, set ops on redlet's own
 * keys).
 */
export type StoreOp =
  | { op: 'set'; key: string; value: string | Buffer }
  | { op: 'del'; key: string }
  | { op: 'sadd'; key: string; member: string }
  | { op: 'srem'; key: string; member: string };

export type KeyListener = (key: string) => void;

/** Stops a watch; `armed` resolves once the server confirmed the subscription. */
export type Unwatch = (() => void) & { armed: Promise<void> };

export interface KeyspaceStatus {
  /** True when writes to watched keys are announced (keyspace notifications on). */
  enabled: boolean;
  /** Why not, in words a person can act on. */
  reason?: string;
}

/** The data operations: the user's keys and redlet's own (definitions, code, state). */
export interface DataStore {
  readonly kind: 'redis' | 'memory';
  /** True on Redis Cluster: keys live in hash slots spread over several primaries. */
  readonly sharded: boolean;
  /**
   * True when one transaction or script may touch all these keys: always, except on
   * Redis Cluster, where they must share a hash slot (here: the same hash tag, or the
   * same name without one; false when in doubt).
   */
  sameSlot(keys: string[]): boolean;
  /** True while the server answers. */
  readonly available: boolean;
  /** The last connection error while unavailable. */
  readonly lastError: string | null;
  /** A string value; null when missing. Throws RedletError `INPUT_WRONG_TYPE` when the key is not a string. */
  get(key: string): Promise<string | null>;
  getBuffer(key: string): Promise<Buffer | null>;
  set(key: string, value: string | Buffer): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Applies the ops as one transaction (MULTI/EXEC on Redis); see StoreOp. */
  exec(ops: StoreOp[]): Promise<void>;
  /**
   * Renames each existing `from` to its `to`, in one atomic step, unless the first `to`
   * already exists (then it only deletes the `from`s). For moving keys to new names at
   * start; not available on Redis Cluster (the names span slots).
   */
  moveUnlessPresent(pairs: Array<[from: string, to: string]>): Promise<void>;
  /** Keys matching a glob pattern (SCAN on every primary; never KEYS). */
  scan(pattern: string): Promise<string[]>;
  /**
   * Calls `listener` each time `key` is written or deleted. Returns the unsubscribe
   * function, whose `armed` promise resolves when writes from then on are announced.
   */
  watch(key: string, listener: KeyListener): Unwatch;
  keyspaceStatus(): KeyspaceStatus;
  /**
   * While every write to `key` is surely announced to `watch` listeners (notifications
   * on, the key's subscription acknowledged), a number that stays the same; it changes
   * whenever announcements may have been lost (the subscription dropped and came back).
   * null when not surely announced. Optional: a store without it never skips a read.
   */
  watchEpoch?(key: string): number | null;
  /** Resolves when the server answers a PING; rejects otherwise. */
  ping(): Promise<void>;
  /** Runs `fn` each time the connection comes back after an outage (for re-seeding). */
  onReconnect(fn: () => void): void;
  close(): Promise<void>;
}

/** Coordination between replicas: leases, fenced writes, membership, events. */
export interface CoordinationStore {
  /** Takes a lease: SET key owner NX PX ttl. True when this caller now holds it. */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease only while `owner` holds it. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** renew() for many leases of one owner, in as few round trips as the store allows; one answer per key, in order. */
  renewMany(keys: string[], owner: string, ttlMs: number): Promise<boolean[]>;
  /** Gives the lease up only while `owner` holds it. */
  release(key: string, owner: string): Promise<boolean>;
  /**
   * Applies the ops only while `guard.key` holds `guard.value`, atomically (a Lua script
   * on Redis): a replica that lost a function's lease can no longer write its output.
   */
  execIf(guard: { key: string; value: string }, ops: StoreOp[]): Promise<boolean>;
  /**
   * Commits (`execIf`, `exec`) that fewer replicas acknowledged than asked (WAIT, on
   * Cluster and Sentinel) since start: they stand on the primary, but a failover before
   * the replicas catch up loses them. Absent where commits are not replicated.
   */
  readonly unreplicatedCommits?: number;
  /** Calls `listener` with the guard (or first) key of each such commit. Returns the unsubscribe function. */
  onUnreplicated?(listener: (key: string) => void): () => void;
  /** Several string values at once (MGET); null for missing keys. */
  mget(keys: string[]): Promise<Array<string | null>>;
  /** A string with an expiry (SET PX). */
  setWithTtl(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sorted-set membership with a score (used as an expiry time): ZADD, then drop members scored below `minScore`, then list the rest. */
  heartbeat(key: string, member: string, score: number, minScore: number): Promise<string[]>;
  /** Removes a member from a sorted set (ZREM). */
  forget(key: string, member: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;

  // --- Capped time series (the dashboard's chart history, shared by every replica) ---

  /**
   * Appends one entry to a stream (XADD MAXLEN: at most `maxLen` entries), then drops
   * entries older than `minTime` (epoch ms; XTRIM MINID). Exact trims: each append
   * removes about one entry.
   */
  appendCapped(key: string, value: string, opts: { maxLen: number; minTime: number }): Promise<void>;
  /** The entries from `since` (epoch ms) on, oldest first (XRANGE), at most `count`. */
  readSince(key: string, since: number, count: number): Promise<Array<{ at: number; value: string }>>;
  /** Calls `listener` for each message on `channel`. Returns the unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): () => void;
}

/**
 * What redlet needs of Redis: both halves, implemented by RedisStore and MemoryStore
 * alike and held to one conformance suite (test/store-conformance.redis.test.ts).
 */
export interface Store extends DataStore, CoordinationStore {}
