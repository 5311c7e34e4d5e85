/**
 * The Redis implementation of Store (ioredis), on one Redis, on Redis Sentinel or on
 * Redis Cluster (see redis-connection.ts). Commands fail fast while Redis is down (no
 * offline queue: a tick must not pile up behind an outage), the client reconnects by
 * itself with capped backoff, and a second connection listens to keyspace
 * notifications, which it enables with CONFIG SET when the server allows (on a
 * cluster: one listener per primary, see cluster-keyspace.ts). On Cluster and Sentinel
 * a fenced commit also waits for a replica's acknowledgement (WAIT), so the failover
 * that promotes that replica keeps it. What must be atomic beyond one command (renewing
 * and releasing a lease, the fenced commit, moving keys) is a Lua script in lua/, sent
 * as EVALSHA (lua-scripts.ts).
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
 * await store.ping();
 */
import type { Cluster, Redis } from 'ioredis';
import { RedletError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ClusterKeyspace } from './cluster-keyspace.js';
import { callScript, defineScripts } from './lua-scripts.js';
import { hashPart, keySlot } from './key-slot.js';
import { ReplicaAcks, type PrimaryConnection } from './replica-acks.js';
import { UnreplicatedCommits } from './unreplicated-commits.js';
import { wrongType } from './memory-store.js';
import type { KeyListener, KeyspaceStatus, Store, StoreOp, Unwatch } from './store.js';
import { backoffOf, createClient, modeOf, nodeAuth, type Mode, type RedisStoreOptions } from './redis-connection.js';

export type { RedisStoreOptions } from './redis-connection.js';

