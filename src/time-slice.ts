/**
 * A long loop in the main process (a cluster round over every function, publishing
 * their statuses, renewing their leases) gives the event loop back every few
 * milliseconds, so the poll timers and invocations due meanwhile are not held up
 * behind it. With 5,000 functions a round ran 40-50 ms in one piece, and every tick
 * due during it was that much late.
 *
 * @example
 * const slice = new TimeSlice();
 * for (const name of names) {
 *   work(name);
 *   if (slice.due()) await slice.yield();
 * }
 */

/** How long a loop runs before it lets pending I/O and timers go first. */
export const SLICE_MS = 4;
/** The clock is read once per this many steps: a step is usually far under a microsecond. */
const CHECK_EVERY = 64;

export class TimeSlice {
  private started = performance.now();
  private steps = 0;

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** True when this slice has run for its budget: yield before the next step. */
  due(): boolean {
    this.steps += 1;
    if (this.steps % CHECK_EVERY !== 0) return false;
    return performance.now() - this.started >= this.budgetMs;
  }

  /** Lets timers and I/O run (the next turn of the event loop), then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
    this.steps = 0;
  }
}
