/**
 * Listeners of one kind of runtime event (an invocation completed, a function removed).
 * A listener that throws is logged and the others still hear the event: a page's or a
 * metric's bug must not stop a function or a deletion.
 *
 * @example
 * const removed = new Listeners<string>(log, 'a removal listener failed');
 * const stop = removed.add((name) => metrics.forget(name));
 * removed.emit('avg');
 * stop();
 */
import type { Logger } from '../logger.js';

export class Listeners<T> {
  private readonly listeners = new Set<(event: T) => void>();

  constructor(
    private readonly log: Logger,
    private readonly failure: string,
  ) {}

  /** Adds `listener`; returns the function that removes it. */
  add(listener: (event: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error({ err }, this.failure);
      }
    }
  }
}
