/**
 * The embedded store: what redlet needs of Redis, held in this process's memory. It
 * lets `npm start` run end to end on a machine with no Redis. Nothing survives a
 * restart, exactly like a Redis without persistence.
 *
 * @example
 * const store = new MemoryStore(); // or new MemoryStore({ now: () => fakeClock }) in tests
 * store.watch('metrics', () => console.log('written'));
 * await store.set('metrics', '{}');
 */
import { RedletError } from '../errors.js';
import type { KeyListener, KeyspaceStatus, Store, StoreOp, Unwatch } from './store.js';

type Value =
  | { type: 'string'; value: Buffer }
  | { type: 'set'; value: Set<string> }
  | { type: 'zset'; value: Map<string, number> }
  | { type: 'stream'; value: Array<{ at: number; value: string }> };

export interface MemoryStoreOptions {
  /** The clock expiries are measured against (epoch ms); tests pass one they can move. */
  now?: () => number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly sharded: boolean = false;

  sameSlot(_keys: string[]): boolean {
    return true;
  }

  async moveUnlessPresent(pairs: Array<[from: string, to: string]>): Promise<void> {
    if (pairs.length === 0) return;
    const present = this.live(pairs[0]![1]) !== undefined;
    for (const [from, to] of pairs) {
      const v = this.live(from);
      if (v === undefined) continue;
      if (!present) this.data.set(to, v);
      this.data.delete(from);
      this.expiries.delete(from);
    }
  }
  readonly available = true;
  readonly lastError = null;
  private readonly data = new Map<string, Value>();
  private readonly listeners = new Map<string, Set<KeyListener>>();
  private readonly expiries = new Map<string, number>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async get(key: string): Promise<string | null> {
    const b = this.string(key);
    return b === null ? null : b.toString('utf8');
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    const b = this.string(key);
    return b === null ? null : Buffer.from(b);
  }

  async set(key: string, value: string | Buffer): Promise<void> {
    this.apply({ op: 'set', key, value });
    this.notify([key]);
  }

  async smembers(key: string): Promise<string[]> {
    const v = this.data.get(key);
    if (!v) return [];
    if (v.type !== 'set') throw wrongType(key, v.type, 'a set');
    return [...v.value];
  }

  async exec(ops: StoreOp[]): Promise<void> {
    // Check the whole batch first so that a bad op leaves everything untouched: all or nothing.
    const types = new Map<string, string | undefined>();
    const typeOf = (key: string) => (types.has(key) ? types.get(key) : this.data.get(key)?.type);
    for (const op of ops) {
      const t = typeOf(op.key);
      if ((op.op === 'sadd' || op.op === 'srem') && t !== undefined && t !== 'set') throw wrongType(op.key, t, 'a set');
      types.set(op.key, op.op === 'del' ? undefined : op.op === 'set' ? 'string' : op.op === 'sadd' ? 'set' : t);
    }
    for (const op of ops) this.apply(op);
    this.notify(ops.map((o) => o.key));
  }

  async scan(pattern: string): Promise<string[]> {
    const re = globToRegExp(pattern);
    // Like Redis, an expired key is gone: never listed.
    return [...this.data.keys()].filter((k) => re.test(k) && this.live(k) !== undefined);
  }

