/**
 * Python functions: each one gets its own isolate holding a Pyodide interpreter
 * restored from the shared snapshot, with the function's files in `/function`. Same
 * contract as JavaScript functions (see Sandbox in ../types.ts): limits, env rollback
 * and persistence, logs, replacement of an interpreter that died. The time limit is
 * enforced twice: a soft stop (KeyboardInterrupt through Pyodide's interrupt buffer) at
 * the limit, and the isolate's own timeout a little later for code that swallows it;
 * after a hard stop the interpreter is discarded (its C stack is left corrupt) and the
 * next call gets a fresh one.
 */
import ivm from 'isolated-vm';
import { RedletError, guestCode, guestLoadCode, type ErrorCode, type GuestError } from '../errors.js';
import { FastPath, isolateRunMs } from '../fast-path.js';
import { isolateStats } from '../isolate-stats.js';
import type { SandboxLimits } from '../limits.js';
import type { InvokeRequest, InvokeResult, LoadInfo, LoadRequest, LogLine, SandboxStats, SourceFiles } from '../types.js';
import { createInterpreter, type Interpreter } from './pyodide-runtime.js';
import { resolvePythonEntry, type PythonEntry } from './python-entry.js';

/** The interpreter alone fills about 31 MB of WebAssembly memory: below this, Python cannot do much. */
export const PYTHON_MIN_MEMORY_MB = 64;
/** Past the soft stop, how long code that swallows KeyboardInterrupt keeps running before the hard stop. */
const HARD_STOP_AFTER_MS = 100;
/**
 * The fast path, as for JavaScript (see in-process.ts): a function whose runs are short
 * is called with one synchronous call, skipping the thread-pool round trip of an
 * asynchronous one. A synchronous call cannot be soft-stopped, so it gets at most
 * SYNC_BUDGET_MS; past that it is stopped hard, its interpreter is replaced and the call
 * runs again on the asynchronous path, which the function keeps until it earns the fast
 * path again (FastPath: short, successful runs in a row).
 */
const SYNC_BUDGET_MS = 50;
/** Importing the user's modules may take longer than one invocation may. */
const MIN_LOAD_TIMEOUT_MS = 5000;

interface LoadedPython {
  id: string;
  req: LoadRequest;
  files: Record<string, Uint8Array>;
  entry: PythonEntry;
  interp: Interpreter | null;
  env: string;
  restarts: number;
  pendingLogs: LogLine[];
  envDirty: boolean;
  /** A replacement interpreter being prepared in the background after the last one was discarded. */
  starting: Promise<void> | null;
  /** Whether calls take the synchronous fast path (see SYNC_BUDGET_MS). */
  path: FastPath;
}

export class PythonFunctions {
  private readonly functions = new Map<string, LoadedPython>();

  constructor(
    private readonly limits: SandboxLimits,
    private readonly onCatastrophicError: (message: string) => void,
  ) {}

  has(id: string): boolean {
    return this.functions.has(id);
  }

  async load(id: string, req: LoadRequest, files: SourceFiles, bundleMs: number): Promise<LoadInfo> {
    const entry = resolvePythonEntry(files, req.handler);
    const fn: LoadedPython = {
      id,
      req,
      files: Object.fromEntries(files),
      entry,
      interp: null,
      env: req.env,
      restarts: 0,
      pendingLogs: [],
      envDirty: false,
      starting: null,
      path: new FastPath(),
    };
    const t1 = performance.now();
    const { interp, evaluateMs } = await this.start(fn);
    fn.interp = interp;
    const old = this.functions.get(id);
    this.functions.set(id, fn);
    if (old?.interp) dispose(old.interp);
    return {
      entry: entry.entry,
      exportName: entry.exportName,
      timings: { bundleMs, isolateMs: performance.now() - t1 - evaluateMs, evaluateMs },
    };
  }

