/**
 * The supervised sandbox: isolates live in a few worker processes (worker-main.ts),
 * not in the main process, as the isolated-vm authors advise. The supervisor
 * restarts a worker that dies or stops answering its heartbeat, reloads its
 * functions from their last completed context.env, records which function was
 * running, puts a function that keeps crashing its worker into exponential
 * backoff, and moves it to a worker of its own so it cannot take its neighbours
 * down again. The main process (API, pages, scheduling) never runs guest code.
 *
 * @example
 * const box = new WorkerPoolSandbox({ workers: 2 });
 * await box.load('avg', loadRequest);
 * const r = await box.invoke('avg', invokeRequest);
 * await box.close();
 */
import { RedletError, type GuestError } from './errors.js';
import type { SandboxLimits } from './limits.js';
import type { InvokeRequest, InvokeResult, LoadInfo, LoadRequest, Sandbox, SandboxStats } from './types.js';
import { WorkerHandle, type WorkerExit } from './worker-handle.js';

export interface WorkerPoolOptions {
  /** Shared worker processes (functions are spread over them). Default 2. */
  workers?: number;
  heartbeatMs?: number;
  /** A worker that has not answered for this long is killed and replaced. */
  heartbeatTimeoutMs?: number;
  /** First crash-loop backoff; doubles with each crash in the window, up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Crashes counted within this window. */
  crashWindowMs?: number;
  /** After this many crashes in the window a function gets a worker of its own. */
  dedicateAfter?: number;
  limits?: Partial<SandboxLimits>;
  /** Told of worker deaths, restarts and moves (for logs). */
  onEvent?: (event: PoolEvent) => void;
  /** The clock crashes, their window and the backoff are measured against (epoch ms); tests pass one they can move. */
  now?: () => number;
}

export type PoolEvent =
  | { type: 'worker-exit'; pid: number; reason: string; running: string[]; blamed: string[] }
  | { type: 'worker-start'; pid: number; dedicatedTo: string | null }
  | { type: 'function-dedicated'; fn: string; crashes: number }
  | { type: 'reload-failed'; fn: string; message: string };

/** What the supervisor knows of one function, beyond what its worker holds. */
interface Entry {
  req: LoadRequest;
  worker: WorkerHandle;
  /** context.env of the last completed invocation: a replacement worker starts from it. */
  env: string;
  crashes: number[];
  backoffUntil: number;
  lastCrash: string | null;
  /** The last statistics the worker gave, shown while it is too busy to answer. */
  lastStats?: SandboxStats;
  /** Pid of the last worker this function was blamed for taking down. */
  blamedFor: number;
}

/** Sandbox statistics plus the supervisor's view of crashes. */
export interface PoolStats extends SandboxStats {
  workerPid: number;
  dedicatedWorker: boolean;
  crashes: number;
  backoffUntil: number | null;
  lastCrash: string | null;
}

export class WorkerPoolSandbox implements Sandbox {
  private readonly opts: Required<Omit<WorkerPoolOptions, 'limits' | 'onEvent' | 'now'>> & Pick<WorkerPoolOptions, 'limits' | 'onEvent'>;
  private readonly now: () => number;
  private readonly shared: WorkerHandle[] = [];
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  /** The function that took each dead worker down, when it said (by pid, the last few): a load lost with it is retried unless it was that function's own. */
  private readonly culprits = new Map<number, string | null>();

  constructor(opts: WorkerPoolOptions = {}) {
    this.opts = {
      workers: opts.workers ?? 2,
      // A healthy worker answers within a sync call's budget (20 ms); a fatal V8 error
      // inside a synchronous call hangs it instead of aborting: find that out quickly.
      heartbeatMs: opts.heartbeatMs ?? 500,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 2000,
      baseBackoffMs: opts.baseBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 60_000,
      crashWindowMs: opts.crashWindowMs ?? 10 * 60_000,
      dedicateAfter: opts.dedicateAfter ?? 2,
      limits: opts.limits,
      onEvent: opts.onEvent,
    };
    this.now = opts.now ?? Date.now;
    for (let i = 0; i < Math.max(1, this.opts.workers); i++) this.shared.push(this.spawn(null));
  }

