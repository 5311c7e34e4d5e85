/**
 * The functions a runtime holds: one entry per name with its runner, its code and
 * whether it runs on this replica, plus a per-name lock that serializes every change
 * to one function (register, update, delete, pause, take-over, hand-over, refresh).
 * The lock lives beside the entries, not in them: a registration holds it before
 * its entry exists. Every way a function leaves this process (deleted here, deleted
 * by another replica) goes through `delete`, which tells the `onRemoved` listeners.
 *
 * @example
 * const entries = new FunctionEntries(log);
 * entries.onRemoved((name) => metrics.forget(name));
 * await entries.exclusive('avg', async () => entries.set('avg', { runner, source, active: false }));
 * entries.require('avg').runner.def.inputKey;
 */
import type { FunctionSource } from '../../sandbox/types.js';
import { RedletError } from '../errors.js';
import type { FunctionRunner } from '../function-runner.js';
import type { Logger } from '../logger.js';
import { Listeners } from './listeners.js';

/** One function as this process holds it. */
export interface FunctionEntry {
  runner: FunctionRunner;
  /** Its code, kept to reload it (update, take-over, a dry run for another replica). */
  source: FunctionSource;
  /** With a cluster: this replica holds the function's lease and runs it. Always false without one. */
  active: boolean;
}

export class FunctionEntries {
  private readonly byName = new Map<string, FunctionEntry>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly removed: Listeners<string>;

  constructor(log: Logger) {
    this.removed = new Listeners(log, 'a removal listener failed');
  }

  get(name: string): FunctionEntry | undefined {
    return this.byName.get(name);
  }

  /** The entry of `name`; 404 `FUNCTION_NOT_FOUND` when there is none. */
  require(name: string): FunctionEntry {
    const entry = this.byName.get(name);
    if (!entry) throw new RedletError('FUNCTION_NOT_FOUND', `no function named '${name}'`);
    return entry;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  set(name: string, entry: FunctionEntry): void {
    this.byName.set(name, entry);
  }

  /** Removes the function from this process; the `onRemoved` listeners hear of it. */
  delete(name: string): void {
    if (this.byName.delete(name)) this.removed.emit(name);
  }

  /** Calls `listener` with the name of every function removed; returns the unsubscribe function. */
  onRemoved(listener: (name: string) => void): () => void {
    return this.removed.add(listener);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every name, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every entry with its name, in insertion order. */
  all(): IterableIterator<[string, FunctionEntry]> {
    return this.byName.entries();
  }

  /** Runs `fn` after every change to `name` queued before it (whatever their outcome). */
  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }
  }
}
