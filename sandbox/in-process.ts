/**
 * The in-process sandbox: each function gets its own isolated-vm Isolate in this
 * process. It enforces the memory limit (isolate option), the time limit (the
 * isolate's own `timeout` for synchronous code plus a wall-clock watchdog that
 * disposes the isolate when asynchronous work overruns), replaces isolates that died,
 * and moves only strings and plain values across the boundary.
 *
 * @example
 * const box = new InProcessSandbox();
 * await box.load('hello', { source: { kind: 'file', filename: 'hello.js', code }, handler: 'handler',
 *   memoryMb: 32, timeoutMs: 500, env: '{}', name: 'hello' });
 * const r = await box.invoke('hello', { input: '{}', context, maxOutputBytes: 1 << 20 });
 */
import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { bundleFunction, sourceFilesOf, type Bundle } from './bundle.js';
import { RedletError, guestCode, type ErrorCode, type GuestError } from './errors.js';
import { MapBudget } from './map-budget.js';
import { PythonFunctions } from './python/python-functions.js';
import { isPythonSource } from './python/python-entry.js';
import { FastPath, isolateRunMs } from './fast-path.js';
import { isolateStats, statsFromHeap } from './isolate-stats.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './limits.js';
import { mapStack } from './stack-map.js';
import type { InvokeRequest, InvokeResult, LoadInfo, LoadRequest, LogLine, Sandbox, SandboxStats } from './types.js';

const PRELUDE = readFileSync(new URL('./guest/prelude.js', import.meta.url), 'utf8');
const PRELUDE_NAME = 'redlet://prelude.js';
const WASM_LIMIT = readFileSync(new URL('./guest/wasm-limit.js', import.meta.url), 'utf8');
const WASM_LIMIT_NAME = 'redlet://wasm-limit.js';
/** WebAssembly pages (64 KiB) in a megabyte. */
const PAGES_PER_MB = 16;

export interface InProcessSandboxOptions {
  limits?: Partial<SandboxLimits>;
  /**
   * Called when V8 loses control of an isolate (some out-of-memory paths). The
   * isolated-vm authors advise ending the process; the default does exactly that.
   */
  onCatastrophicError?: (message: string, fn: string | null) => void;
  /** Refuses a new isolate near the kernel's memory-mapping limit (tests pass their own). */
  mapBudget?: MapBudget;
  /**
   * When the spare isolate a load took is replaced: after the next invocation (default,
   * for a sandbox that gets every load: the next one may come soon), or SPARE_DELAY_MS
   * after the load (a worker of a pool gets only some loads, and its spare is then
   * prepared clear of the first run's commit).
   */
  spareAfterRun?: boolean;
}

// isolated-vm's Reference is generic over the guest value's type, which the host never
// knows (nor reads): `any` keeps apply() callable on it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ref = ivm.Reference<any>;

/** An isolate made ready for a function: context, prelude and its entry points. */
interface Prepared {
  memoryMb: number;
  isolate: ivm.Isolate;
  context: ivm.Context;
  refs: { invoke: Ref; begin: Ref; settle: Ref; ready: Ref; setEnv: Ref; takeLogs: Ref };
}

/** One live isolate with the prelude's entry points. */
interface Slot {
  isolate: ivm.Isolate;
  context: ivm.Context;
  invoke: Ref;
  begin: Ref;
  settle: Ref;
  setEnv: Ref;
  takeLogs: Ref;
}

/**
 * The fast path: a function whose runs are short is called with one synchronous call
 * (isolated-vm's `applySync`), which skips the thread-pool round trip of an async call
 * (tens of microseconds, more under load). A synchronous call holds this thread, so it
 * gets at most SYNC_BUDGET_MS; a function that needs more is stopped, rolled back and
 * run again on the asynchronous path, which it keeps until its runs are short again.
 * New functions start on the asynchronous path and earn the fast one with short runs.
 */
const SYNC_BUDGET_MS = 20;
/** How long after a load the next spare isolate is prepared at the latest. */
const SPARE_DELAY_MS = 10;
/** Bundles up to this size are compiled synchronously (see createSlot). */
const SYNC_COMPILE_MAX_CHARS = 64 * 1024;