  async load(id: string, req: LoadRequest): Promise<LoadInfo> {
    const existing = this.entries.get(id);
    let worker = existing?.worker.alive ? existing.worker : this.leastLoaded();
    let info: LoadInfo;
    // A load lost with a worker that died of something else (another function's crash,
    // a missed heartbeat on a busy machine) is tried again on its replacement; one
    // whose own code took the worker down fails with that.
    for (let attempt = 0; ; attempt++) {
      try {
        info = (await worker.request({ op: 'load', fn: id, req })) as LoadInfo;
        break;
      } catch (err) {
        const innocent = this.culprits.get(worker.pid) !== id;
        if (!(err instanceof RedletError && err.code === 'WORKER_CRASHED' && innocent && attempt < MAX_REQUEUES)) throw err;
        worker = this.leastLoaded();
      }
    }
    if (existing && existing.worker !== worker) existing.worker.forget(id);
    worker.functions.add(id);
    const entry: Entry = {
      req,
      worker,
      env: req.env,
      crashes: existing?.crashes ?? [],
      backoffUntil: existing?.backoffUntil ?? 0,
      lastCrash: existing?.lastCrash ?? null,
      blamedFor: existing?.blamedFor ?? -1,
      ...(info.stats ? { lastStats: info.stats } : {}),
    };
    this.entries.set(id, entry);
    return info.stats ? { ...info, stats: { ...info.stats, ...this.supervision(id, entry) } } : info;
  }

  async invoke(id: string, req: InvokeRequest): Promise<InvokeResult> {
    const entry = this.entries.get(id);
    if (!entry) throw new RedletError('FUNCTION_NOT_LOADED', `function '${id}' is not loaded`, { kind: 'system' });
    const now = this.now();
    if (entry.backoffUntil > now) {
      const secs = ((entry.backoffUntil - now) / 1000).toFixed(1);
      return failure(
        {
          code: 'CRASH_LOOP_BACKOFF',
          name: 'CrashLoopBackOff',
          message: `this function crashed its sandbox worker ${this.recentCrashes(entry)} time(s) recently (last: ${entry.lastCrash}); next try in ${secs} s`,
        },
        0,
      );
    }
    if (req.resetEnv !== undefined) entry.env = req.resetEnv;
    const started = performance.now();
    // A call lost with a worker that another function took down is sent again to the
    // replacement (it never completed: nothing of it was kept). Bounded, in case the
    // replacement dies too.
    for (let attempt = 0; ; attempt++) {
      const current = this.entries.get(id);
      if (!current) throw new RedletError('FUNCTION_NOT_LOADED', `function '${id}' is not loaded`, { kind: 'system' });
      const worker = current.worker;
      try {
        await worker.ready;
        const deadline = current.req.timeoutMs + this.opts.heartbeatTimeoutMs;
        const result = (await worker.request({ op: 'invoke', fn: id, req }, { fn: id, deadlineMs: deadline })) as InvokeResult;
        if (result.ok && result.env !== null && !req.dryRun) current.env = result.env;
        return result;
      } catch (err) {
        if (err instanceof RedletError && err.code === 'WORKER_CRASHED') {
          const innocent = this.entries.get(id)?.blamedFor !== worker.pid;
          if (innocent && attempt < MAX_REQUEUES) continue;
          return failure({ code: 'WORKER_CRASHED', name: 'WorkerCrashed', message: err.message }, performance.now() - started);
        }
        throw err;
      }
    }
  }

  async dispose(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.worker.forget(id);
    if (entry.worker.dedicatedTo === id) {
      entry.worker.kill();
      return;
    }
    if (entry.worker.alive) await entry.worker.request({ op: 'dispose', fn: id }).catch(() => {});
  }

  async stats(id: string): Promise<PoolStats | null> {
    const entry = this.entries.get(id);
    if (!entry) return null;
    const extra = this.supervision(id, entry);
    const limit = entry.req.memoryMb * 1024 * 1024;
    try {
      await Promise.race([entry.worker.ready, new Promise((_, reject) => setTimeout(() => reject(new Error('busy')), 1000).unref())]);
      // Statistics never kill a worker: one running a long function answers late.
      const s = (await entry.worker.request({ op: 'stats', fn: id }, { giveUpMs: 1000 })) as SandboxStats | null;
      if (s) entry.lastStats = s;
      return { ...(s ?? { heapUsedBytes: 0, heapLimitBytes: limit, restarts: 0, cpuTimeMs: 0 }), ...extra };
    } catch {
      return { ...(entry.lastStats ?? { heapUsedBytes: 0, heapLimitBytes: limit, restarts: 0, cpuTimeMs: 0 }), ...extra };
    }
  }

  /** What the supervisor adds to a function's statistics. */
  private supervision(
    id: string,
    entry: Entry,
  ): Pick<PoolStats, 'workerPid' | 'dedicatedWorker' | 'crashes' | 'backoffUntil' | 'lastCrash'> {
    return {
      workerPid: entry.worker.pid,
      dedicatedWorker: entry.worker.dedicatedTo === id,
      crashes: this.recentCrashes(entry),
      backoffUntil: entry.backoffUntil > this.now() ? entry.backoffUntil : null,
      lastCrash: entry.lastCrash,
    };
  }

