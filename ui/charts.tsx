/** @jsxImportSource hono/jsx */
/**
 * Server-rendered SVG charts: a time series (line and area over a fixed window ending
 * now, so stale data visibly stops short of the right edge), horizontal bars and a
 * small meter. Each refresh swaps the markup; a time series carries its points in data
 * attributes, which the small client script reads to show the value under the pointer
 * (hover, or tap on a phone). The SVGs stretch to their box (`preserveAspectRatio="none"`, strokes kept thin by `non-scaling-stroke`),
 * so all text sits in HTML around them and is never distorted.
 *
 * @example
 * <TimeSeries id="m-cache" label="Memory cache" unit="%" times={t} values={v} now={Date.now()} windowMs={600_000} percent />
 */
import { formatValue } from './format.js';

const W = 300;
const H = 60;

export interface TimeSeriesProps {
  id: string;
  label: string;
  /** Appended to values: `%`, ` ms`, or empty. */
  unit: string;
  times: readonly number[];
  values: ReadonlyArray<number | null>;
  now: number;
  windowMs: number;
  /** Fixed y range; otherwise fitted to the data. */
  domain?: [number, number];
  /** A percentage: the y axis starts at 0 and ends at the next of 1, 2, 5, 10, 25, 50, 100 above the data. */
  percent?: boolean;
}

/** Shortest time span drawn: a young history is not stretched across the whole width. */
export const MIN_SPAN_MS = 30_000;

/**
 * One value over time, with its latest reading. The x axis ends now and starts at the
 * oldest point (at least MIN_SPAN_MS back, at most `windowMs`), so a young history
 * fills the chart and a stale one stops short of the right edge.
 */
export function TimeSeries(p: TimeSeriesProps) {
  const visible: Array<[number, number | null]> = [];
  for (let i = 0; i < p.times.length; i++) if (p.times[i]! >= p.now - p.windowMs) visible.push([p.times[i]!, p.values[i] ?? null]);
  const oldest = visible[0]?.[0] ?? p.now;
  const span = Math.min(p.windowMs, Math.max(MIN_SPAN_MS, p.now - oldest));
  const from = p.now - span;
  const numbers = visible.map(([, v]) => v).filter((v): v is number => v !== null);
  const [lo, hi] = p.domain ?? (p.percent ? [0, percentCeiling(numbers)] : fitDomain(numbers));
  const latest = [...visible].reverse().find(([, v]) => v !== null)?.[1] ?? null;
  const { line, area } = chartPaths(visible, { from, span, lo, hi });
  const spanText = formatSpan(span);
  const summary = `${p.label}: ${latest === null ? 'no data' : `latest ${formatValue(latest)}${p.unit}`}, over the last ${spanText}`;
  const ticks = [hi, (lo + hi) / 2, lo];
  // The points in a compact form for the hover/tap read-out (ui/static/dashboard-client.ts):
  // seconds after `from`, and the values ('' for a gap).
  const pts = visible.filter(([t]) => t >= from);
  return (
    <figure
      class="chart"
      id={p.id}
      data-points={String(numbers.length)}
      data-from={String(from)}
      data-span={String(span)}
      data-lo={String(lo)}
      data-hi={String(hi)}
      data-unit={p.unit}
      data-t={pts.map(([t]) => round((t - from) / 1000)).join(',')}
      data-v={pts.map(([, v]) => (v === null ? '' : String(roundValue(v)))).join(',')}
    >
      <figcaption>
        <span class="chart-label" title={p.label}>
          {p.label}
        </span>
        <span class="chart-value">{latest === null ? '—' : `${formatValue(latest)}${p.unit}`}</span>
      </figcaption>
      <div class="chart-body">
        <div class="y-ticks" aria-hidden="true">
          {ticks.map((t) => (
            <span>{`${formatTick(t)}${p.unit === '%' ? '%' : ''}`}</span>
          ))}
        </div>
        <div class="chart-frame">
          <svg class="chart-plot" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={summary}>
            <line class="grid" x1="0" x2={String(W)} y1="0.5" y2="0.5" vector-effect="non-scaling-stroke" />
            <line class="grid" x1="0" x2={String(W)} y1={String(H / 2)} y2={String(H / 2)} vector-effect="non-scaling-stroke" />
            <line class="grid" x1="0" x2={String(W)} y1={String(H - 0.5)} y2={String(H - 0.5)} vector-effect="non-scaling-stroke" />
            {area ? <path class="area" d={area} /> : null}
            {line ? <path class="line" d={line} vector-effect="non-scaling-stroke" /> : null}
            <line class="cursor" x1="0" x2="0" y1="0" y2={String(H)} vector-effect="non-scaling-stroke" visibility="hidden" />
          </svg>
          <output class="chart-tip" hidden></output>
        </div>
      </div>
      <div class="chart-axis">
        <span>−{spanText}</span>
        <span>now</span>
      </div>
    </figure>
  );
}