  async invoke(id: string, req: InvokeRequest): Promise<InvokeResult> {
    const fn = this.functions.get(id);
    if (!fn) throw new RedletError('FUNCTION_NOT_LOADED', `function '${id}' is not loaded`, { kind: 'system' });
    if (req.resetEnv !== undefined) {
      fn.env = req.resetEnv;
      fn.envDirty = true;
    }
    const started = performance.now();
    if (fn.starting) await fn.starting;
    let logs = fn.pendingLogs;
    fn.pendingLogs = [];
    let interp = fn.interp;
    try {
      if (!interp || interp.isolate.isDisposed) {
        fn.restarts++;
        interp = (await this.start(fn)).interp;
        fn.interp = interp;
        logs = logs.concat(fn.pendingLogs);
        fn.pendingLogs = [];
      } else if (fn.envDirty) {
        await interp.refs.setEnv.apply(undefined, [fn.env], { timeout: fn.req.timeoutMs });
      }
      fn.envDirty = false;
    } catch (err) {
      if (fn.interp) dispose(fn.interp);
      fn.interp = null;
      return failure(
        err instanceof RedletError ? { code: err.code, name: err.name, message: err.message } : sandboxError(err),
        performance.now() - started,
        logs,
      );
    }
    return this.run(fn, interp, req, started, logs);
  }

  async dispose(id: string): Promise<void> {
    const fn = this.functions.get(id);
    if (!fn) return;
    this.functions.delete(id);
    if (fn.interp) dispose(fn.interp);
  }

  async stats(id: string): Promise<SandboxStats | null> {
    const fn = this.functions.get(id);
    if (!fn) return null;
    return isolateStats(fn.interp?.isolate, wasmCapMb(fn.req) * 1024 * 1024, fn.restarts);
  }

  async close(): Promise<void> {
    for (const id of [...this.functions.keys()]) await this.dispose(id);
  }

  private async run(fn: LoadedPython, interp: Interpreter, req: InvokeRequest, started: number, logs: LogLine[]): Promise<InvokeResult> {
    const args = [req.input, JSON.stringify(req.context), req.dryRun === true, req.maxOutputBytes];
    if (fn.path.fast) {
      const budget = Math.min(fn.req.timeoutMs, SYNC_BUDGET_MS);
      let raw: unknown;
      try {
        raw = interp.refs.invoke.applySync(undefined, args, { timeout: budget, result: { copy: true } });
      } catch (err) {
        this.replace(fn, interp);
        fn.path.demote();
        const timedOut = /timed out/i.test(messageOf(err));
        if (!timedOut || fn.req.timeoutMs <= SYNC_BUDGET_MS)
          return failure(timedOut ? timeoutError(fn) : sandboxError(err), performance.now() - started, logs);
        // Longer than the budget, not necessarily stuck: run it again, on a fresh interpreter, on the slow path.
        if (fn.starting) await fn.starting;
        if (!fn.interp) return this.invoke(fn.id, req);
        return this.settle(fn, await this.runAsync(fn, fn.interp, args, started, logs));
      }
      const result = this.finish(fn, interp, raw, false, started, logs, req.maxOutputBytes);
      fn.path.ranFast(result.durationMs);
      return result;
    }
    const before = interp.isolate.wallTime;
    const result = await this.runAsync(fn, interp, args, started, logs);
    return this.settle(fn, result, isolateRunMs(interp.isolate, before, result.durationMs));
  }

  /** Counts short runs on the slow path (`ranMs`: run time in the isolate); enough of them in a row earn the fast path. */
  private settle(fn: LoadedPython, result: InvokeResult, ranMs = result.durationMs): InvokeResult {
    fn.path.ranSlow(ranMs, result.ok);
    return result;
  }

  /** An asynchronous call: soft stop at the time limit, hard stop a little later. */
  private async runAsync(fn: LoadedPython, interp: Interpreter, args: unknown[], started: number, logs: LogLine[]): Promise<InvokeResult> {
    const timeoutMs = fn.req.timeoutMs;
    let softStopped = false;
    let hardStopped = false;
    const soft = setTimeout(() => {
      softStopped = true;
      Atomics.store(interp.interrupt, 0, 2);
    }, timeoutMs);
    const hard = setTimeout(
      () => {
        hardStopped = true;
        dispose(interp);
      },
      timeoutMs + HARD_STOP_AFTER_MS + this.limits.watchdogGraceMs,
    );
    let raw: unknown;
    try {
      raw = await interp.refs.invoke.apply(undefined, args, { timeout: timeoutMs + HARD_STOP_AFTER_MS, result: { copy: true } });
    } catch (err) {
      // Stopped from outside, or the interpreter itself failed (e.g. the WebAssembly
      // stack overflowed): either way its state cannot be trusted any more.
      this.replace(fn, interp);
      const timedOut = hardStopped || /timed out/i.test(messageOf(err));
      return failure(timedOut ? timeoutError(fn) : sandboxError(err), performance.now() - started, logs);
    } finally {
      clearTimeout(soft);
      clearTimeout(hard);
      Atomics.store(interp.interrupt, 0, 0);
    }
    return this.finish(fn, interp, raw, softStopped, started, logs, args[3] as number);
  }

