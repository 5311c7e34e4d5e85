/**
 * Fires as soon as the input key is written, through the store's keyspace
 * notifications. Pub/sub is lossy (a reconnect, a server restart), so with change
 * detection it also polls at the function's period as a safety net: a missed
 * notification delays a run, it never loses one.
 *
 * @example
 * const t = new KeyspaceTrigger(store, 'metrics', 5000, true, { fire: () => void runner.tick() });
 * await t.start(); // armed: no write from here on goes unnoticed
 */
import type { Store, Unwatch } from '../store/store.js';
import { PollTrigger } from './poll-trigger.js';
import type { Trigger, TriggerHooks } from './trigger.js';

/** How often the trigger looks whether keyspace notifications were refused. */
const CHECK_MS = 1000;
const NOT_YET = 'no key is watched yet';
const ARM_WAIT_MS = 10_000;

export class KeyspaceTrigger implements Trigger {
  private unwatch: Unwatch | null = null;
  private readonly safety: PollTrigger | null;
  /** Polls at the period while notifications are refused (when there is no safety poll). */
  private readonly fallbackPoll: PollTrigger;
  private check: NodeJS.Timeout | null = null;
  private refused: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    safetyPeriodMs: number,
    withSafetyPoll: boolean,
    private readonly hooks: TriggerHooks,
  ) {
    this.safety = withSafetyPoll ? new PollTrigger(safetyPeriodMs, { fire: () => hooks.fire('poll') }, safetyPeriodMs) : null;
    this.fallbackPoll = new PollTrigger(safetyPeriodMs, { fire: () => hooks.fire('poll') }, safetyPeriodMs);
  }

  /** Notices a refused CONFIG SET (or its end): tells the runner and polls meanwhile. */
  private look(): void {
    const s = this.store.keyspaceStatus();
    const reason = s.enabled || !s.reason || s.reason === NOT_YET ? null : s.reason;
    if (reason === this.refused) return;
    this.refused = reason;
    if (!this.safety) {
      if (reason) this.fallbackPoll.start();
      else this.fallbackPoll.stop();
    }
    this.hooks.fallback?.(reason);
  }

  /**
   * Subscribes and waits for the server's confirmation (at most `ARM_WAIT_MS`, so an
   * outage cannot hold a start forever), then reads the key once: a write made before
   * the subscription took effect is picked up by that read, one made after by a
   * notification.
   */
  async start(): Promise<void> {
    if (this.unwatch) return;
    const unwatch = this.store.watch(this.key, () => this.hooks.fire('keyspace'));
    this.unwatch = unwatch;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([unwatch.armed, new Promise<void>((r) => (timer = setTimeout(r, ARM_WAIT_MS)))]);
    clearTimeout(timer);
    if (this.unwatch !== unwatch) return; // stopped meanwhile
    this.safety?.start();
    this.check = setInterval(() => this.look(), CHECK_MS);
    this.check.unref();
    // Whatever the key holds now was written before we listened.
    this.hooks.fire('start');
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.safety?.stop();
    this.fallbackPoll.stop();
    if (this.check) clearInterval(this.check);
    this.check = null;
  }
}
