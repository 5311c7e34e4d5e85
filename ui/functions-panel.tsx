/** @jsxImportSource hono/jsx */
/**
 * The functions panel: one row per function with its origin, trigger, state,
 * counters, durations and heap, filtered by name and cut in pages of PAGE_SIZE so the
 * partial polled every 3 s stays small with a thousand functions. The list polls
 * `/ui/functions?q=&page=` and is also refreshed at once when a page action announces
 * `functions-changed`. Clicking a row opens its detail.
 *
 * @example
 * <FunctionsPanel views={views} now={Date.now()} list={pageOf(runtime.names(), query)} query={query} />
 */
import { Meter } from './charts.js';
import { formatAgo, formatBytes, formatDuration, formatPeriod } from './format.js';
import type { FunctionDefinition } from '../src/function-definition.js';
import type { FunctionState } from '../src/function-status.js';
import type { FunctionView } from '../src/runtime/runtime.js';

export const REFRESH = 'every 3s';

/** Rows per page: the polled partial stays small however many functions there are. */
export const PAGE_SIZE = 25;

/** What the table shows: a name filter and a page (1-based). */
export interface ListQuery {
  q: string;
  page: number;
}

/** The functions on one page of a filtered list, and where that page is. */
export interface ListPage {
  names: string[];
  matching: number;
  total: number;
  page: number;
  pages: number;
}

/**
 * Filters names (case-insensitive substring) and cuts one page; a page past the end
 * shows the last one.
 *
 * @example
 * pageOf(['a', 'ab', 'b'], { q: 'a', page: 1 }); // { names: ['a', 'ab'], matching: 2, ... }
 */
export function pageOf(all: readonly string[], query: ListQuery, size = PAGE_SIZE): ListPage {
  const q = query.q.trim().toLowerCase();
  const matching = q ? all.filter((n) => n.toLowerCase().includes(q)) : all;
  const pages = Math.max(1, Math.ceil(matching.length / size));
  const page = Math.min(Math.max(1, Math.floor(query.page) || 1), pages);
  return { names: matching.slice((page - 1) * size, page * size), matching: matching.length, total: all.length, page, pages };
}

/** Reads `?q=` and `?page=` (bounded, so a query cannot grow the answer). */
export function listQuery(q: string | undefined, page: string | undefined): ListQuery {
  return { q: (q ?? '').slice(0, 100), page: Number.parseInt(page ?? '1', 10) || 1 };
}

function listUrl(q: ListQuery): string {
  const params = new URLSearchParams();
  if (q.q) params.set('q', q.q);
  if (q.page > 1) params.set('page', String(q.page));
  const s = params.toString();
  return `/ui/functions${s ? `?${s}` : ''}`;
}

export function FunctionsPanel(p: { views: FunctionView[]; now: number; list: ListPage; query: ListQuery }) {
  return (
    <>
      <div class="panel-head">
        <h2>Functions</h2>
        <span class="meta">click a function for its detail</span>
      </div>
      <form id="fn-filter" class="fn-filter" role="search" action="/" method="get">
        <input
          type="search"
          name="q"
          value={p.query.q}
          placeholder="filter by name"
          aria-label="search functions"
          autocomplete="off"
          hx-get="/ui/functions"
          hx-trigger="input changed delay:300ms, search"
          hx-target="#fn-list"
          hx-swap="outerHTML"
        />
      </form>
      <FunctionList views={p.views} now={p.now} list={p.list} query={p.query} />
    </>
  );
}

/**
 * The polled part: the table and the pager. It carries its own query in its URL, so
 * each refresh keeps the filter and the page it shows (htmx swaps it whole).
 */
export function FunctionList(p: { views: FunctionView[]; now: number; list: ListPage; query: ListQuery }) {
  const { list } = p;
  const query = { q: p.query.q, page: list.page };
  return (
    <div
      id="fn-list"
      hx-get={listUrl(query)}
      hx-trigger={`${REFRESH}, functions-changed from:body`}
      hx-swap="outerHTML"
      data-matching={String(list.matching)}
      data-page={String(list.page)}
    >
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
        <tbody id="function-rows">
          {list.total > 0 && list.matching === 0 ? (
            <tr>
              <td colspan={9} class="notice">
                No function name contains “{query.q}”.
              </td>
            </tr>
          ) : (
            <FunctionRows views={p.views} now={p.now} />
          )}
        </tbody>
      </table>
      {list.pages > 1 || query.q ? (
        <nav class="pager" aria-label="pages of functions">
          <span class="meta">
            {list.matching === list.total ? `${list.total} functions` : `${list.matching} of ${list.total} functions`}
            {list.pages > 1 ? ` · page ${list.page} of ${list.pages}` : ''}
          </span>
          {list.pages > 1 ? (
            <span class="actions">
              <button
                type="button"
                hx-get={listUrl({ ...query, page: list.page - 1 })}
                hx-target="#fn-list"
                hx-swap="outerHTML"
                disabled={list.page <= 1}
                rel="prev"
              >
                ‹ Previous
              </button>
              <button
                type="button"
                hx-get={listUrl({ ...query, page: list.page + 1 })}
                hx-target="#fn-list"
                hx-swap="outerHTML"
                disabled={list.page >= list.pages}
                rel="next"
              >
                Next ›
              </button>
            </span>
          ) : null}
        </nav>
      ) : null}
    </div>
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
    <tr
      id={`row-${d.name}`}
      data-name={d.name}
      hx-get={`/ui/functions/${d.name}`}
      hx-target="#detail"
      hx-swap="innerHTML"
      hx-trigger="click"
    >
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
            <Meter
              value={sandbox.heapUsedBytes}
              max={sandbox.heapLimitBytes}
              label={`heap used: ${formatBytes(sandbox.heapUsedBytes)} of ${formatBytes(sandbox.heapLimitBytes)}`}
            />
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
