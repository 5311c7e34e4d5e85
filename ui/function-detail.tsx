/** @jsxImportSource hono/jsx */
/**
 * One function in detail, opened from its row: the actions (invoke now, pause or
 * resume, delete), and a live part that polls `/ui/functions/:name/live` with its
 * settings, charts of its numeric output fields, last output, last error with its
 * stack, captured logs and a bounded view of `context.env`. Everything a function
 * produced is rendered as text (JSX escapes it) and cut to a bounded length.
 *
 * @example
 * <FunctionDetail data={detailData} access={access} />
 */
import type { Access } from './access.js';
import { bound, formatAgo, formatBytes, formatDateTime, formatDuration, formatPeriod, prettyJson, type Bounded } from './format.js';
import { StateBadge, triggerText } from './functions-panel.js';
import { FieldCharts } from './metrics-panel.js';
import type { Series } from './output-history.js';
import type { LogLine } from '../sandbox/types.js';
import type { FunctionView } from '../src/runtime/runtime.js';

/** What the detail shows, gathered by the route from the runtime and the history. */
export interface DetailData {
  view: FunctionView;
  series: Series | null;
  logs: LogLine[];
  /** JSON text of context.env. */
  env: string | null;
  /** Why the function may not be deleted from here (runtime.changeRefusal); null when it may. */
  deleteRefused: string | null;
  now: number;
  windowMs: number;
}

export const MAX_OUTPUT_CHARS = 16 * 1024;
export const MAX_ENV_CHARS = 8 * 1024;
export const MAX_LOG_LINES = 100;
const MAX_LOG_CHARS = 2000;

export function FunctionDetail(p: { data: DetailData; access: Access }) {
  const name = p.data.view.definition.name;
  return (
    <article data-function={name} aria-label={`function ${name}`}>
      <div class="panel-head">
        <h2>{name}</h2>
        <span class="meta">{p.data.view.definition.filename}</span>
      </div>
      <div id="detail-actions">
        <FunctionActions view={p.data.view} access={p.access} deleteRefused={p.data.deleteRefused} />
      </div>
      <div id="invoke-result" class="result" aria-live="polite"></div>
      <div id="detail-live" hx-get={`/ui/functions/${name}/live`} hx-trigger="every 3s" hx-swap="innerHTML">
        <FunctionLive data={p.data} />
      </div>
    </article>
  );
}

/**
 * Invoke, pause/resume and delete; a read-only visitor is told how to get them. Delete
 * is disabled, with the runtime's reason, when the runtime refuses it (`deleteRefused`).
 */
export function FunctionActions(p: { view: FunctionView; access: Access; deleteRefused: string | null }) {
  const d = p.view.definition;
  if (!p.access.canWrite) {
    return (
      <p class="notice">
        Read-only: {p.access.tokenConfigured ? 'sign in with the API token' : 'open this page on the machine redlet runs on'} to invoke,
        pause or delete.
      </p>
    );
  }
  const base = `/ui/functions/${d.name}`;
  return (
    <>
      <form class="invoke-form" hx-post={`${base}/invoke`} hx-target="#invoke-result" hx-swap="innerHTML">
        <label>
          Input for a test run (JSON)
          <span class="hint">empty: the current value of key {d.inputKey}; nothing is written, context.env is left as it is</span>
          <textarea name="input" rows={2} spellcheck={false}></textarea>
        </label>
        <div class="actions">
          <button type="submit" class="primary">
            Invoke now
          </button>
        </div>
      </form>
      <div class="actions">
        {d.paused ? (
          <button type="button" hx-post={`${base}/resume`} hx-target="#detail-actions" hx-swap="innerHTML">
            Resume
          </button>
        ) : (
          <button type="button" hx-post={`${base}/pause`} hx-target="#detail-actions" hx-swap="innerHTML">
            Pause
          </button>
        )}
        {p.deleteRefused !== null ? (
          <button type="button" class="danger" disabled title={p.deleteRefused}>
            Delete
          </button>
        ) : (
          <button
            type="button"
            class="danger"
            hx-delete={base}
            hx-target="#detail"
            hx-swap="innerHTML"
            hx-confirm={`Delete the function ${d.name}? Its code, settings and context.env are removed.`}
          >
            Delete
          </button>
        )}
      </div>
    </>
  );
}

