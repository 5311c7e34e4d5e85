/** @jsxImportSource hono/jsx */
/**
 * The metrics panel: the course reference function's output (Task 2) as charts read
 * at a glance. A time series per value over the history redlet keeps, a bar per CPU
 * for the 60-second averages, when the data was produced, and a warning when it is
 * stale. Which function it shows is configurable (REDLET_DASHBOARD_FUNCTION); output
 * fields it does not know are charted under their own names.
 *
 * @example
 * <MetricsPanel name="course-reference" view={view} series={history.series('course-reference')} now={Date.now()} windowMs={600_000} />
 */
import type { Child } from 'hono/jsx';
import { Bars, TimeSeries, type BarItem } from './charts.js';
import { formatAgo, formatClock, formatDuration } from './format.js';
import { numericFields, type Series } from './output-history.js';
import type { FunctionView } from '../src/runtime/runtime.js';

export interface MetricsPanelProps {
  /** The function whose output is shown. */
  name: string;
  /** null: no function by that name. */
  view: FunctionView | null;
  series: Series | null;
  now: number;
  windowMs: number;
}

interface FieldInfo {
  label: string;
  unit: string;
  percent?: boolean;
  /** A fixed y range (CPU charts share 0-100 %, so they compare at a glance). */
  domain?: [number, number];
  /** CPU number when the field is a per-CPU average. */
  cpu?: number;
}

const CPU_FIELD = /^avg-util-cpu(\d+)-60sec$/;

/** How the panel names and scales an output field. */
export function describeField(key: string): FieldInfo {
  if (key === 'percent-network-egress') return { label: 'Outgoing traffic', unit: '%', percent: true };
  if (key === 'percent-memory-cache') return { label: 'Memory cache', unit: '%', percent: true };
  const cpu = CPU_FIELD.exec(key);
  if (cpu) return { label: `CPU ${cpu[1]} · 60 s avg`, unit: '%', percent: true, cpu: Number(cpu[1]), domain: [0, 100] };
  if (/percent|util/i.test(key)) return { label: key, unit: '%', percent: true };
  return { label: key, unit: '' };
}

/**
 * When the data counts as stale: after three of its usual intervals (the function's
 * period or the observed spacing of outputs, whichever is longer), and never sooner
 * than 20 s.
 */
export function staleAfterMs(periodSeconds: number, times: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = Math.max(1, times.length - 20); i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
  gaps.sort((a, b) => a - b);
  const typical = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0;
  return Math.max(20_000, 3 * periodSeconds * 1000, 3 * typical);
}

/** Why a function's output stopped coming, in a few words, and a key tests can check. */
export function staleReason(view: FunctionView): { kind: string; text: string } {
  const s = view.status;
  if (view.owner === null) return { kind: 'no-owner', text: 'no replica owns it' };
  if (s.state === 'paused') return { kind: 'paused', text: 'the function is paused' };
  if (s.state === 'error' && s.lastError?.code === 'REDIS_UNAVAILABLE') return { kind: 'redis', text: 'Redis unavailable' };
  if (s.state === 'error')
    return { kind: 'failing', text: `function failing: ${s.detail ?? s.lastError?.message ?? 'see its last error'}` };
  if (s.state === 'waiting') return { kind: 'waiting', text: s.detail ?? 'waiting for input' };
  if (s.unchangedTicks > 0 && view.definition.invokeOn === 'change' && s.lastRunAt !== null) {
    return { kind: 'unchanged', text: `input unchanged since ${formatClock(s.lastRunAt)}` };
  }
  return { kind: 'quiet', text: 'the function has not produced output' };
}

/**
 * `3 s ago`, kept counting by the client script (also when redlet stops answering):
 * it reads the server's time of rendering and the time it counts from.
 */
export function Ago(p: { at: number; now: number }) {
  return (
    <span class="ago" data-ago={String(p.at)} data-now={String(p.now)}>
      {formatAgo(p.at, p.now)}
    </span>
  );
}