  /** The guest's answer, checked (it is guest-controlled data). */
  private finish(
    fn: LoadedPython,
    interp: Interpreter,
    raw: unknown,
    softStopped: boolean,
    started: number,
    logs: LogLine[],
    maxOutputBytes: number,
  ): InvokeResult {
    const r = parseResult(raw);
    const durationMs = performance.now() - started;
    const capped = capLogs(r.logs, this.limits);
    r.dropped += r.logs.length - capped.length;
    const allLogs = logs.length ? logs.concat(capped) : capped;
    if (!r.ok) {
      let error = r.error ?? { code: 'HANDLER_ERROR', name: 'Error', message: 'the function failed' };
      if (error.name === 'KeyboardInterrupt' && softStopped) error = timeoutError(fn);
      else if (error.name === 'MemoryError') {
        error = {
          ...error,
          code: 'MEMORY_LIMIT',
          message: `the function exceeded its memory limit of ${wasmCapMb(fn.req)} MB (MemoryError); its interpreter was replaced`,
        };
        // WebAssembly memory never shrinks: a fresh interpreter gives the memory back.
        this.replace(fn, interp);
      }
      return { ok: false, output: null, env: null, error, durationMs, logs: allLogs, droppedLogs: r.dropped };
    }
    // The glue runs in the same interpreter as user code, which can patch it: check again here.
    const broken = checkOutputs(r, maxOutputBytes, this.limits.maxEnvBytes);
    if (broken) {
      fn.envDirty = true;
      return { ok: false, output: null, env: null, error: broken, durationMs, logs: allLogs, droppedLogs: r.dropped };
    }
    if (r.env !== null) fn.env = r.env;
    return { ok: true, output: r.output, env: r.env, durationMs, logs: allLogs, droppedLogs: r.dropped };
  }

  /** Discards an interpreter and prepares its replacement now, so the next call does not wait for it. */
  private replace(fn: LoadedPython, old: Interpreter): void {
    dispose(old);
    if (fn.interp !== old) return;
    fn.interp = null;
    fn.restarts++;
    fn.starting = this.start(fn).then(
      ({ interp }) => {
        fn.starting = null;
        if (fn.interp === null && [...this.functions.values()].includes(fn)) fn.interp = interp;
        else dispose(interp);
      },
      () => {
        // The next call starts one itself and reports why it cannot.
        fn.starting = null;
      },
    );
  }

  /** A fresh interpreter with the function's files, its module imported and its env set. */
  private async start(fn: LoadedPython): Promise<{ interp: Interpreter; evaluateMs: number }> {
    const { interp } = await createInterpreter({
      memoryMb: wasmCapMb(fn.req),
      limits: this.limits,
      onCatastrophicError: this.onCatastrophicError,
    });
    try {
      const te = performance.now();
      await interp.refs.writeFiles.apply(undefined, [new ivm.ExternalCopy(fn.files).copyInto({ release: true })], {});
      let raw: unknown;
      try {
        raw = await interp.refs.load.apply(undefined, [fn.entry.module, fn.entry.exportName], {
          timeout: Math.max(fn.req.timeoutMs, MIN_LOAD_TIMEOUT_MS),
          result: { copy: true },
        });
      } catch (err) {
        const why = /timed out/i.test(messageOf(err))
          ? `its top-level code ran past the ${Math.max(fn.req.timeoutMs, MIN_LOAD_TIMEOUT_MS)} ms load limit`
          : messageOf(err);
        throw new RedletError('LOAD_EVALUATION', `${fn.entry.entry} failed while loading: ${why}`, { kind: 'user', cause: err });
      }
      const loaded = parseJson(raw) as { ok?: boolean; code?: string; message?: string } | null;
      if (!loaded || loaded.ok !== true) {
        throw new RedletError(guestLoadCode(loaded?.code), String(loaded?.message ?? 'the module did not load'), { kind: 'user' });
      }
      await interp.refs.setEnv.apply(undefined, [fn.env], { timeout: Math.max(fn.req.timeoutMs, MIN_LOAD_TIMEOUT_MS) });
      const evaluateMs = performance.now() - te;
      const early = parseJson(await interp.refs.takeLogs.apply(undefined, [], { result: { copy: true } })) as { logs?: unknown } | null;
      fn.pendingLogs = parseResult({ ok: true, logs: early?.logs }).logs;
      return { interp, evaluateMs };
    } catch (err) {
      dispose(interp);
      if (err instanceof RedletError) throw err;
      throw new RedletError('LOAD_FAILED', `could not start the Python function: ${messageOf(err)}`, { kind: 'user', cause: err });
    }
  }
}

