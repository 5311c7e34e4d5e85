/** @jsxImportSource hono/jsx */
/**
 * The functions panel: one row per function with its origin, trigger, state,
 * counters, durations and heap. The table body polls `/ui/functions` and is also
 * refreshed at once when a page action announces `functions-changed`. Clicking a row
 * opens its detail.
 *
 * @example
 * <FunctionsPanel views={await runtime.list()} now={Date.now()} />
 */
import { Meter } from './charts.js';
import { formatAgo, formatBytes, formatDuration, formatPeriod } from './format.js';
import type { FunctionDefinition } from '../src/function-definition.js';
import type { FunctionState } from '../src/function-status.js';
import type { FunctionView } from '../src/runtime.js';

export const REFRESH = 'every 3s';

export function FunctionsPanel(p: { views: FunctionView[]; now: number }) {
  return (
    <>
      <div class="panel-head">
        <h2>Functions</h2>
        <span class="meta">click a function for its detail</span>
      </div>
      <table class="functions">
        <thead>
          <tr>
            <th>Function</th>
            <th>Trigger</th>
            <th>State</th>
            <th class="num">Invocations</th>
            <th class="num">Errors</th>
            <th>Last run</th>
            <th class="num">Last</th>
            <th class="num">p50 / p99</th>
            <th>Heap</th>
          </tr>
        </thead>
        <tbody id="function-rows" hx-get="/ui/functions" hx-trigger={`${REFRESH}, functions-changed from:body`} hx-swap="innerHTML">
          <FunctionRows views={p.views} now={p.now} />
        </tbody>
      </table>
    </>
  );
}

/** The table body: a row per function, or a line saying there are none. */
export function FunctionRows(p: { views: FunctionView[]; now: number }) {
  if (p.views.length === 0) {
    return (
      <tr>
        <td colspan={9} class="notice">
          No functions yet. Register one with the form below or through the API.
        </td>
      </tr>
    );
  }
  return (
    <>
      {p.views.map((v) => (
        <FunctionRow view={v} now={p.now} />
      ))}
    </>
  );
}

export function FunctionRow(p: { view: FunctionView; now: number }) {
  const { definition: d, status: s, sandbox } = p.view;
  return (
    <tr id={`row-${d.name}`} data-name={d.name} hx-get={`/ui/functions/${d.name}`} hx-target="#detail" hx-swap="innerHTML" hx-trigger="click">
      <td data-label="Function">
        <button type="button" class="fn-name">
          {d.name}
        </button>{' '}
        <span class="origin" title={d.origin === 'api' ? 'registered through the API or this page' : 'declared by configuration'}>
          {d.origin === 'api' ? 'API' : 'config'}
        </span>
      </td>
      <td data-label="Trigger">{triggerText(d)}</td>
      <td data-label="State">
        <StateBadge state={s.state} detail={s.detail} />
      </td>
      <td data-label="Invocations" class="num">
        {String(s.invocations)}
      </td>
      <td data-label="Errors" class="num">
        {String(s.errors)}
      </td>
      <td data-label="Last run">{formatAgo(s.lastRunAt, p.now)}</td>
      <td data-label="Last duration" class="num">
        {formatDuration(s.lastDurationMs)}
      </td>
      <td data-label="p50 / p99" class="num">
        {formatDuration(s.p50Ms)} / {formatDuration(s.p99Ms)}
      </td>
      <td data-label="Heap">
        {sandbox ? (
          <div>
            <span>
              {formatBytes(sandbox.heapUsedBytes)} / {formatBytes(sandbox.heapLimitBytes)}
            </span>
            <Meter value={sandbox.heapUsedBytes} max={sandbox.heapLimitBytes} label={`heap used: ${formatBytes(sandbox.heapUsedBytes)} of ${formatBytes(sandbox.heapLimitBytes)}`} />
          </div>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}

/** `keyspace · on write to 'metrics'` / `poll · every 5 s`. */
export function triggerText(d: Pick<FunctionDefinition, 'trigger' | 'period' | 'inputKey' | 'invokeOn'>): string {
  if (d.trigger === 'keyspace') {
    return d.invokeOn === 'change' ? `keyspace · on write (checks every ${formatPeriod(d.period)})` : 'keyspace · on every write';
  }
  return `poll · every ${formatPeriod(d.period)}${d.invokeOn === 'always' ? ', always' : ''}`;
}

export function StateBadge(p: { state: FunctionState; detail: string | null }) {
  return (
    <span class={`badge state-${p.state}`} title={p.detail ?? p.state}>
      {p.state}
    </span>
  );
}
