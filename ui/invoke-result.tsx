/** @jsxImportSource hono/jsx */
/**
 * What "Invoke now" shows inline: the result of one dry run (nothing written,
 * context.env untouched) with its duration and the lines it logged, or why it failed.
 *
 * @example
 * <InvokeResult result={await runtime.invoke('avg', undefined, { dryRun: true })} />
 */
import { bound, formatDuration, prettyJson } from './format.js';
import { MAX_OUTPUT_CHARS } from './function-detail.js';
import type { ManualInvocation } from '../src/function-runner.js';

export function InvokeResult(p: { result: ManualInvocation }) {
  const r = p.result;
  if (!r.ok) {
    const e = r.error;
    return (
      <div class="invoke-result" data-ok="false">
        <p class="form-error" role="alert">
          The test run failed after {formatDuration(r.durationMs)}: {e ? `${e.code}: ${e.message}` : 'unknown error'}
        </p>
        {e?.stack ? <pre class="block error">{bound(e.stack, MAX_OUTPUT_CHARS).text}</pre> : null}
        <InvokeLogs result={r} />
      </div>
    );
  }
  const out = r.output === null ? null : prettyJson(r.output, MAX_OUTPUT_CHARS);
  return (
    <div class="invoke-result" data-ok="true">
      <p class="form-ok" role="status">
        Test run took {formatDuration(r.durationMs)}
        {r.output === null ? ': the function returned nothing (no output would be written).' : '. Its result (not written anywhere):'}
      </p>
      {out ? (
        <pre class="block" id="invoke-output">
          {out.text}
          {out.omitted ? `\n… ${out.omitted} more characters not shown` : ''}
        </pre>
      ) : null}
      <InvokeLogs result={r} />
    </div>
  );
}

/** A failure before the function ran (no input, bad JSON, unknown function). */
export function InvokeError(p: { message: string }) {
  return (
    <div class="invoke-result" data-ok="false">
      <p class="form-error" role="alert">
        {p.message}
      </p>
    </div>
  );
}

function InvokeLogs(p: { result: ManualInvocation }) {
  if (p.result.logs.length === 0) return null;
  return (
    <ol class="logs mono">
      {p.result.logs.map((l) => (
        <li class={`log-${l.level}`}>
          {l.level.padEnd(5)} {bound(l.msg, 2000).text}
        </li>
      ))}
    </ol>
  );
}
