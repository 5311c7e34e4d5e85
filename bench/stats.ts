/**
 * Small statistics and formatting helpers shared by the benchmark items: percentiles
 * (nearest rank on a sorted copy), summaries in µs or ms, and number formatting for
 * the results table.
 *
 * @example
 * const s = summarize([1.2, 0.9, 3.4]); // { n: 3, median: 1.2, p99: 3.4, ... }
 * fmt(s.median, 'ms'); // '1.20 ms'
 */

/** The p-th percentile (0..100) of `xs`, nearest rank; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);
export const p99 = (xs: readonly number[]): number => percentile(xs, 99);

export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Median, p99, min, max and mean of `xs`, rounded to 3 decimals for the JSON file. */
export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  const r = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);
  if (n === 0) return { n, median: NaN, p99: NaN, min: NaN, max: NaN, mean: NaN };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  return { n, median: r(median(xs)), p99: r(p99(xs)), min: r(min), max: r(max), mean: r(sum / n) };
}

/** A number with a unit, with as many decimals as its size deserves. */
export function fmt(v: number, unit = ''): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  const text = v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

/** `12.3x` */
export function ratio(v: number, base: number): string {
  return `${fmt(v / base)}x`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, everyMs = 5): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