interface LoadedFunction {
  /** The id it was loaded under (named in a catastrophic error). */
  id: string;
  req: LoadRequest;
  bundle: Bundle;
  scriptName: string;
  slot: Slot | null;
  /** The env the next replacement isolate starts from: the last one that completed. */
  env: string;
  restarts: number;
  /** Logs printed at load time (top-level code), handed out with the first invocation. */
  pendingLogs: LogLine[];
  /** The isolate was stopped mid-call (timeout): its env may hold half-done changes. */
  envDirty: boolean;
  /** Whether calls take the synchronous fast path (see SYNC_BUDGET_MS). */
  path: FastPath;
}

export class InProcessSandbox implements Sandbox {
  private readonly functions = new Map<string, LoadedFunction>();
  /** One isolate prepared ahead of the next load (see takeIsolate). */
  private spareReady: Prepared | null = null;
  /** The next spare, while it is being prepared; `claimed` once a load took it. */
  private spareComing: { memoryMb: number; promise: Promise<Prepared>; claimed: boolean } | null = null;
  /** Set while a spare is due: prepared after the next invocation, or when it fires. */
  private spareTimer: NodeJS.Timeout | null = null;
  private spareMemoryMb = 0;
  private readonly spareAfterRun: boolean;
  private closed = false;
  private readonly limits: SandboxLimits;
  private readonly onCatastrophicError: (message: string, fn: string | null) => void;
  /** Which function each isolate serves: a catastrophic error names the one at fault. */
  private readonly owners = new WeakMap<ivm.Isolate, string>();
  /** Python functions: a second kind behind the same contract (see python/python-functions.ts). */
  private readonly python: PythonFunctions;
  private readonly mapBudget: MapBudget;
  /** Each function's load in progress (see load()). */
  private readonly loading = new Map<string, Promise<LoadInfo>>();

  constructor(opts: InProcessSandboxOptions = {}) {
    this.limits = { ...DEFAULT_SANDBOX_LIMITS, ...opts.limits };
    this.mapBudget = opts.mapBudget ?? new MapBudget();
    this.spareAfterRun = opts.spareAfterRun ?? true;
    this.onCatastrophicError =
      opts.onCatastrophicError ??
      ((message) => {
        process.stderr.write(`redlet: fatal error in an isolate, aborting the process: ${message}\n`);
        process.abort();
      });
    this.python = new PythonFunctions(this.limits, (message) => this.onCatastrophicError(message, null));
  }

  /**
   * Loads of one function apply in the order they were asked for: a reload after a
   * worker crash and an update sent right behind it must not finish the other way round
   * (the older code would stay in the isolate while the runtime counts the newer one).
   */
  async load(id: string, req: LoadRequest): Promise<LoadInfo> {
    const before = this.loading.get(id) ?? Promise.resolve();
    const run = before.then(
      () => this.loadNow(id, req),
      () => this.loadNow(id, req),
    );
    this.loading.set(id, run);
    try {
      return await run;
    } finally {
      if (this.loading.get(id) === run) this.loading.delete(id);
    }
  }

