/**
 * The charts' history kept in Redis, so it survives a restart and every replica shows
 * the same: one capped stream per function (`<prefix>history:<name>`), one entry per
 * completed invocation holding the output's top-level numeric fields as JSON, trimmed
 * by length (XADD MAXLEN maxPoints) and age (XTRIM MINID now - windowMs). Only the
 * replica running a function sees its invocations, so each output is written once.
 * The embedded store keeps the same stream in memory.
 *
 * Reading builds the series with OutputHistory's rules (aligned fields, bounded points
 * and fields), from the stream instead of from process memory.
 *
 * @example
 * const history = new StoredHistory(runtime.store, (n) => runtime.keys.history(n));
 * history.attach(runtime);
 * await history.series('course-reference');
 */
import { numericFields, OutputHistory, type OutputHistoryOptions, type Series } from './output-history.js';
import type { InvocationEvent } from '../src/function-runner.js';
import type { Store } from '../src/store/store.js';

/** What the pages need of a chart history (StoredHistory, or OutputHistory in memory). */
export interface ChartHistory {
  readonly windowMs: number;
  attach(runtime: { onInvocation(listener: (e: InvocationEvent) => void): () => void; names(): string[] }): () => void;
  series(name: string): Series | null | Promise<Series | null>;
  forget(name: string): void;
  retain(names: Iterable<string>): void;
}

export class StoredHistory implements ChartHistory {
  private readonly shape: OutputHistory;

  constructor(
    private readonly store: Pick<Store, 'appendCapped' | 'readSince'>,
    private readonly keyOf: (name: string) => string,
    opts: OutputHistoryOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.shape = new OutputHistory(opts);
  }

  get windowMs(): number {
    return this.shape.windowMs;
  }

  attach(runtime: { onInvocation(listener: (e: InvocationEvent) => void): () => void }): () => void {
    return runtime.onInvocation((e) => void this.record(e.name, e.output, e.at));
  }

  /** Appends an output's numeric fields; Redis being down loses the point, nothing else. */
  async record(name: string, output: string | null, at: number): Promise<void> {
    if (output === null || output.length > this.shape.maxOutputChars) return;
    const numbers = numericFields(output);
    if (numbers.size === 0) return;
    try {
      await this.store.appendCapped(this.keyOf(name), JSON.stringify(Object.fromEntries(numbers)), {
        maxLen: this.shape.maxPoints,
        minTime: at - this.windowMs,
      });
    } catch {
      // The chart shows a gap; the function's own status reports Redis being down.
    }
  }

  /** The last window of `name`'s outputs, or null when there are none (or Redis is down). */
  async series(name: string): Promise<Series | null> {
    let entries: Array<{ at: number; value: string }>;
    try {
      entries = await this.store.readSince(this.keyOf(name), this.now() - this.windowMs, this.shape.maxPoints * 2);
    } catch {
      return null;
    }
    const h = new OutputHistory({
      windowMs: this.shape.windowMs,
      maxPoints: this.shape.maxPoints,
      maxFields: this.shape.maxFields,
      maxOutputChars: this.shape.maxOutputChars,
    });
    for (const e of entries) h.record(name, e.value, e.at);
    return h.series(name);
  }

  /** The runtime deletes the stream with the function. */
  forget(): void {}

  retain(): void {}
}
