/**
 * Whether a function's calls take the synchronous fast path (isolated-vm's `applySync`,
 * which skips the thread-pool round trip of an asynchronous call). A new function is on
 * probation: it earns the fast path with FAST_AGAIN_AFTER runs in a row, each no longer
 * than FAST_MAX_MS, on the asynchronous path; a longer run on the fast path loses it, and
 * so does a run stopped at the fast path's budget (each runtime sets its own budget).
 * JavaScript and Python functions follow this one policy.
 *
 * @example
 * const path = new FastPath();
 * if (path.fast) { ...applySync...; path.ranFast(ms); } else { ...apply...; path.ranSlow(ms, ok); }
 */
const FAST_MAX_MS = 2;
const FAST_AGAIN_AFTER = 8;

export class FastPath {
  /** Take the synchronous path on the next call. */
  fast = false;
  /** Consecutive short runs on the slow path. */
  private shortRuns = 0;

  /** After a run on the fast path: one longer than FAST_MAX_MS goes back to the slow path. */
  ranFast(durationMs: number): void {
    if (durationMs > FAST_MAX_MS) this.fast = false;
  }

  /** After a run on the slow path: enough short, successful ones in a row earn the fast path. */
  ranSlow(durationMs: number, ok: boolean): void {
    this.shortRuns = ok && durationMs <= FAST_MAX_MS ? this.shortRuns + 1 : 0;
    if (this.shortRuns >= FAST_AGAIN_AFTER) this.fast = true;
  }

  /** A run outlasted the fast path's budget: back on probation. */
  demote(): void {
    this.fast = false;
    this.shortRuns = 0;
  }
}

/**
 * How long a call on the slow path ran in its isolate, from the isolate's wall clock
 * taken before it (`before`): not the time it waited for a thread. With a hundred
 * functions called at once every call waits, and counting that wait kept all of them
 * off the fast path for good (measured: 0 of 100 earned it; a third of the rate).
 * `elapsedMs` stands in when the isolate is gone.
 *
 * @example
 * const before = isolate.wallTime;
 * const result = await callAsync();
 * path.ranSlow(isolateRunMs(isolate, before, result.durationMs), result.ok);
 */
export function isolateRunMs(
  isolate: { readonly wallTime: bigint; readonly isDisposed: boolean },
  before: bigint,
  elapsedMs: number,
): number {
  return isolate.isDisposed ? elapsedMs : Number(isolate.wallTime - before) / 1e6;
}