  private async loadNow(id: string, req: LoadRequest): Promise<LoadInfo> {
    const t0 = performance.now();
    // A new function needs a new isolate; a reload replaces one.
    if (!this.functions.has(id) && !this.python.has(id)) this.mapBudget.beforeIsolate();
    const files = req.source.kind === 'zip' || isPythonSource(req.source, null, req.handler) ? await sourceFilesOf(req.source) : null;
    if (isPythonSource(req.source, files, req.handler)) {
      const info = await this.python.load(id, req, files!, performance.now() - t0);
      const old = this.functions.get(id);
      this.functions.delete(id);
      if (old?.slot) disposeSlot(old.slot);
      return info;
    }
    // The isolate is made ready while esbuild bundles: the two do not depend on each other.
    const prepared = this.takeIsolate(req.memoryMb);
    prepared.catch(() => {}); // awaited below; a failure meanwhile is not unhandled
    let bundle: Bundle;
    try {
      bundle = await bundleFunction(req.source, req.handler, { name: req.name, verbatim: true });
    } catch (err) {
      prepared.then(
        (p) => this.keepSpare(p),
        () => {},
      );
      throw err;
    }
    const t1 = performance.now();
    const fn: LoadedFunction = {
      id,
      req,
      bundle,
      scriptName: `redlet://${req.name}/bundle.js`,
      slot: null,
      env: req.env,
      restarts: 0,
      pendingLogs: [],
      envDirty: false,
      // On probation: the first runs take the asynchronous path, on which V8's fatal
      // out-of-memory errors abort at once instead of hanging a synchronous call.
      path: new FastPath(),
    };
    let made: { slot: Slot; evaluateMs: number };
    try {
      made = await this.createSlot(fn, prepared);
    } catch (err) {
      if (!bundle.verbatim) throw err;
      // Whatever the file as is did not pass is decided by esbuild's bundle, as for any
      // other code: the errors a user sees are the same either way.
      fn.bundle = await bundleFunction(req.source, req.handler, { name: req.name });
      made = await this.createSlot(fn);
    }
    const { slot, evaluateMs } = made;
    fn.slot = slot;
    const old = this.functions.get(id);
    this.functions.set(id, fn);
    if (old?.slot) disposeSlot(old.slot);
    await this.python.dispose(id);
    return {
      entry: bundle.entry,
      exportName: bundle.exportName,
      timings: { bundleMs: t1 - t0, isolateMs: performance.now() - t1 - evaluateMs, evaluateMs },
      // The isolate is idle now: its statistics cost nothing, and a caller showing them
      // need not queue behind the first run to ask.
      stats: statsFromHeap(slot.isolate, slot.isolate.getHeapStatisticsSync(), fn.req.memoryMb * 1024 * 1024, fn.restarts),
    };
  }

  async invoke(id: string, req: InvokeRequest): Promise<InvokeResult> {
    if (this.python.has(id)) return this.python.invoke(id, req);
    const fn = this.functions.get(id);
    if (!fn) throw new RedletError('FUNCTION_NOT_LOADED', `function '${id}' is not loaded`, { kind: 'system' });
    if (req.resetEnv !== undefined) {
      fn.env = req.resetEnv;
      fn.envDirty = true;
    }
    let slot = fn.slot;
    let logs = fn.pendingLogs;
    fn.pendingLogs = [];
    const started = performance.now();
    try {
      if (!slot || slot.isolate.isDisposed) {
        fn.restarts++;
        slot = (await this.createSlot(fn)).slot;
        fn.slot = slot;
        logs = logs.concat(fn.pendingLogs);
        fn.pendingLogs = [];
      } else if (fn.envDirty) {
        await slot.setEnv.apply(undefined, [fn.env], { timeout: fn.req.timeoutMs });
      }
      fn.envDirty = false;
    } catch (err) {
      fn.slot = null;
      return failure(toGuestError(err, fn), performance.now() - started, logs);
    }
    const result = await this.run(fn, slot, req, started, logs);
    // Most likely the first run of the function that took the spare: now is the time
    // to prepare the next one, once the caller has written the result (a timer runs
    // after the Redis commands queued now have left).
    if (this.spareTimer && this.spareAfterRun) setTimeout(() => this.refillSpare(), 1).unref();
    return result;
  }

  async dispose(id: string): Promise<void> {
    await this.python.dispose(id);
    const fn = this.functions.get(id);
    if (!fn) return;
    this.functions.delete(id);
    if (fn.slot) disposeSlot(fn.slot);
  }

