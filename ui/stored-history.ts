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
import { follow, numericFields, OutputHistory, type OutputHistoryOptions, type RuntimeEvents, type Series } from './output-history.js';
import type { Store } from '../src/store/store.js';

/** What the pages need of a chart history (StoredHistory, or OutputHistory in memory). */
export interface ChartHistory {
  readonly windowMs: number;
  /** Follows the runtime's invocations and removals; returns the unsubscribe function. */
  attach(runtime: RuntimeEvents): () => void;
  series(name: string): Series | null | Promise<Series | null>;
}

export class StoredHistory implements ChartHistory {
  private readonly shape: OutputHistory;
  /** Per function: when its last point was written, and the newest output waiting for the next slot. */
  private readonly slots = new Map<
    string,
    { lastAt: number; pending: { output: string; at: number } | null; timer: NodeJS.Timeout | null }
  >();

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

  attach(runtime: RuntimeEvents): () => void {
    return follow(runtime, this);
  }

  /**
   * Appends an output's numeric fields; Redis being down loses the point, nothing else.
   * A chart holds one point per windowMs / maxPoints (1 s by default): outputs closer
   * together than that are not each written (a function running thousands of times a
   * second would write as often); the newest of them is written when its slot ends.
   */
  async record(name: string, output: string | null, at: number): Promise<void> {
    if (output === null || output.length > this.shape.maxOutputChars || !mayHoldNumbers(output)) return;
    const slot = this.slots.get(name);
    const spacing = this.windowMs / this.shape.maxPoints;
    if (slot && at - slot.lastAt < spacing) {
      slot.pending = { output, at };
      slot.timer ??= setTimeout(() => void this.flushOne(name), Math.max(0, slot.lastAt + spacing - at));
      slot.timer.unref?.();
      return;
    }
    await this.write(name, output, at);
  }

  /** Writes the outputs still waiting for the end of their slot (at shutdown; in tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((name) => this.flushOne(name)));
  }

  private async flushOne(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const pending = slot.pending;
    slot.pending = null;
    if (pending) await this.write(name, pending.output, pending.at);
  }

  private async write(name: string, output: string, at: number): Promise<void> {
    const numbers = numericFields(output);
    if (numbers.size === 0) return;
    const slot = this.slots.get(name);
    if (slot) slot.lastAt = at;
    else this.slots.set(name, { lastAt: at, pending: null, timer: null });
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

  /**
   * The runtime deletes the stream with the function; what waits for its slot goes too,
   * so no late write brings the stream back.
   */
  forget(name: string): void {
    const slot = this.slots.get(name);
    if (slot?.timer) clearTimeout(slot.timer);
    this.slots.delete(name);
  }
}

/** Only a JSON object or a bare number can add a point; other outputs are not even parsed. */
function mayHoldNumbers(output: string): boolean {
  const c = output.trimStart()[0];
  return c === '{' || c === '-' || (c !== undefined && c >= '0' && c <= '9');
}