/** A tick label: few digits (`100`, `50`, `2.5`, `0.25`). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6 || a < 1e-2) return v.toExponential(0);
  if (a >= 10) return String(Math.round(v));
  return String(Math.round(v * 100) / 100);
}

function roundValue(v: number): number {
  return Number(v.toPrecision(4));
}

export interface BarItem {
  key: string;
  label: string;
  value: number | null;
}

/** One horizontal bar per item on a 0..max scale; bars turn amber at 60 % and red at 85 % of max. */
export function Bars(p: { id: string; items: BarItem[]; max: number; unit: string; label: string }) {
  return (
    <div class="bars" id={p.id} role="list" aria-label={p.label}>
      {p.items.map((item) => {
        const share = item.value === null ? 0 : clamp(item.value / p.max, 0, 1);
        return (
          <div class="bar-row" role="listitem" data-key={item.key}>
            <span class="bar-label">{item.label}</span>
            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              <rect class="bar-track" x="0" y="0" width="100" height="10" />
              <rect class={`bar-fill ${level(share)}`} x="0" y="0" width={(share * 100).toFixed(2)} height="10" />
            </svg>
            <span class="bar-value">{item.value === null ? '—' : `${formatValue(item.value)}${p.unit}`}</span>
          </div>
        );
      })}
    </div>
  );
}

/** A thin usage bar (heap used against its limit). */
export function Meter(p: { value: number; max: number; label: string }) {
  const share = p.max > 0 ? clamp(p.value / p.max, 0, 1) : 0;
  return (
    <svg class="meter" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label={p.label}>
      <rect class="bar-track" x="0" y="0" width="100" height="6" />
      <rect class={`bar-fill ${level(share)}`} x="0" y="0" width={(share * 100).toFixed(2)} height="6" />
    </svg>
  );
}

/**
 * SVG path data for a series: `line` strokes each run of consecutive values, `area`
 * fills under it; a missing value (null) breaks the line. Empty strings when nothing
 * is drawn.
 */
export function chartPaths(
  points: ReadonlyArray<readonly [number, number | null]>,
  scale: { from: number; span: number; lo: number; hi: number },
): { line: string; area: string } {
  const x = (t: number) => round(((t - scale.from) / scale.span) * W);
  const range = scale.hi - scale.lo || 1;
  const y = (v: number) => round(H - ((clamp(v, scale.lo, scale.hi) - scale.lo) / range) * H);
  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  for (const [t, v] of points) {
    if (v === null) {
      if (run.length) runs.push(run);
      run = [];
    } else {
      run.push([x(t), y(v)]);
    }
  }
  if (run.length) runs.push(run);
  let line = '';
  let area = '';
  for (const r of runs) {
    // A lone point becomes a short dash, so it is still seen.
    const pts = r.length === 1 ? [r[0]!, [Math.min(W, r[0]![0] + 2), r[0]![1]] as [number, number]] : r;
    line += `M${pts.map(([px, py]) => `${px},${py}`).join('L')}`;
    area += `M${pts[0]![0]},${H}L${pts.map(([px, py]) => `${px},${py}`).join('L')}L${pts[pts.length - 1]![0]},${H}Z`;
  }
  return { line, area };
}

/** The top of a percentage axis: a round step above the data, so small shares still show. */
export function percentCeiling(values: readonly number[]): number {
  const max = values.length ? Math.max(...values) : 0;
  return [1, 2, 5, 10, 25, 50].find((step) => max * 1.05 <= step) ?? 100;
}

/** A y range around the data, with a little air; [0, 1] when there is none. */
export function fitDomain(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) return lo === 0 ? [0, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  const pad = (hi - lo) * 0.08;
  lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
  hi += pad;
  return [lo, hi];
}

/** `45 s`, `4 min`, `10 min`. */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

function level(share: number): string {
  return share >= 0.85 ? 'level-high' : share >= 0.6 ? 'level-mid' : 'level-ok';
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
