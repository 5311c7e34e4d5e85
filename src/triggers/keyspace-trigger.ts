/**
 * Fires as soon as the input key is written, through the store's keyspace
 * notifications. Pub/sub is lossy (a reconnect, a server restart), so with change
 * detection it also polls at the function's period as a safety net: a missed
 * notification delays a run, it never loses one.
 *
 * @example
 * const t = new KeyspaceTrigger(store, 'metrics', 5000, true, { fire: (r) => runner.tick(r) });
 */
import type { Store } from '../store/store.js';
import { PollTrigger } from './poll-trigger.js';
import type { Trigger, TriggerHooks } from './trigger.js';

export class KeyspaceTrigger implements Trigger {
  private unwatch: (() => void) | null = null;
  private readonly safety: PollTrigger | null;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    safetyPeriodMs: number,
    withSafetyPoll: boolean,
    private readonly hooks: TriggerHooks,
  ) {
    this.safety = withSafetyPoll ? new PollTrigger(safetyPeriodMs, { fire: () => hooks.fire('poll') }, safetyPeriodMs) : null;
  }

  start(): void {
    if (this.unwatch) return;
    this.unwatch = this.store.watch(this.key, () => this.hooks.fire('keyspace'));
    this.safety?.start();
    // Whatever the key holds now was written before we listened.
    this.hooks.fire('start');
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.safety?.stop();
  }
}