/** The polled part: settings, charts, last output and error, logs, env. */
export function FunctionLive(p: { data: DetailData }) {
  const { view, series, logs, env, now, windowMs } = p.data;
  const { definition: d, status: s, sandbox } = view;
  const output = s.lastOutput === null ? null : prettyJson(s.lastOutput, MAX_OUTPUT_CHARS);
  const envView = env === null ? null : prettyJson(env, MAX_ENV_CHARS);
  return (
    <>
      <h3>Status</h3>
      <dl class="settings">
        <dt>state</dt>
        <dd>
          <StateBadge state={s.state} detail={s.detail} /> {s.detail ?? ''}
        </dd>
        <dt>invocations</dt>
        <dd>
          {s.invocations} ({s.errors} errors, {s.unchangedTicks} unchanged inputs skipped, {s.skippedTicks} ticks while busy)
        </dd>
        {(s.unreplicatedCommits ?? 0) > 0 && (
          <>
            <dt>unreplicated commits</dt>
            <dd>
              {s.unreplicatedCommits} not acknowledged by a Redis replica in time: a failover right then would lose them, and their inputs
              would be handled again
            </dd>
          </>
        )}
        <dt>last run</dt>
        <dd>
          {formatAgo(s.lastRunAt, now)} · {formatDuration(s.lastDurationMs)} (p50 {formatDuration(s.p50Ms)}, p99 {formatDuration(s.p99Ms)})
        </dd>
        <dt>heap</dt>
        <dd>
          {sandbox ? `${formatBytes(sandbox.heapUsedBytes)} of ${formatBytes(sandbox.heapLimitBytes)}, ${sandbox.restarts} restarts` : '—'}
        </dd>
      </dl>

      <h3>Settings</h3>
      <dl class="settings">
        <dt>origin</dt>
        <dd>{d.origin === 'api' ? 'API' : 'configuration'}</dd>
        <dt>code</dt>
        <dd>
          {d.filename} ({d.sourceKind}), changed {formatDateTime(d.codeUpdatedAt)}
        </dd>
        <dt>handler</dt>
        <dd>
          <code>{d.handler}</code>
        </dd>
        <dt>input key</dt>
        <dd>
          <code>{d.inputKey}</code>
        </dd>
        <dt>output key</dt>
        <dd>{d.outputKey === null ? 'none (results are not written)' : <code>{d.outputKey}</code>}</dd>
        <dt>trigger</dt>
        <dd>
          {triggerText(d)} · period {formatPeriod(d.period)} · invoke on {d.invokeOn}
        </dd>
        <dt>limits</dt>
        <dd>
          {d.memoryMb} MB memory, {formatDuration(d.timeoutMs)} per call
        </dd>
      </dl>

      {series && series.fields.length ? (
        <>
          <h3>Numeric output over time</h3>
          <div class="charts wide">
            <FieldCharts idPrefix="detail" series={series} now={now} windowMs={windowMs} rawLabels />
          </div>
        </>
      ) : null}

      <h3>Last output {s.lastOutputAt ? <span class="sub">({formatAgo(s.lastOutputAt, now)})</span> : null}</h3>
      {output ? <BoundedBlock id="last-output" value={output} /> : <p class="notice">No output yet.</p>}

      <h3>Last error</h3>
      {s.lastError ? (
        <pre class="block error" id="last-error">
          {`${s.lastError.code}: ${s.lastError.name}: ${bound(s.lastError.message, MAX_LOG_CHARS).text}\n${formatDateTime(s.lastError.at)}\n\n${bound(s.lastError.stack ?? '(no stack)', MAX_OUTPUT_CHARS).text}`}
        </pre>
      ) : (
        <p class="notice">No errors.</p>
      )}

      <h3>Logs {logs.length ? <span class="sub">(last {logs.length})</span> : null}</h3>
      {logs.length ? (
        <ol class="logs mono" id="logs">
          {logs.map((l) => (
            <li class={`log-${l.level}`}>
              {formatDateTime(l.t).slice(11)} {l.level.padEnd(5)} {bound(l.msg, MAX_LOG_CHARS).text}
            </li>
          ))}
        </ol>
      ) : (
        <p class="notice">Nothing logged yet (console.log in the function shows here).</p>
      )}

      <h3>context.env</h3>
      {envView ? <BoundedBlock id="env" value={envView} /> : <p class="notice">—</p>}
    </>
  );
}

function BoundedBlock(p: { id: string; value: Bounded }) {
  return (
    <pre class="block" id={p.id}>
      {p.value.text}
      {p.value.omitted ? `\n… ${p.value.omitted} more characters not shown` : ''}
    </pre>
  );
}