/** Leases renewed by one script call (a script blocks Redis while it runs: keep each short). */
const RENEW_CHUNK = 500;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly mode: Mode;
  private readonly client: Redis | Cluster;
  private subscriber: Redis | Cluster | null = null;
  private clusterKeyspace: ClusterKeyspace | null = null;
  private readonly db: number;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private readonly opts: RedisStoreOptions;
  /** Fenced commits no replica acknowledged in time (a failover right then could lose them). */
  private readonly unreplicated: UnreplicatedCommits;
  private readonly acks: ReplicaAcks;
  private readonly listeners = new Map<string, Set<KeyListener>>();
  /** Per watched key: resolves when the server confirmed its SUBSCRIBE. */
  private readonly armed = new Map<string, Promise<void>>();
  private readonly channelListeners = new Map<string, Set<(message: string) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private keyspace: KeyspaceStatus = { enabled: false, reason: 'no key is watched yet' };
  private readonly flags: string;
  private wasReady = false;
  /** Bumped whenever the keyspace subscriber connects or drops: announcements may have been lost. */
  private subEpoch = 0;
  /** Watched key -> the subscriber epoch its SUBSCRIBE was acknowledged in. */
  private readonly acked = new Map<string, number>();
  /** GETs waiting for the end of this tick (batchedGet). */
  private reads: Array<{ key: string; resolve: (v: string | null) => void; reject: (err: unknown) => void }> | null = null;
  private up = false;
  /** Why the connection is down (or refused), as the error commands fail with meanwhile. */
  private error: RedletError | null = null;
  /** `host:port`, as messages name the server. */
  readonly address: string;
  private readonly log: Pick<Logger, 'warn'> | null;

  constructor(opts: RedisStoreOptions) {
    this.opts = opts;
    this.mode = modeOf(opts);
    this.address = addressOf(opts);
    this.log = opts.log ?? null;
    this.flags = opts.keyspaceFlags ?? 'K$g';
    this.db = opts.url ? Number(new URL(opts.url).pathname.replace('/', '') || 0) : 0;
    this.waitReplicas = opts.waitReplicas ?? (this.mode === 'single' ? 0 : 1);
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 500;
    this.unreplicated = new UnreplicatedCommits(
      { replicas: this.waitReplicas, timeoutMs: this.waitTimeoutMs, address: this.address },
      this.log,
    );
    this.acks = new ReplicaAcks(
      { replicas: this.waitReplicas, timeoutMs: this.waitTimeoutMs },
      (key) => this.primaryOf(key),
      this.unreplicated,
    );
    this.client = createClient(opts, 'commands');
    defineScripts(this.client);
    this.client.on('ready', () => {
      if (this.wasReady && !this.up) this.log?.warn({ redis: this.address }, `Redis at ${this.address} answers again`);
      this.up = true;
      this.error = null;
      // Also after a reconnect: a restarted server has forgotten its CONFIG SET.
      if (this.listeners.size > 0 && this.mode !== 'cluster') void this.enableKeyspace();
      if (this.wasReady) for (const fn of this.reconnectHandlers) fn();
      this.wasReady = true;
    });
    this.client.on('error', (err: Error) => {
      this.error = this.classify(err, null);
    });
    this.client.on('close', () => {
      if (this.up) this.log?.warn({ redis: this.address }, `lost the connection to Redis at ${this.address}; retrying until it answers`);
      this.up = false;
      this.error ??= this.unavailable('connection closed');
    });
  }

  get sharded(): boolean {
    return this.mode === 'cluster';
  }

  sameSlot(keys: string[]): boolean {
    if (this.mode !== 'cluster') return true;
    return new Set(keys.map(hashPart)).size <= 1;
  }

  async moveUnlessPresent(pairs: Array<[from: string, to: string]>): Promise<void> {
    if (pairs.length === 0) return;
    if (this.mode === 'cluster')
      throw new RedletError('REDIS_UNAVAILABLE', 'moving keys is not available on Redis Cluster', { kind: 'system' });
    const keys = pairs.flat();
    await this.run(keys[0]!, () => callScript(this.client, 'move-unless-present', keys, []));
  }

  get available(): boolean {
    return this.up;
  }

  get lastError(): string | null {
    return this.up ? null : (this.error ?? this.unavailable('not connected yet')).message;
  }

  async get(key: string): Promise<string | null> {
    try {
      return await this.batchedGet(key);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('WRONGTYPE')) {
        const type = await this.client.type(key).catch(() => 'value of another type');
        throw wrongType(key, type, 'a string');
      }
      throw this.translate(err, key);
    }
  }

  /**
   * GETs issued in the same tick (the poll triggers due in one slot of the PollClock,
   * a burst of keyspace events) leave as one pipeline: one write, one read, instead of
   * one round trip each. Each GET keeps its own reply and error (MGET would turn a
   * key of the wrong type into a silent null).
   */
  private batchedGet(key: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      if (!this.reads) {
        this.reads = [];
        process.nextTick(() => this.flushReads());
      }
      this.reads.push({ key, resolve, reject });
    });
  }

  private flushReads(): void {
    const reads = this.reads ?? [];
    this.reads = null;
    // Readers of one key in one tick (functions sharing an input, as the course's
    // `metrics`) share one GET: the two GETs would have left back to back anyway.
    const byKey = new Map<string, Array<(typeof reads)[number]>>();
    for (const r of reads) {
      const same = byKey.get(r.key);
      if (same) same.push(r);
      else byKey.set(r.key, [r]);
    }
    const batch = [...byKey];
    const settle = (readers: typeof reads, err: unknown, value: string | null) => {
      for (const r of readers) {
        if (err) r.reject(err);
        else r.resolve(value);
      }
    };
    // A cluster client pipelines only keys of one slot: there each GET goes alone
    // (ioredis' automatic pipelining still groups them per node).
    if (batch.length === 1 || (this.client as { isCluster?: boolean }).isCluster) {
      for (const [key, readers] of batch)
        this.client.get(key).then(
          (v) => settle(readers, null, v),
          (err: unknown) => settle(readers, err, null),
        );
      return;
    }
    const pipeline = this.client.pipeline();
    for (const [key] of batch) pipeline.get(key);
    pipeline.exec().then(
      (results) =>
        batch.forEach(([, readers], i) => {
          const [err, value] = results?.[i] ?? [new Error('no reply'), null];
          settle(readers, err, value as string | null);
        }),
      (err: unknown) => batch.forEach(([, readers]) => settle(readers, err, null)),
    );
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    return this.run(key, () => this.client.getBuffer(key));
  }

  async set(key: string, value: string | Buffer): Promise<void> {
    await this.run(key, () => this.client.set(key, value));
  }

  async smembers(key: string): Promise<string[]> {
    return this.run(key, () => this.client.smembers(key));
  }

  async exec(ops: StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const multi = this.client.multi();
    for (const o of ops) {
      if (o.op === 'set') multi.set(o.key, o.value);
      else if (o.op === 'del') multi.del(o.key);
      else if (o.op === 'sadd') multi.sadd(o.key, o.member);
      else multi.srem(o.key, o.member);
    }
    const results = await this.run(ops[0]!.key, () => multi.exec());
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw this.translate(failed[0], ops[0]!.key);
    if (this.waitReplicas > 0) await this.acks.confirm(ops[0]!.key);
  }

  async scan(pattern: string): Promise<string[]> {
    // A cluster's keys are spread over its primaries: scan each one.
    const nodes: Array<Redis | Cluster> = this.mode === 'cluster' ? (this.client as Cluster).nodes('master') : [this.client];
    const keys = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await this.run(pattern, () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
        cursor = next;
        for (const k of batch) keys.add(k);
      } while (cursor !== '0');
    }
    return [...keys];
  }

  watch(key: string, listener: KeyListener): Unwatch {
    let set = this.listeners.get(key);
    if (!set && this.mode === 'cluster') {
      this.listeners.set(key, (set = new Set()));
      // Resolves once the primary serving the key's slot confirmed its SUBSCRIBE.
      this.armed.set(key, this.ensureClusterKeyspace().add(key));
    } else if (!set) {
      this.listeners.set(key, (set = new Set()));
      const sub = this.ensureSubscriber();
      const keyspaceOn = this.listeners.size === 1 && this.up ? this.enableKeyspace() : Promise.resolve();
      // Resolves on the server's confirmation of SUBSCRIBE (queued while offline).
      const confirmed = this.subscribeKey(sub, key);
      this.armed.set(
        key,
        Promise.all([keyspaceOn, confirmed]).then(() => undefined),
      );
    }
    set.add(listener);
    const stop = () => {
      set!.delete(listener);
      if (set!.size === 0) {
        this.listeners.delete(key);
        this.armed.delete(key);
        this.acked.delete(key);
        if (this.clusterKeyspace) this.clusterKeyspace.remove(key);
        else this.subscriber?.unsubscribe(this.channel(key)).catch(() => {});
      }
    };
    return Object.assign(stop, { armed: this.armed.get(key) ?? Promise.resolve() });
  }

  keyspaceStatus(): KeyspaceStatus {
    if (this.clusterKeyspace) return this.clusterKeyspace.status();
    return this.keyspace;
  }

  watchEpoch(key: string): number | null {
    return this.keyspace.enabled && this.up && this.subscriber?.status === 'ready' && this.acked.get(key) === this.subEpoch
      ? this.subEpoch
      : null;
  }

  private subscribeKey(sub: Redis | Cluster, key: string): Promise<void> {
    return sub.subscribe(this.channel(key)).then(
      () => {
        if (this.listeners.has(key)) this.acked.set(key, this.subEpoch);
      },
      () => {
        // Retried by ioredis' auto-resubscribe once the connection is back.
      },
    );
  }

  async ping(): Promise<void> {
    await this.run('PING', () => this.client.ping());
  }

  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  get unreplicatedCommits(): number {
    return this.unreplicated.total;
  }

  onUnreplicated(listener: (key: string) => void): () => void {
    return this.unreplicated.onRecord(listener);
  }

  async close(): Promise<void> {
    this.clusterKeyspace?.close();
    this.unreplicated.close();
    const quit = async (c: Redis | Cluster | null) => {
      if (!c) return;
      try {
        if (c.status === 'ready') await c.quit();
        else c.disconnect();
      } catch {
        c.disconnect();
      }
    };
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run(key, () => this.client.set(key, owner, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async renew(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.run(key, () => callScript(this.client, 'renew', [key], [owner, ttlMs]))) === 1;
  }

  /**
   * One script call per RENEW_CHUNK leases on a single Redis or Sentinel; on a Cluster
   * the leases of one hash tag go together (a function's keys share its slot), and the
   * calls of a round still leave pipelined per node.
   */
  async renewMany(keys: string[], owner: string, ttlMs: number): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const groups: string[][] = [];
    if (this.mode === 'cluster') {
      const bySlot = new Map<string, string[]>();
      for (const key of keys) {
        const tag = hashPart(key);
        const group = bySlot.get(tag);
        if (group) group.push(key);
        else bySlot.set(tag, [key]);
      }
      groups.push(...bySlot.values());
    } else for (let i = 0; i < keys.length; i += RENEW_CHUNK) groups.push(keys.slice(i, i + RENEW_CHUNK));
    const answers = new Map<string, boolean>();
    await Promise.all(
      groups.map(async (group) => {
        const replies = (await this.run(group[0]!, () => callScript(this.client, 'renew-many', group, [owner, ttlMs]))) as unknown[];
        group.forEach((key, i) => answers.set(key, Number(replies[i]) === 1));
      }),
    );
    return keys.map((key) => answers.get(key) ?? false);
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await this.run(key, () => callScript(this.client, 'release', [key], [owner]))) === 1;
  }

  async execIf(guard: { key: string; value: string }, ops: StoreOp[]): Promise<boolean> {
    const keys = [guard.key, ...ops.map((o) => o.key)];
    const args: Array<string | Buffer> = [guard.value];
    for (const o of ops) args.push(o.op, o.op === 'set' ? o.value : o.op === 'del' ? '' : o.member);
    const applied = Number(await this.run(guard.key, () => callScript(this.client, 'exec-if', keys, args))) === 1;
    // On Cluster and Sentinel it counts once a replica has it (WAIT; see replica-acks.ts).
    if (applied && this.waitReplicas > 0) await this.acks.confirm(guard.key);
    return applied;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    // MGET over keys of different slots is refused on a cluster; GETs pipeline per node.
    if (this.mode === 'cluster') return this.run(keys[0]!, () => Promise.all(keys.map((k) => this.client.get(k))));
    return this.run(keys[0]!, () => this.client.mget(...keys));
  }

  async appendCapped(key: string, value: string, opts: { maxLen: number; minTime: number }): Promise<void> {
    await this.run(key, () =>
      this.client
        .multi()
        .xadd(key, 'MAXLEN', String(opts.maxLen), '*', 'v', value)
        .xtrim(key, 'MINID', String(Math.max(0, Math.floor(opts.minTime))))
        .exec(),
    );
  }

  async readSince(key: string, since: number, count: number): Promise<Array<{ at: number; value: string }>> {
    const entries = await this.run(key, () => this.client.xrange(key, String(Math.max(0, Math.floor(since))), '+', 'COUNT', count));
    return entries.map(([id, fields]) => ({ at: Number(id.split('-')[0]), value: fields[fields.indexOf('v') + 1] ?? '' }));
  }

  async setWithTtl(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run(key, () => this.client.set(key, value, 'PX', ttlMs));
  }

  async heartbeat(key: string, member: string, score: number, minScore: number): Promise<string[]> {
    const results = await this.run(key, () =>
      this.client.multi().zadd(key, String(score), member).zremrangebyscore(key, '-inf', `(${minScore}`).zrange(key, '0', '-1').exec(),
    );
    const last = results?.[2];
    if (!last || last[0]) throw this.translate(last?.[0] ?? new Error('heartbeat failed'), key);
    return last[1] as string[];
  }

  async forget(key: string, member: string): Promise<void> {
    await this.run(key, () => this.client.zrem(key, member));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(channel, () => this.client.publish(channel, message));
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    let set = this.channelListeners.get(channel);
    if (!set) {
      // On a cluster PUBLISH reaches every node, so one subscriber (the cluster client's own, re-homed on failover) hears it.
      this.channelListeners.set(channel, (set = new Set()));
      this.ensureSubscriber()
        .subscribe(channel)
        .catch(() => {
          // Retried by ioredis' auto-resubscribe once the connection is back.
        });
    }
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) {
        this.channelListeners.delete(channel);
        this.subscriber?.unsubscribe(channel).catch(() => {});
      }
    };
  }

  private channel(key: string): string {
    return `__keyspace@${this.db}__:${key}`;
  }

  /** The primary serving `key`, with the connection redlet's commands to it go through. */
  private primaryOf(key: string): PrimaryConnection | null {
    if (this.mode !== 'cluster') return { id: 'primary', wait: (n, ms) => (this.client as Redis).wait(n, ms) };
    const cluster = this.client as Cluster;
    const id = cluster.slots[keySlot(key)]?.[0];
    const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === id);
    return id && node ? { id, wait: (n, ms) => node.wait(n, ms) } : null;
  }

  private ensureClusterKeyspace(): ClusterKeyspace {
    this.clusterKeyspace ??= new ClusterKeyspace(
      this.client as Cluster,
      nodeAuth(this.opts),
      this.flags,
      (key) => this.fire(key),
      backoffOf(this.opts),
    );
    return this.clusterKeyspace;
  }

  private fire(key: string): void {
    const set = this.listeners.get(key);
    if (set) for (const l of [...set]) l(key);
  }

  private ensureSubscriber(): Redis | Cluster {
    if (this.subscriber) return this.subscriber;
    const sub = createClient(this.opts, 'subscriber');
    sub.on('error', () => {
      // Reported through the command connection's status; the subscriber just reconnects.
    });
    // Announcements sent while it was away are lost: watched values are unknown again
    // until each key's subscription is acknowledged anew.
    sub.on('close', () => {
      this.subEpoch++;
    });
    sub.on('ready', () => {
      this.subEpoch++;
      for (const key of this.listeners.keys()) this.subscribeKey(sub, key);
    });
    sub.on('message', (channel: string, message: string) => {
      const own = this.channelListeners.get(channel);
      if (own) {
        for (const l of [...own]) l(message);
        return;
      }
      this.fire(channel.slice(channel.indexOf(':') + 1));
    });
    this.subscriber = sub;
    // Before the first 'ready' the command connection refuses commands; 'ready' does it then.
    if (this.up && this.listeners.size > 0 && this.mode !== 'cluster') void this.enableKeyspace();
    return sub;
  }

  /** Adds the flags redlet needs to notify-keyspace-events, keeping whatever else is set. */
  private async enableKeyspace(): Promise<void> {
    const client = this.client as Redis;
    try {
      const [, current = ''] = (await client.config('GET', 'notify-keyspace-events')) as [string, string];
      const has = (f: string) => current.includes(f) || (f !== 'K' && f !== 'E' && current.includes('A'));
      const missing = [...this.flags].filter((f) => !has(f));
      if (missing.length > 0) await client.config('SET', 'notify-keyspace-events', current + missing.join(''));
      this.keyspace = { enabled: true };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.keyspace = {
        enabled: false,
        reason:
          `could not enable Redis keyspace notifications (${why}); ask the Redis administrator to set ` +
          `notify-keyspace-events to include '${this.flags}', or use the poll trigger`,
      };
    }
  }

  private async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err, key);
    }
  }

  /** A failed command as a RedletError; while disconnected, the connection's reason. */
  private translate(err: unknown, key: string): RedletError {
    const message = err instanceof Error ? err.message : String(err);
    if (message.startsWith('WRONGTYPE')) return wrongType(key, 'value of another type', 'a string');
    const refused = this.classify(err, key);
    if (refused.code !== 'REDIS_UNAVAILABLE') return refused;
    // ioredis' own words for "offline" ("Stream isn't writeable ...") say nothing useful.
    return !this.up && this.error ? this.error : refused;
  }

  /** Redis' refusals get their own codes and a message saying what to fix. */
  private classify(err: unknown, key: string | null): RedletError {
    const message = err instanceof Error ? err.message : String(err);
    const at = this.address;
    const opts = { kind: 'system' as const, cause: err };
    const word = message.split(' ', 1)[0];
    switch (word) {
      case 'NOPERM':
        return new RedletError(
          'REDIS_NOPERM',
          `Redis at ${at} refused access${key ? ` to '${key}'` : ''} (NOPERM): the ACL user redlet connects as lacks a key or command permission; grant it with ACL SETUSER, or connect as another user`,
          opts,
        );
      case 'NOAUTH':
        return new RedletError(
          'REDIS_NOAUTH',
          `Redis at ${at} requires a password (NOAUTH): put it in REDIS_URL (redis://:password@host:port) or REDIS_PASSWORD`,
          opts,
        );
      case 'WRONGPASS':
        return new RedletError(
          'REDIS_NOAUTH',
          `Redis at ${at} rejected the user name or password (WRONGPASS): check the credentials in REDIS_URL or REDIS_PASSWORD`,
          opts,
        );
      case 'READONLY':
        return new RedletError(
          'REDIS_READONLY',
          `Redis at ${at} is a read-only replica (READONLY): point redlet at the primary (master) instead`,
          opts,
        );
      case 'OOM':
        return new RedletError(
          'REDIS_OOM',
          `Redis at ${at} is out of memory (OOM: maxmemory reached): raise maxmemory, set an eviction policy, or free memory`,
          opts,
        );
    }
    const code = (err as { code?: unknown })?.code;
    return this.unavailable(typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : message, err);
  }

  private unavailable(reason: string, cause?: unknown): RedletError {
    return new RedletError('REDIS_UNAVAILABLE', `Redis unavailable at ${this.address} (${reason})`, { kind: 'system', cause });
  }
}

/** Where redlet's Redis is, in words for messages: `host:port`, the cluster's seeds, or the sentinel name. */
function addressOf(opts: RedisStoreOptions): string {
  if (opts.url) {
    const u = new URL(opts.url);
    return `${u.hostname}:${u.port || 6379}`;
  }
  const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (opts.cluster) return `cluster ${list(opts.cluster.nodes)}`;
  if (opts.sentinel) return `'${opts.sentinel.name}' via sentinels ${list(opts.sentinel.sentinels)}`;
  return 'an unknown address';
}