  /** Process ids of the live workers (tests and diagnostics). */
  workerPids(): number[] {
    const all = new Set<WorkerHandle>([...this.shared, ...[...this.entries.values()].map((e) => e.worker)]);
    return [...all].filter((w) => w.alive).map((w) => w.pid);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = new Set<WorkerHandle>([...this.shared, ...[...this.entries.values()].map((e) => e.worker)]);
    await Promise.all([...all].map((w) => w.shutdown()));
    this.entries.clear();
  }

  private spawn(dedicatedTo: string | null): WorkerHandle {
    const worker = new WorkerHandle({
      dedicatedTo,
      limits: this.opts.limits,
      heartbeatMs: this.opts.heartbeatMs,
      heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
      onExit: (w, exit) => this.onWorkerExit(w, exit),
    });
    this.opts.onEvent?.({ type: 'worker-start', pid: worker.pid, dedicatedTo });
    return worker;
  }

  private leastLoaded(): WorkerHandle {
    const live = this.shared.filter((w) => w.alive);
    const pool = live.length ? live : this.shared;
    return pool.reduce((a, b) => (b.functions.size < a.functions.size ? b : a));
  }

  private recentCrashes(entry: Entry): number {
    const since = this.now() - this.opts.crashWindowMs;
    entry.crashes = entry.crashes.filter((t) => t >= since);
    return entry.crashes.length;
  }

  /** A worker died (or was killed for not answering): blame, back off, replace, reload. */
  private onWorkerExit(dead: WorkerHandle, exit: WorkerExit): void {
    // Only the function whose call took the worker down is at fault. When the worker
    // could not say and it hung (killed here for silence), all calls in flight are
    // suspects; killed from outside, none is (their calls are sent again).
    const blamed = exit.culprit !== null ? [exit.culprit] : exit.killedHere ? exit.running : [];
    this.culprits.set(dead.pid, exit.culprit);
    if (this.culprits.size > 64) this.culprits.delete(this.culprits.keys().next().value!);
    this.opts.onEvent?.({ type: 'worker-exit', pid: dead.pid, reason: exit.reason, running: exit.running, blamed });
    if (this.closed) return;
    const now = this.now();
    for (const fn of blamed) {
      const entry = this.entries.get(fn);
      if (!entry) continue;
      entry.blamedFor = dead.pid;
      entry.crashes.push(now);
      entry.lastCrash = `${exit.reason} at ${new Date(now).toISOString()}`;
      const n = this.recentCrashes(entry);
      entry.backoffUntil = now + Math.min(this.opts.baseBackoffMs * 2 ** (n - 1), this.opts.maxBackoffMs);
    }
    const index = this.shared.indexOf(dead);
    const affected = [...this.entries.entries()].filter(([, e]) => e.worker === dead).map(([fn]) => fn);
    let replacement: WorkerHandle | null = null;
    if (index >= 0) {
      replacement = this.spawn(null);
      this.shared[index] = replacement;
    }
    const reloads: Array<Promise<void>> = [];
    for (const fn of affected) {
      const entry = this.entries.get(fn)!;
      let target: WorkerHandle;
      if (dead.dedicatedTo === fn || this.recentCrashes(entry) >= this.opts.dedicateAfter) {
        target = this.spawn(fn);
        if (dead.dedicatedTo !== fn) this.opts.onEvent?.({ type: 'function-dedicated', fn, crashes: this.recentCrashes(entry) });
      } else {
        target = replacement ?? this.leastLoaded();
      }
      entry.worker = target;
      target.functions.add(fn);
      reloads.push(
        target
          .request({ op: 'load', fn, req: { ...entry.req, env: entry.env } })
          .then(() => undefined)
          .catch((err: Error) => this.opts.onEvent?.({ type: 'reload-failed', fn, message: err.message })),
      );
    }
    // Invocations wait for their worker to have its functions back.
    const done = Promise.all(reloads).then(() => undefined);
    const targets = new Set(affected.map((fn) => this.entries.get(fn)!.worker));
    for (const t of targets) t.holdUntil(done);
  }
}

/** How many times a call lost with someone else's crash is sent again. */
const MAX_REQUEUES = 3;

function failure(error: GuestError, durationMs: number): InvokeResult {
  return { ok: false, output: null, env: null, error, durationMs, logs: [], droppedLogs: 0 };
}