  async stats(id: string): Promise<SandboxStats | null> {
    if (this.python.has(id)) return this.python.stats(id);
    const fn = this.functions.get(id);
    if (!fn) return null;
    return isolateStats(fn.slot?.isolate, fn.req.memoryMb * 1024 * 1024, fn.restarts);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.spareTimer) clearTimeout(this.spareTimer);
    const spare = this.spareReady;
    this.spareReady = null;
    if (spare && !spare.isolate.isDisposed) spare.isolate.dispose();
    for (const id of [...this.functions.keys()]) await this.dispose(id);
    await this.python.close();
  }

  private async run(fn: LoadedFunction, slot: Slot, req: InvokeRequest, started: number, logs: LogLine[]): Promise<InvokeResult> {
    const args = [req.input, JSON.stringify(req.context), req.dryRun === true, req.maxOutputBytes];
    if (fn.path.fast) {
      const budget = Math.min(fn.req.timeoutMs, SYNC_BUDGET_MS);
      let raw: unknown;
      try {
        raw = slot.begin.applySync(undefined, args, { timeout: budget, result: { copy: true } });
      } catch (err) {
        // A timeout is what the host observed (the budget spent), never what an error says.
        const overBudget = performance.now() - started >= budget * 0.9;
        if (!overBudget || slot.isolate.isDisposed || fn.req.timeoutMs <= SYNC_BUDGET_MS)
          return this.stopped(fn, slot, err, false, started, logs);
        // Longer than the budget, not a stuck function: undo this attempt and take the slow path.
        fn.path.demote();
        try {
          slot.takeLogs.applySync(undefined, [], { result: { copy: true } });
          slot.setEnv.applySync(undefined, [fn.env], { timeout: budget });
        } catch (e) {
          return this.stopped(fn, slot, e, false, started, logs);
        }
        return this.runAsync(fn, slot, slot.invoke, args, started, logs);
      }
      if (raw === 'pending') return this.runAsync(fn, slot, slot.settle, [], started, logs);
      const result = this.complete(fn, raw, started, logs, req.maxOutputBytes);
      fn.path.ranFast(result.durationMs);
      return result;
    }
    const before = slot.isolate.wallTime;
    const result = await this.runAsync(fn, slot, slot.invoke, args, started, logs);
    // A quick failure counts too: a JavaScript error comes back as a result on either path.
    fn.path.ranSlow(isolateRunMs(slot.isolate, before, result.durationMs), true);
    return result;
  }

  /** An asynchronous call under the watchdog: async work cannot outlive the time limit. */
  private async runAsync(
    fn: LoadedFunction,
    slot: Slot,
    target: Ref,
    args: unknown[],
    started: number,
    logs: LogLine[],
  ): Promise<InvokeResult> {
    const remaining = Math.max(1, fn.req.timeoutMs - (performance.now() - started));
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      disposeSlot(slot);
    }, remaining + this.limits.watchdogGraceMs);
    try {
      const raw: unknown = await target.apply(undefined, args, { timeout: Math.ceil(remaining), result: { promise: true, copy: true } });
      return this.complete(fn, raw, started, logs, Number(args[3]));
    } catch (err) {
      return this.stopped(fn, slot, err, timedOut, started, logs);
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** The guest's answer, checked, with its stack mapped to the user's files. */
  private complete(fn: LoadedFunction, raw: unknown, started: number, logs: LogLine[], maxOutputBytes: number): InvokeResult {
    const durationMs = performance.now() - started;
    const r = checkResult(raw, this.limits, maxOutputBytes);
    // The guest rolls its env back itself on a failure it reports; one the host found
    // (a cap it re-checked) leaves the isolate's env ahead: reset it before the next call.
    if (r.hostRefused) fn.envDirty = true;
    const allLogs = logs.length ? logs.concat(r.logs) : r.logs;
    if (!r.ok) {
      const error = r.error ?? { code: 'HANDLER_ERROR', name: 'Error', message: 'the function failed' };
      if (error.stack) error.stack = mapStack(error.stack, fn.bundle, fn.scriptName);
      return { ok: false, output: null, env: null, error, durationMs, logs: allLogs, droppedLogs: r.dropped };
    }
    if (r.env !== null) fn.env = r.env;
    return { ok: true, output: r.output, env: r.env, durationMs, logs: allLogs, droppedLogs: r.dropped };
  }

  /** The call was stopped from outside: the time limit, the memory limit, or a dead isolate. */
  private stopped(fn: LoadedFunction, slot: Slot, err: unknown, timedOut: boolean, started: number, logs: LogLine[]): InvokeResult {
    const durationMs = performance.now() - started;
    // The code comes from what the host saw (the watchdog fired, the time limit was
    // spent, the isolate was disposed), never from the text of an error.
    const spent = durationMs >= Math.min(fn.req.timeoutMs, fn.path.fast ? SYNC_BUDGET_MS : fn.req.timeoutMs) * 0.9;
    const error: GuestError =
      timedOut || (spent && !slot.isolate.isDisposed && /timed out/i.test(errorMessage(err)))
        ? {
            code: 'TIMEOUT',
            name: 'TimeoutError',
            message: `the function ran past its time limit of ${fn.req.timeoutMs} ms and was stopped`,
          }
        : slot.isolate.isDisposed
          ? memoryLimit(fn)
          : toGuestError(err, fn);
    if (slot.isolate.isDisposed) fn.slot = null;
    // Stopped from outside, the guest could not roll its env back itself.
    else fn.envDirty = true;
    return failure(error, durationMs, logs);
  }

  /** An isolate with a context and the prelude, not yet holding any function's code. */
  private async prepareIsolate(memoryMb: number): Promise<Prepared> {
    const isolate: ivm.Isolate = new ivm.Isolate({
      memoryLimit: memoryMb,
      onCatastrophicError: (m: string) => this.onCatastrophicError(m, this.owners.get(isolate) ?? null),
    });
    try {
      const context = await isolate.createContext();
      // Before anything else runs: WebAssembly memory counts against the memory limit.
      const wasmLimit: Ref = await (
        await isolate.compileScript(WASM_LIMIT, { filename: WASM_LIMIT_NAME })
      ).run(context, { reference: true });
      await wasmLimit.apply(undefined, [memoryMb * PAGES_PER_MB], { arguments: { copy: true } });
      const preludeFn: Ref = await (await isolate.compileScript(PRELUDE, { filename: PRELUDE_NAME })).run(context, { reference: true });
      const api: Ref = await preludeFn.apply(undefined, [this.limits], { arguments: { copy: true }, result: { reference: true } });
      const [invoke, begin, settle, ready, setEnv, takeLogs] = await Promise.all(
        ['invoke', 'begin', 'settle', 'ready', 'setEnv', 'takeLogs'].map((k) => api.get(k, { reference: true }) as Promise<Ref>),
      );
      return {
        memoryMb,
        isolate,
        context,
        refs: { invoke: invoke!, begin: begin!, settle: settle!, ready: ready!, setEnv: setEnv!, takeLogs: takeLogs! },
      };
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /**
   * A prepared isolate for `memoryMb`: the spare one when it fits, else the one being
   * prepared as the next spare (already under way, it is ready sooner than a new one),
   * else a new one. A new spare is prepared in the background a little later, so a
   * registration does not wait for isolate set-up.
   */
  private takeIsolate(memoryMb: number): Promise<Prepared> {
    const ready = this.spareReady;
    this.spareReady = null;
    if (ready && ready.memoryMb !== memoryMb) disposeSlot(ready);
    const coming = this.spareComing;
    let taken: Promise<Prepared>;
    if (ready && ready.memoryMb === memoryMb && !ready.isolate.isDisposed) taken = Promise.resolve(ready);
    else if (coming && coming.memoryMb === memoryMb) {
      coming.claimed = true;
      this.spareComing = null;
      taken = coming.promise.catch(() => this.prepareIsolate(memoryMb));
    } else taken = this.prepareIsolate(memoryMb);
    if (!this.closed && !this.spareComing && !this.spareTimer) {
      // Not now, which would compete with this load: after the next invocation (most
      // likely this function's first run; see spareAfterRun), or a little later.
      this.spareTimer = setTimeout(() => this.refillSpare(), SPARE_DELAY_MS).unref();
      this.spareMemoryMb = memoryMb;
    }
    return taken;
  }

  /** Starts preparing the next spare isolate, if one is due. */
  private refillSpare(): void {
    if (!this.spareTimer) return;
    clearTimeout(this.spareTimer);
    this.spareTimer = null;
    if (!this.closed && !this.spareReady && !this.spareComing) this.prepareSpare(this.spareMemoryMb);
  }

  private prepareSpare(memoryMb: number): void {
    const coming = { memoryMb, promise: this.prepareIsolate(memoryMb), claimed: false };
    this.spareComing = coming;
    coming.promise.then(
      (p) => {
        if (this.spareComing === coming) this.spareComing = null;
        if (!coming.claimed) this.keepSpare(p);
      },
      () => {
        if (this.spareComing === coming) this.spareComing = null;
      },
    );
  }

  /** Keeps an isolate no code ran in as the spare, or frees it when there is one already. */
  private keepSpare(p: Prepared): void {
    if (this.closed || this.spareReady || p.isolate.isDisposed) disposeSlot(p);
    else this.spareReady = p;
  }

  /** A fresh isolate (the spare one when it fits) with the user's bundle evaluated, the handler bound and env restored. */
  private async createSlot(fn: LoadedFunction, prepared?: Promise<Prepared>): Promise<{ slot: Slot; evaluateMs: number }> {
    const { req, bundle } = fn;
    const { isolate, context, refs } = await (prepared ?? this.takeIsolate(req.memoryMb));
    this.owners.set(isolate, fn.id);
    const { invoke, begin, settle, ready, setEnv, takeLogs } = refs;
    try {
      const te = performance.now();
      // The file runs as is (see verbatimBundle): V8 first parses it as the module it is,
      // refusing what esbuild's parser refuses (strict mode, module grammar).
      if (bundle.verbatim) isolate.compileModuleSync(bundle.verbatim.module, { filename: fn.scriptName }).release();
      let script: ivm.Script;
      try {
        // Compiling runs no guest code; a small script is compiled here rather than on
        // the isolate's thread, which would cost two thread hops.
        script =
          bundle.code.length <= SYNC_COMPILE_MAX_CHARS
            ? isolate.compileScriptSync(bundle.code, { filename: fn.scriptName })
            : await isolate.compileScript(bundle.code, { filename: fn.scriptName });
      } catch (err) {
        throw loadError('LOAD_SYNTAX', `${bundle.entry}: ${mapStack(errorMessage(err), bundle, fn.scriptName)}`, err);
      }
      try {
        await script.run(context, { timeout: req.timeoutMs });
      } catch (err) {
        const text = isolate.isDisposed ? 'ran out of memory while loading' : errorText(err, fn);
        throw loadError('LOAD_EVALUATION', `${bundle.entry} failed while loading: ${text}`, err);
      }
      // Binds the handler, restores env and takes the top-level code's logs, in one call.
      const { bound, logs } = (await ready.apply(undefined, [bundle.exportName, fn.env], {
        timeout: req.timeoutMs,
        result: { copy: true },
      })) as { bound: { ok: boolean; code?: string; type?: string; exports?: string[] }; logs: string | null };
      if (!bound.ok) throw bindError(bound, bundle);
      const evaluateMs = performance.now() - te;
      fn.pendingLogs = checkResult(logs, this.limits, Infinity).logs;
      return { slot: { isolate, context, invoke, begin, settle, setEnv, takeLogs }, evaluateMs };
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      if (err instanceof RedletError) throw err;
      throw loadError('LOAD_FAILED', `could not start the function: ${errorMessage(err)}`, err);
    }
  }
}

interface GuestResult {
  ok: boolean;
  output: string | null;
  env: string | null;
  error: GuestError | null;
  logs: LogLine[];
  dropped: number;
}

/** Codes the guest's prelude may report; anything else a guest claims is HANDLER_ERROR. */
const LOG_LEVELS = new Set(['log', 'info', 'warn', 'error', 'debug']);

/**
 * The guest controls what it returns: trust nothing about its shape, and re-check
 * every cap here (the prelude's checks run where the guest could tamper with them):
 * log line count, line length and level, error text sizes, output and env bytes.
 */
function checkResult(raw: unknown, limits: SandboxLimits, maxOutputBytes: number): GuestResult & { hostRefused: boolean } {
  let r: Partial<GuestResult> = {};
  if (typeof raw === 'string') {
    try {
      const v: unknown = JSON.parse(raw);
      if (v && typeof v === 'object' && !Array.isArray(v)) r = v as Partial<GuestResult>;
    } catch {
      r = {};
    }
  }
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const cut = (v: unknown, max: number): string => (typeof v === 'string' ? (v.length > max ? `${v.slice(0, max)}…` : v) : '');
  const rawLogs = Array.isArray(r.logs) ? r.logs : [];
  const logs: LogLine[] = [];
  for (const l of rawLogs.slice(0, limits.maxLogLines) as Array<Partial<LogLine> | null>) {
    if (!l || typeof l.msg !== 'string') continue;
    logs.push({
      t: typeof l.t === 'number' && Number.isFinite(l.t) ? l.t : Date.now(),
      level: LOG_LEVELS.has(String(l.level)) ? (l.level as LogLine['level']) : 'log',
      msg: cut(l.msg, limits.maxLogLineChars),
    });
  }
  const reportedDropped = typeof r.dropped === 'number' && Number.isFinite(r.dropped) && r.dropped > 0 ? Math.min(r.dropped, 1e9) : 0;
  const dropped = reportedDropped + Math.max(0, rawLogs.length - limits.maxLogLines);
  const e = r.error && typeof r.error === 'object' ? (r.error as Partial<GuestError>) : null;
  let error: GuestError | null = e
    ? {
        code: guestCode(e.code),
        name: cut(e.name, 200) || 'Error',
        message: cut(e.message, 4000),
        ...(typeof e.stack === 'string' ? { stack: cut(e.stack, 8000) } : {}),
      }
    : null;
  let ok = r.ok === true;
  let output = str(r.output);
  let env = str(r.env);
  let hostRefused = false;
  if (ok && output !== null && Buffer.byteLength(output, 'utf8') > maxOutputBytes) {
    error = {
      code: 'OUTPUT_TOO_LARGE',
      name: 'RangeError',
      message: `the result is ${Buffer.byteLength(output, 'utf8')} bytes of JSON, over the ${maxOutputBytes}-byte cap`,
    };
    hostRefused = true;
  } else if (ok && env !== null && (Buffer.byteLength(env, 'utf8') > limits.maxEnvBytes || env[0] !== '{')) {
    error =
      env[0] !== '{'
        ? { code: 'ENV_NOT_OBJECT', name: 'TypeError', message: 'context.env must stay a plain object' }
        : {
            code: 'ENV_TOO_LARGE',
            name: 'RangeError',
            message: `context.env is ${Buffer.byteLength(env, 'utf8')} bytes of JSON, over the ${limits.maxEnvBytes}-byte cap`,
          };
    hostRefused = true;
  }
  if (hostRefused) {
    ok = false;
    output = null;
    env = null;
  }
  return { ok, output: ok ? output : null, env: ok ? env : null, error: ok ? null : error, logs, dropped, hostRefused };
}

function failure(error: GuestError, durationMs: number, logs: LogLine[]): InvokeResult {
  return { ok: false, output: null, env: null, error, durationMs, logs, droppedLogs: 0 };
}

function memoryLimit(fn: LoadedFunction): GuestError {
  return {
    code: 'MEMORY_LIMIT',
    name: 'RangeError',
    message: `the function exceeded its memory limit of ${fn.req.memoryMb} MB; its isolate was replaced`,
  };
}

/** An error the host caught around a call (isolated-vm's own): plain, bounded text. */
function toGuestError(err: unknown, fn: LoadedFunction): GuestError {
  if (err instanceof RedletError) return { code: err.code, name: err.name, message: err.message };
  const message = errorMessage(err).slice(0, 4000);
  const stack =
    err instanceof Error && typeof err.stack === 'string' ? mapStack(err.stack.slice(0, 8000), fn.bundle, fn.scriptName) : undefined;
  return {
    code: 'SANDBOX_ERROR',
    name: err instanceof Error ? String(err.name).slice(0, 200) : 'Error',
    message,
    ...(stack ? { stack } : {}),
  };
}

function bindError(bound: { code?: string; type?: string; exports?: string[] }, bundle: Bundle): RedletError {
  const list = bound.exports?.length ? `it exports: ${bound.exports.slice(0, 20).join(', ')}` : 'it exports nothing';
  if (bound.code === 'HANDLER_NOT_FUNCTION') {
    return new RedletError('HANDLER_NOT_FUNCTION', `${bundle.entry}: export '${bundle.exportName}' is a ${bound.type}, not a function`);
  }
  return new RedletError('HANDLER_NOT_FOUND', `${bundle.entry} has no export '${bundle.exportName}' (${list})`);
}

function loadError(code: ErrorCode, message: string, cause: unknown): RedletError {
  return new RedletError(code, message, { kind: 'user', cause });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A guest error as one readable string with the user's file and line, for load errors. */
function errorText(err: unknown, fn: LoadedFunction): string {
  if (err instanceof Error && err.stack) {
    const mapped = mapStack(err.stack, fn.bundle, fn.scriptName);
    const frame = mapped.split('\n').find((l) => /^\s+at /.test(l) && !l.includes('redlet://prelude'));
    return frame ? `${err.message} (${frame.trim().replace(/^at /, '')})` : err.message;
  }
  return errorMessage(err);
}

function disposeSlot(slot: { isolate: ivm.Isolate }): void {
  if (!slot.isolate.isDisposed) {
    try {
      slot.isolate.dispose();
    } catch {
      // Already gone: nothing to free.
    }
  }
}