/** The WebAssembly memory cap of a Python function. */
export function wasmCapMb(req: { memoryMb: number }): number {
  return Math.max(req.memoryMb, PYTHON_MIN_MEMORY_MB);
}

interface ParsedResult {
  ok: boolean;
  output: string | null;
  env: string | null;
  error: GuestError | null;
  logs: LogLine[];
  dropped: number;
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

const LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug']);

/** The guest controls what it returns: trust nothing about its shape. */
function parseResult(raw: unknown): ParsedResult {
  const r = ((typeof raw === 'string' ? parseJson(raw) : raw) ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const logs = Array.isArray(r.logs)
    ? (r.logs as Array<Record<string, unknown>>)
        .filter((l) => l && typeof l === 'object' && typeof l.msg === 'string')
        .map((l) => ({
          t: Number(l.t) || Date.now(),
          level: (LEVELS.has(String(l.level)) ? l.level : 'log') as LogLine['level'],
          msg: l.msg as string,
        }))
    : [];
  const e = r.error as Record<string, unknown> | null | undefined;
  return {
    ok: r.ok === true,
    output: str(r.output),
    env: str(r.env),
    error:
      e && typeof e === 'object'
        ? {
            code: guestCode(e.code),
            name: String(e.name ?? 'Error'),
            message: String(e.message ?? ''),
            ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
          }
        : null,
    logs,
    dropped: Number(r.dropped) || 0,
  };
}

function capLogs(logs: LogLine[], limits: SandboxLimits): LogLine[] {
  const kept = logs.length > limits.maxLogLines ? logs.slice(0, limits.maxLogLines) : logs;
  for (const l of kept) if (l.msg.length > limits.maxLogLineChars + 1) l.msg = `${l.msg.slice(0, limits.maxLogLineChars)}…`;
  return kept;
}

/** Output and env as the host will store them: valid JSON, within the caps, env an object. */
function checkOutputs(r: ParsedResult, maxOutputBytes: number, maxEnvBytes: number): GuestError | null {
  const bad = (code: ErrorCode, message: string): GuestError => ({ code, name: 'ValueError', message });
  if (r.output !== null) {
    if (Buffer.byteLength(r.output) > maxOutputBytes) return bad('OUTPUT_TOO_LARGE', `the result is over the ${maxOutputBytes}-byte cap`);
    if (!isJson(r.output)) return bad('OUTPUT_NOT_SERIALIZABLE', "the handler's result is not valid JSON");
  }
  if (r.env !== null) {
    if (Buffer.byteLength(r.env) > maxEnvBytes) return bad('ENV_TOO_LARGE', `context.env is over the ${maxEnvBytes}-byte cap`);
    if (!r.env.startsWith('{') || !isJson(r.env)) return bad('ENV_NOT_OBJECT', 'context.env must stay a JSON object');
  }
  return null;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function timeoutError(fn: LoadedPython): GuestError {
  return {
    code: 'TIMEOUT',
    name: 'TimeoutError',
    message: `the function ran past its time limit of ${fn.req.timeoutMs} ms and was stopped`,
  };
}

function sandboxError(err: unknown): GuestError {
  const message = messageOf(err);
  if (/memory limit/i.test(message))
    return { code: 'MEMORY_LIMIT', name: 'MemoryError', message: 'the function exceeded its memory limit; its interpreter was replaced' };
  if (/call stack|recursion/i.test(message))
    return {
      code: 'STACK_OVERFLOW',
      name: 'RecursionError',
      message: "the function recursed too deeply and overflowed the interpreter's stack; its interpreter was replaced",
    };
  return { code: 'SANDBOX_ERROR', name: 'Error', message: `the Python interpreter failed and was replaced: ${message.slice(0, 500)}` };
}

function failure(error: GuestError, durationMs: number, logs: LogLine[]): InvokeResult {
  return { ok: false, output: null, env: null, error, durationMs, logs, droppedLogs: 0 };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function dispose(interp: Interpreter): void {
  if (!interp.isolate.isDisposed) {
    try {
      interp.isolate.dispose();
    } catch {
      // Already gone.
    }
  }
}
