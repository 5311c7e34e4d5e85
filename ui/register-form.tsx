/** @jsxImportSource hono/jsx */
/**
 * The register form: upload a `.js`, `.ts`, `.py` or `.zip` with its settings. It posts
 * to `/ui/functions`, which reads the upload as the API's `POST /api/functions` does
 * (one validation path) and registers it through the runtime; an error is shown next
 * to the form, and a success resets the form (out-of-band swap) and tells the
 * functions table to refresh.
 *
 * @example
 * <RegisterForm access={access} defaults={runtime.defaults()} />
 */
import type { Access } from './access.js';
import { UPLOAD_ACCEPT } from '../src/code-files.js';
import { INVOKE_ON, LIMITS, NAME_PATTERN, TRIGGERS, type FunctionSettings } from '../src/function-definition.js';

/** What each trigger and invokeOn value is called in the form's menus. */
const TRIGGER_LABELS: Record<FunctionSettings['trigger'], string> = { poll: 'poll', keyspace: 'keyspace (on write)' };
const INVOKE_ON_LABELS: Record<FunctionSettings['invokeOn'], string> = { change: 'change', always: 'always' };

export function RegisterForm(p: { access: Access; defaults: FunctionSettings; oob?: boolean }) {
  const d = p.defaults;
  const disabled = !p.access.canWrite;
  return (
    <form
      id="register-form"
      class="stack"
      hx-post="/ui/functions"
      hx-encoding="multipart/form-data"
      hx-target="#register-result"
      hx-swap="innerHTML"
      {...(p.oob ? { 'hx-swap-oob': 'true' } : {})}
    >
      <fieldset disabled={disabled} class="plain">
        {disabled ? (
          <p class="notice">
            Read-only: {p.access.tokenConfigured ? 'sign in with the API token' : 'open this page on the machine redlet runs on'} to
            register functions.
          </p>
        ) : null}
        <div class="fields">
          <label>
            Code
            <span class="hint">.js, .ts, .py or .zip</span>
            <input type="file" name="code" accept={UPLOAD_ACCEPT} required />
          </label>
          <label>
            Name
            <span class="hint">lowercase letters, digits, '-'</span>
            <input
              type="text"
              name="name"
              required
              maxlength={LIMITS.nameLength}
              pattern={NAME_PATTERN.source}
              autocomplete="off"
              placeholder="my-function"
            />
          </label>
          <label>
            Handler
            <span class="hint">export to call</span>
            <input type="text" name="handler" placeholder={d.handler} autocomplete="off" />
          </label>
          <label>
            Input key
            <span class="hint">Redis key read</span>
            <input type="text" name="inputKey" placeholder={d.inputKey} autocomplete="off" />
          </label>
          <label>
            Output key
            <span class="hint">empty: not written</span>
            <input type="text" name="outputKey" autocomplete="off" />
          </label>
          <label>
            Trigger
            <span class="hint">how it is woken</span>
            <select name="trigger">
              {TRIGGERS.map((t) => (
                <option value={t} selected={d.trigger === t}>
                  {TRIGGER_LABELS[t]}
                </option>
              ))}
            </select>
          </label>
          <NumberField name="period" label="Period (s)" hint="poll interval" step="any" placeholder={d.period} />
          <label>
            Invoke on
            <span class="hint">every tick or new input</span>
            <select name="invokeOn">
              {INVOKE_ON.map((v) => (
                <option value={v} selected={d.invokeOn === v}>
                  {INVOKE_ON_LABELS[v]}
                </option>
              ))}
            </select>
          </label>
          <NumberField name="memoryMb" label="Memory (MB)" hint="isolate heap limit" step="1" placeholder={d.memoryMb} />
          <NumberField name="timeoutMs" label="Timeout (ms)" hint="per call" step="1" placeholder={d.timeoutMs} />
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Register
          </button>
        </div>
      </fieldset>
    </form>
  );
}

/** A number setting's field, bounded by its LIMITS so the browser refuses what the runtime would. */
function NumberField(p: {
  name: 'period' | 'memoryMb' | 'timeoutMs';
  label: string;
  hint: string;
  step: '1' | 'any';
  placeholder: number;
}) {
  const range = LIMITS[p.name];
  return (
    <label>
      {p.label}
      <span class="hint">{p.hint}</span>
      <input type="number" name={p.name} min={range.min} max={range.max} step={p.step} placeholder={String(p.placeholder)} />
    </label>
  );
}

/** The message next to the form after a submission. */
export function RegisterResult(p: { ok: boolean; message: string; field?: string | undefined }) {
  return p.ok ? (
    <p class="form-ok" role="status">
      {p.message}
    </p>
  ) : (
    <p class="form-error" role="alert" data-field={p.field ?? ''}>
      {p.field ? `${p.field}: ` : ''}
      {p.message}
    </p>
  );
}
