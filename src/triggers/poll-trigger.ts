/**
 * Fires every `periodMs` on a fixed schedule (start + k * period), not "sleep after
 * the work" as the course runtime did, so the period does not drift with the
 * handler's duration. A tick that could not fire within its period is counted as
 * missed instead of being fired late in a burst. Triggers share one timer (PollClock),
 * so functions due in the same few milliseconds are looked at together.
 *
 * @example
 * const t = new PollTrigger(5000, { fire: () => void runner.tick() });
 * t.start();
 */
import { sharedPollClock, type PollClock } from './poll-clock.js';
import type { Trigger, TriggerHooks } from './trigger.js';

export class PollTrigger implements Trigger {
  private cancel: (() => void) | null = null;
  private origin = 0;
  private k = 0;

  constructor(
    private readonly periodMs: number,
    private readonly hooks: TriggerHooks,
    /** Delay of the first tick; 0 looks at the input at once. */
    private readonly firstDelayMs = 0,
    private readonly clock: PollClock = sharedPollClock,
  ) {}

  start(): void {
    if (this.cancel) return;
    this.origin = performance.now() + this.firstDelayMs;
    this.k = 0;
    this.schedule();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private schedule(): void {
    const due = this.origin + this.k * this.periodMs;
    this.cancel = this.clock.at(due, () => this.onTimer(due));
  }

  private onTimer(due: number): void {
    // Node may run a timer up to a millisecond before performance.now() reaches its due
    // time: early is on time, not a missed tick (a negative count would fire it twice).
    const late = Math.max(0, performance.now() - due);
    this.hooks.lag?.(late);
    const missed = Math.floor(late / this.periodMs);
    if (missed > 0) this.hooks.missed?.(missed);
    this.k += 1 + missed;
    this.schedule();
    this.hooks.fire(this.k === 1 ? 'start' : 'poll');
  }
}
