/**
 * The Redis implementation of Store (ioredis). Commands fail fast while Redis is
 * down (no offline queue: a tick must not pile up behind an outage), the client
 * reconnects by itself with capped backoff, and a second connection listens to
 * keyspace notifications, which it enables with CONFIG SET when the server allows.
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
 * await store.ping();
 */
import { Redis } from 'ioredis';
import { RedletError } from '../errors.js';
import type { Logger } from '../logger.js';
import { wrongType } from './memory-store.js';
import type { KeyListener, KeyspaceStatus, Store, StoreOp, Unwatch } from './store.js';

export interface RedisStoreOptions {
  url: string;
  /** Keyspace flags redlet needs: K (keyspace channel), $ (string commands), g (DEL, RENAME, ...). */
  keyspaceFlags?: string;
  /** Upper bound of the reconnect backoff, ms. */
  maxBackoffMs?: number;
  /** Told once when the connection is lost and once when it is back. */
  log?: Pick<Logger, 'warn'>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// KEYS = guard, key1..keyN; ARGV = guard value, op1, value1, ..., opN, valueN.
const EXEC_IF = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  local op, v = ARGV[2 * i - 2], ARGV[2 * i - 1]
  if op == 'set' then redis.call('SET', KEYS[i], v)
  elseif op == 'del' then redis.call('DEL', KEYS[i])
  elseif op == 'sadd' then redis.call('SADD', KEYS[i], v)
  elseif op == 'srem' then redis.call('SREM', KEYS[i], v) end
end
return 1`;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly db: number;
  private readonly listeners = new Map<string, Set<KeyListener>>();
  /** Per watched key: resolves when the server confirmed its SUBSCRIBE. */
  private readonly armed = new Map<string, Promise<void>>();
  private readonly channelListeners = new Map<string, Set<(message: string) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private keyspace: KeyspaceStatus = { enabled: false, reason: 'no key is watched yet' };
  private readonly flags: string;
  private wasReady = false;
  private up = false;
  /** Why the connection is down (or refused), as the error commands fail with meanwhile. */
  private error: RedletError | null = null;
  /** `host:port`, as messages name the server. */
  readonly address: string;
  private readonly log: Pick<Logger, 'warn'> | null;

  constructor(opts: RedisStoreOptions) {
    const u = new URL(opts.url);
    this.address = `${u.hostname}:${u.port || 6379}`;
    this.log = opts.log ?? null;
    const backoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 10), opts.maxBackoffMs ?? 2000);
    this.flags = opts.keyspaceFlags ?? 'K$g';
    this.db = Number(new URL(opts.url).pathname.replace('/', '') || 0);
    this.client = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: backoff,
      lazyConnect: false,
      connectionName: 'redlet',
    });
    this.client.on('ready', () => {
      if (this.wasReady && !this.up) this.log?.warn({ redis: this.address }, `Redis at ${this.address} answers again`);
      this.up = true;
      this.error = null;
      // Also after a reconnect: a restarted server has forgotten its CONFIG SET.
      if (this.listeners.size > 0) void this.enableKeyspace();
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
    this.backoff = backoff;
    this.url = opts.url;
  }

  private readonly backoff: (times: number) => number;
  private readonly url: string;

  get available(): boolean {
    return this.up;
  }

  get lastError(): string | null {
    return this.up ? null : (this.error ?? this.unavailable('not connected yet')).message;
  }

  async get(key: string): Promise<string | null> {
    try {
      return await this.client.get(key);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('WRONGTYPE')) {
        const type = await this.client.type(key).catch(() => 'value of another type');
        throw wrongType(key, type, 'a string');
      }
      throw this.translate(err, key);
    }
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
  }

  async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.run(pattern, () => this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  }

  watch(key: string, listener: KeyListener): Unwatch {
    let set = this.listeners.get(key);
    if (!set) {
      this.listeners.set(key, (set = new Set()));
      const sub = this.ensureSubscriber();
      const keyspaceOn = this.listeners.size === 1 && this.up ? this.enableKeyspace() : Promise.resolve();
      // ioredis resolves SUBSCRIBE on the server's confirmation (queued while offline).
      const confirmed = sub.subscribe(this.channel(key)).then(
        () => undefined,
        () => {
          // Retried by ioredis' auto-resubscribe once the connection is back.
        },
      );
      this.armed.set(key, Promise.all([keyspaceOn, confirmed]).then(() => undefined));
    }
    set.add(listener);
    const stop = () => {
      set!.delete(listener);
      if (set!.size === 0) {
        this.listeners.delete(key);
        this.armed.delete(key);
        this.subscriber?.unsubscribe(this.channel(key)).catch(() => {});
      }
    };
    return Object.assign(stop, { armed: this.armed.get(key) ?? Promise.resolve() });
  }

  keyspaceStatus(): KeyspaceStatus {
    return this.keyspace;
  }

  async ping(): Promise<void> {
    await this.run('PING', () => this.client.ping());
  }

  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  async close(): Promise<void> {
    const quit = async (c: Redis | null) => {
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
    return Number(await this.run(key, () => this.client.eval(RENEW, 1, key, owner, ttlMs))) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await this.run(key, () => this.client.eval(RELEASE, 1, key, owner))) === 1;
  }

  async execIf(guard: { key: string; value: string }, ops: StoreOp[]): Promise<boolean> {
    const keys = [guard.key, ...ops.map((o) => o.key)];
    const args: Array<string | Buffer> = [guard.value];
    for (const o of ops) args.push(o.op, o.op === 'set' ? o.value : o.op === 'del' ? '' : o.member);
    return Number(await this.run(guard.key, () => this.client.eval(EXEC_IF, keys.length, ...keys, ...args))) === 1;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.run(keys[0]!, () => this.client.mget(...keys));
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

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = new Redis(this.url, { retryStrategy: this.backoff, maxRetriesPerRequest: null, connectionName: 'redlet-keyspace' });
    sub.on('error', () => {
      // Reported through the command connection's status; the subscriber just reconnects.
    });
    sub.on('message', (channel: string, message: string) => {
      const own = this.channelListeners.get(channel);
      if (own) {
        for (const l of [...own]) l(message);
        return;
      }
      const key = channel.slice(channel.indexOf(':') + 1);
      const set = this.listeners.get(key);
      if (set) for (const l of [...set]) l(key);
    });
    this.subscriber = sub;
    // Before the first 'ready' the command connection refuses commands; 'ready' does it then.
    if (this.up && this.listeners.size > 0) void this.enableKeyspace();
    return sub;
  }

  /** Adds the flags redlet needs to notify-keyspace-events, keeping whatever else is set. */
  private async enableKeyspace(): Promise<void> {
    try {
      const [, current = ''] = (await this.client.config('GET', 'notify-keyspace-events')) as [string, string];
      const has = (f: string) => current.includes(f) || (f !== 'K' && f !== 'E' && current.includes('A'));
      const missing = [...this.flags].filter((f) => !has(f));
      if (missing.length > 0) await this.client.config('SET', 'notify-keyspace-events', current + missing.join(''));
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
        return new RedletError('REDIS_NOPERM', `Redis at ${at} refused access${key ? ` to '${key}'` : ''} (NOPERM): the ACL user redlet connects as lacks a key or command permission; grant it with ACL SETUSER, or connect as another user`, opts);
      case 'NOAUTH':
        return new RedletError('REDIS_NOAUTH', `Redis at ${at} requires a password (NOAUTH): put it in REDIS_URL (redis://:password@host:port) or REDIS_PASSWORD`, opts);
      case 'WRONGPASS':
        return new RedletError('REDIS_NOAUTH', `Redis at ${at} rejected the user name or password (WRONGPASS): check the credentials in REDIS_URL or REDIS_PASSWORD`, opts);
      case 'READONLY':
        return new RedletError('REDIS_READONLY', `Redis at ${at} is a read-only replica (READONLY): point redlet at the primary (master) instead`, opts);
      case 'OOM':
        return new RedletError('REDIS_OOM', `Redis at ${at} is out of memory (OOM: maxmemory reached): raise maxmemory, set an eviction policy, or free memory`, opts);
    }
    const code = (err as { code?: unknown })?.code;
    return this.unavailable(typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : message, err);
  }

  private unavailable(reason: string, cause?: unknown): RedletError {
    return new RedletError('REDIS_UNAVAILABLE', `Redis unavailable at ${this.address} (${reason})`, { kind: 'system', cause });
  }
}