  watch(key: string, listener: KeyListener): Unwatch {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    const stop = () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(key);
    };
    // Writes are announced synchronously: armed at once.
    return Object.assign(stop, { armed: Promise.resolve() });
  }

  keyspaceStatus(): KeyspaceStatus {
    return { enabled: true };
  }

  async ping(): Promise<void> {}

  onReconnect(): void {}

  async close(): Promise<void> {
    this.listeners.clear();
    this.channels.clear();
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.apply({ op: 'set', key, value: owner });
    this.expiries.set(key, this.now() + ttlMs);
    return true;
  }

  async renew(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if ((await this.get(key)) !== owner) return false;
    this.expiries.set(key, this.now() + ttlMs);
    return true;
  }

  async renewMany(keys: string[], owner: string, ttlMs: number): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.renew(key, owner, ttlMs)));
  }

  async release(key: string, owner: string): Promise<boolean> {
    if ((await this.get(key)) !== owner) return false;
    this.apply({ op: 'del', key });
    return true;
  }

  async execIf(guard: { key: string; value: string }, ops: StoreOp[]): Promise<boolean> {
    if ((await this.get(guard.key)) !== guard.value) return false;
    await this.exec(ops);
    return true;
  }

  async appendCapped(key: string, value: string, opts: { maxLen: number; minTime: number }): Promise<void> {
    let v = this.data.get(key);
    if (!v) this.data.set(key, (v = { type: 'stream', value: [] }));
    if (v.type !== 'stream') throw wrongType(key, v.type, 'a stream');
    // Entry times never go back, as Redis stream ids do not.
    const at = Math.max(this.now(), v.value.at(-1)?.at ?? 0);
    v.value.push({ at, value });
    let drop = Math.max(0, v.value.length - opts.maxLen);
    while (drop < v.value.length - 1 && v.value[drop]!.at < opts.minTime) drop++;
    if (drop > 0) v.value.splice(0, drop);
  }

  async readSince(key: string, since: number, count: number): Promise<Array<{ at: number; value: string }>> {
    const v = this.data.get(key);
    if (!v) return [];
    if (v.type !== 'stream') throw wrongType(key, v.type, 'a stream');
    return v.value.filter((e) => e.at >= since).slice(0, count);
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    return keys.map((k) => {
      const v = this.live(k);
      return v?.type === 'string' ? v.value.toString('utf8') : null;
    });
  }

  async setWithTtl(key: string, value: string, ttlMs: number): Promise<void> {
    this.apply({ op: 'set', key, value });
    this.expiries.set(key, this.now() + ttlMs);
  }

  async heartbeat(key: string, member: string, score: number, minScore: number): Promise<string[]> {
    let v = this.data.get(key);
    if (!v) this.data.set(key, (v = { type: 'zset', value: new Map() }));
    if (v.type !== 'zset') throw wrongType(key, v.type, 'a sorted set');
    v.value.set(member, score);
    for (const [m, sc] of v.value) if (sc < minScore) v.value.delete(m);
    return [...v.value.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([m]) => m);
  }

  async forget(key: string, member: string): Promise<void> {
    const v = this.data.get(key);
    if (v?.type === 'zset') v.value.delete(member);
  }

  async publish(channel: string, message: string): Promise<void> {
    const set = this.channels.get(channel);
    if (set) for (const l of [...set]) queueMicrotask(() => l(message));
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }

  /** The value, unless it has expired (then it is removed, as Redis would). */
  private live(key: string): Value | undefined {
    const at = this.expiries.get(key);
    if (at !== undefined && at <= this.now()) {
      this.expiries.delete(key);
      this.data.delete(key);
      return undefined;
    }
    return this.data.get(key);
  }

  private string(key: string): Buffer | null {
    const v = this.live(key);
    if (!v) return null;
    if (v.type !== 'string') throw wrongType(key, v.type, 'a string');
    return v.value;
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'set':
        this.data.set(op.key, { type: 'string', value: Buffer.from(op.value) });
        this.expiries.delete(op.key);
        break;
      case 'del':
        this.data.delete(op.key);
        this.expiries.delete(op.key);
        break;
      case 'sadd': {
        const v = this.data.get(op.key);
        if (v?.type === 'set') v.value.add(op.member);
        else this.data.set(op.key, { type: 'set', value: new Set([op.member]) });
        break;
      }
      case 'srem': {
        const v = this.data.get(op.key);
        if (v?.type === 'set') {
          v.value.delete(op.member);
          if (v.value.size === 0) this.data.delete(op.key);
        }
        break;
      }
    }
  }

  private notify(keys: string[]): void {
    // Asynchronously, like a pub/sub message: a listener never runs inside the writer's call.
    for (const key of new Set(keys)) {
      const set = this.listeners.get(key);
      if (set) for (const l of [...set]) queueMicrotask(() => l(key));
    }
  }
}

export function wrongType(key: string, actual: string, expected: string): RedletError {
  return new RedletError('INPUT_WRONG_TYPE', `key '${key}' holds a Redis ${actual}, expected ${expected}`);
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
