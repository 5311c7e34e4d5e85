/**
 * Fires every `periodMs` on a fixed schedule (start + k * period), not "sleep after
 * the work" as the course runtime did, so the period does not drift with the
 * handler's duration. A tick that could not fire within its period is counted as
 * missed instead of being fired late in a burst.
 *
 * @example
 * const t = new PollTrigger(5000, { fire: () => runner.tick('poll') });
 * t.start();
 */
import type { Trigger, TriggerHooks } from './trigger.js';

export class PollTrigger implements Trigger {
  private timer: NodeJS.Timeout | null = null;
  private origin = 0;
  private k = 0;

  constructor(
    private readonly periodMs: number,
    private readonly hooks: TriggerHooks,
    /** Delay of the first tick; 0 looks at the input at once. */
    private readonly firstDelayMs = 0,
  ) {}

  start(): void {
    if (this.timer) return;
    this.origin = performance.now() + this.firstDelayMs;
    this.k = 0;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const due = this.origin + this.k * this.periodMs;
    this.timer = setTimeout(() => this.onTimer(due), Math.max(0, due - performance.now()));
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