export function MetricsPanel(p: MetricsPanelProps) {
  if (!p.view) {
    return (
      <div class="metrics-body" data-state="missing">
        <PanelHead name={p.name} />
        <p class="banner banner-warn">
          No function named <code>{p.name}</code> is registered. This panel shows the output of the function named by
          REDLET_DASHBOARD_FUNCTION.
        </p>
      </div>
    );
  }
  const { definition: def, status } = p.view;
  const lastAt = Math.max(status.lastOutputAt ?? 0, p.series?.times.at(-1) ?? 0) || null;
  const latest = status.lastOutput === null ? new Map<string, number>() : numericFields(status.lastOutput);
  if (lastAt === null || (latest.size === 0 && !p.series)) {
    return (
      <div class="metrics-body" data-state="waiting">
        <PanelHead name={p.name} outputKey={def.outputKey} />
        <p class="banner banner-warn">
          Waiting for the first output of <code>{p.name}</code>
          {status.detail ? `: ${status.detail}` : ` (${status.state})`}.
        </p>
      </div>
    );
  }
  const age = p.now - lastAt;
  const stale = age > staleAfterMs(def.period, p.series?.times ?? []);
  const keys = p.series ? p.series.fields.map((f) => f.key) : [...latest.keys()];
  const cpuBars: BarItem[] = keys
    .map((key) => ({ key, info: describeField(key) }))
    .filter((f) => f.info.cpu !== undefined)
    .sort((a, b) => a.info.cpu! - b.info.cpu!)
    .map((f) => ({ key: f.key, label: `CPU ${f.info.cpu}`, value: latest.get(f.key) ?? null }));

  return (
    <div class="metrics-body" data-state={stale ? 'stale' : 'fresh'}>
      <PanelHead name={p.name} outputKey={def.outputKey}>
        updated at{' '}
        <time id="metrics-updated" datetime={new Date(lastAt).toISOString()}>
          {formatClock(lastAt)}
        </time>{' '}
        (<Ago at={lastAt} now={p.now} />)
      </PanelHead>
      {stale ? (
        <p class="banner banner-warn stale" role="alert" data-reason={staleReason(p.view).kind}>
          Stale: no new output for {formatDuration(age)}: {staleReason(p.view).text}.
        </p>
      ) : null}
      <div class="metrics-grid">
        <div class="charts" id="metric-charts">
          {p.series ? <FieldCharts idPrefix="metric" series={p.series} now={p.now} windowMs={p.windowMs} /> : null}
        </div>
        {cpuBars.length ? (
          <div>
            <h3>CPU utilisation, 60 s average</h3>
            <Bars id="cpu-bars" items={cpuBars} max={100} unit="%" label="CPU utilisation per CPU, 60 second average" />
          </div>
        ) : null}
      </div>
      {p.series && p.series.droppedFields > 0 ? <p class="notice">{p.series.droppedFields} more numeric fields are not charted.</p> : null}
    </div>
  );
}

function PanelHead(p: { name: string; outputKey?: string | null; children?: Child }) {
  return (
    <div class="panel-head">
      <h2>Host metrics</h2>
      <span class="meta">
        output of <code>{p.name}</code>
        {p.outputKey ? (
          <>
            {' '}
            (key <code>{p.outputKey}</code>)
          </>
        ) : null}
        {p.children ? <> · {p.children}</> : null}
      </span>
    </div>
  );
}

/**
 * One chart per numeric output field, each scaled, labelled and given a unit as
 * describeField says; `rawLabels` shows the field names as they are.
 */
export function FieldCharts(p: { idPrefix: string; series: Series; now: number; windowMs: number; rawLabels?: boolean }) {
  return (
    <>
      {p.series.fields.map((f) => {
        const info = describeField(f.key);
        return (
          <TimeSeries
            id={`${p.idPrefix}-${domId(f.key)}`}
            label={p.rawLabels ? f.key : info.label}
            unit={info.unit}
            times={p.series.times}
            values={f.values}
            now={p.now}
            windowMs={p.windowMs}
            percent={info.percent === true}
            {...(info.domain ? { domain: info.domain } : {})}
          />
        );
      })}
    </>
  );
}

/** A stable element id for an output field (ids must not depend on escaping). */
export function domId(key: string): string {
  if (/^[a-z][a-z0-9_-]{0,59}$/.test(key)) return key;
  // Anything else gets a readable part and a hash, so two keys never share an id.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  const safe = key
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, 40);
  return `f-${safe}-${(h >>> 0).toString(36)}`;
}
