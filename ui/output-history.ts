/**
 * The recent numeric output of every function, for the dashboard's charts. It listens
 * to the runtime's completed invocations and keeps, per function, the top-level
 * numeric fields of each output over the last `windowMs`. Everything is bounded: at
 * most `maxPoints` points per function (outputs closer together than
 * windowMs / maxPoints overwrite the newest point, so the window always spans its full
 * length), at most `maxFields` fields per function, and outputs longer than
 * `maxOutputChars` are not parsed at all.
 *
 * @example
 * const history = new OutputHistory();
 * const stop = history.attach(runtime);
 * history.series('course-reference')?.fields[0]; // { key: 'percent-network-egress', values: [...] }
 */
import type { Runtime } from '../src/runtime/runtime.js';

/** What a chart history follows of the runtime: completed invocations and removed functions. */
export type RuntimeEvents = Pick<Runtime, 'onInvocation' | 'onRemoved'>;

/**
 * Keeps `history` in step with the runtime: every output recorded, every function the
 * runtime removes (however it was deleted) forgotten. Returns the unsubscribe function.
 */
export function follow(
  runtime: RuntimeEvents,
  history: { record(name: string, output: string | null, at: number): unknown; forget(name: string): void },
): () => void {
  const stops = [
    runtime.onInvocation((e) => void history.record(e.name, e.output, e.at)),
    runtime.onRemoved((name) => history.forget(name)),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

export interface OutputHistoryOptions {
  /** How far back the charts reach, in ms (default 10 minutes). */
  windowMs?: number;
  /** Points kept per function (default 600: one per second over 10 minutes). */
  maxPoints?: number;
  /** Numeric fields kept per function; later fields are counted, not stored (default 32). */
  maxFields?: number;
  /** Outputs longer than this are not parsed (default 256 KiB). */
  maxOutputChars?: number;
}

/** One field over time: `values[i]` belongs to `times[i]`; null where the output lacked it. */
export interface FieldSeries {
  key: string;
  values: Array<number | null>;
}

/** A copy of one function's history, oldest point first. */
export interface Series {
  times: number[];
  fields: FieldSeries[];
  /** Numeric fields seen but not kept (past `maxFields`). */
  droppedFields: number;
}

interface Ring {
  times: number[];
  fields: Map<string, Array<number | null>>;
  dropped: Set<string>;
}

/** Keep at most this many names of dropped fields (only their count is shown). */
const MAX_DROPPED_NAMES = 256;

export class OutputHistory {
  readonly windowMs: number;
  readonly maxPoints: number;
  readonly maxFields: number;
  readonly maxOutputChars: number;
  private readonly rings = new Map<string, Ring>();

  constructor(opts: OutputHistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.maxPoints = opts.maxPoints ?? 600;
    this.maxFields = opts.maxFields ?? 32;
    this.maxOutputChars = opts.maxOutputChars ?? 256 * 1024;
  }

  /** Follows the runtime's invocations and removals (see `follow`); returns the unsubscribe function. */
  attach(runtime: RuntimeEvents): () => void {
    return follow(runtime, this);
  }

  /** Adds one output (JSON text) produced at `at` (epoch ms). Non-numeric outputs add nothing. */
  record(name: string, output: string | null, at: number): void {
    if (output === null || output.length > this.maxOutputChars) return;
    const numbers = numericFields(output);
    if (numbers.size === 0) return;
    let ring = this.rings.get(name);
    if (!ring) this.rings.set(name, (ring = { times: [], fields: new Map(), dropped: new Set() }));

    const last = ring.times.length - 1;
    const minSpacing = this.windowMs / this.maxPoints;
    // Faster than one point per slot (or a clock step back): the newest point takes the
    // newest values, and times stay in order.
    const overwrite = last >= 0 && at - ring.times[last]! < minSpacing;
    if (overwrite) ring.times[last] = Math.max(at, ring.times[last]!);
    else ring.times.push(at);
    const index = ring.times.length - 1;

    for (const [key, v] of numbers) {
      let values = ring.fields.get(key);
      if (!values) {
        if (ring.fields.size >= this.maxFields) {
          if (ring.dropped.size < MAX_DROPPED_NAMES) ring.dropped.add(key);
          continue;
        }
        values = new Array<number | null>(index).fill(null);
        ring.fields.set(key, values);
      }
      values[index] = v;
    }
    // Fields missing from this output get a gap, so every array stays aligned with `times`.
    for (const [key, values] of ring.fields) if (!numbers.has(key)) values[index] = null;
    this.trim(ring, at);
  }

  /** A copy of the history of `name`, or null when it produced no numeric output yet. */
  series(name: string): Series | null {
    const ring = this.rings.get(name);
    if (!ring || ring.times.length === 0) return null;
    return {
      times: ring.times.slice(),
      fields: [...ring.fields].map(([key, values]) => ({ key, values: values.slice() })),
      droppedFields: ring.dropped.size,
    };
  }

  /** Forgets a function (deleted). */
  forget(name: string): void {
    this.rings.delete(name);
  }

  private trim(ring: Ring, now: number): void {
    let drop = 0;
    while (drop < ring.times.length && ring.times[drop]! < now - this.windowMs) drop++;
    drop = Math.max(drop, ring.times.length - this.maxPoints);
    if (drop <= 0) return;
    ring.times.splice(0, drop);
    for (const [key, values] of ring.fields) {
      values.splice(0, drop);
      // A field that no longer appears in the window frees its slot.
      if (values.every((v) => v === null)) ring.fields.delete(key);
    }
  }
}

/** The finite top-level numbers of a JSON output; a bare number counts as the field `value`. */
export function numericFields(output: string): Map<string, number> {
  const found = new Map<string, number>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return found;
  }
  if (typeof parsed === 'number' && Number.isFinite(parsed)) {
    found.set('value', parsed);
  } else if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    for (const [key, v] of Object.entries(parsed)) if (typeof v === 'number' && Number.isFinite(v)) found.set(key, v);
  }
  return found;
}
