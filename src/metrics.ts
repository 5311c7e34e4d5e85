/**
 * Prometheus metrics of one runtime, in a prom-client Registry of its own (not the
 * global default one, so a process, or a test file, can hold several). Invocation
 * counts and durations are counted as they happen (`runtime.onInvocation`); the rest
 * (ticks skipped, isolate heap, state) is read from the runtime at scrape time. Series
 * of a deleted function go when the runtime removes it (`runtime.onRemoved`), however
 * it was deleted.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FunctionState } from './function-status.js';
import type { Runtime } from './runtime/runtime.js';

const STATES: FunctionState[] = ['loading', 'idle', 'waiting', 'running', 'error', 'paused', 'quarantined'];
type FunctionLabel = 'function';

/** Options of Metrics. */
export interface MetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean;
}

/**
 * The metrics of one runtime and the registry they live in.
 *
 * @example
 * const metrics = new Metrics(runtime);
 * const text = await metrics.render(); // Prometheus text format
 * res.headers.set('content-type', metrics.contentType);
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly invocations: Counter<FunctionLabel | 'outcome'>;
  private readonly duration: Histogram<FunctionLabel>;
  private readonly skipped: Counter<FunctionLabel>;
  private readonly missed: Counter<FunctionLabel>;
  private readonly restarts: Counter<FunctionLabel>;
  private readonly heapUsed: Gauge<FunctionLabel>;
  private readonly heapLimit: Gauge<FunctionLabel>;
  private readonly state: Gauge<FunctionLabel | 'state'>;
  private readonly functions: Gauge<'origin'>;
  private readonly storeUp: Gauge;
  private readonly unreplicated: Counter;
  /** The store's count at the last scrape (the counter grows by the difference). */
  private unreplicatedSeen = 0;
  private readonly owner: Gauge<'function' | 'owner'>;
  /** Outcome labels per function with series, to remove every series of a deleted one. */
  private readonly outcomes = new Map<string, Set<string>>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly runtime: Runtime,
    opts: MetricsOptions = {},
  ) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.invocations = new Counter({
      name: 'redlet_function_invocations_total',
      help: 'Scheduled invocations by outcome (success, error, timeout, oom, bad_input)',
      labelNames: ['function', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'redlet_function_duration_seconds',
      help: 'Time spent in the function per scheduled invocation',
      labelNames: ['function'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.skipped = new Counter({
      name: 'redlet_function_skipped_ticks_total',
      help: 'Ticks skipped because the previous invocation was still running',
      labelNames: ['function'],
      registers,
    });
    this.missed = new Counter({
      name: 'redlet_function_missed_ticks_total',
      help: 'Ticks the scheduler could not fire on time (the process was busy)',
      labelNames: ['function'],
      registers,
    });
    this.restarts = new Counter({
      name: 'redlet_function_isolate_restarts_total',
      help: 'Isolates replaced after dying (memory limit, runaway async work)',
      labelNames: ['function'],
      registers,
    });
    this.heapUsed = new Gauge({
      name: 'redlet_function_heap_used_bytes',
      help: "Heap used by the function's isolate",
      labelNames: ['function'],
      registers,
    });
    this.heapLimit = new Gauge({
      name: 'redlet_function_heap_limit_bytes',
      help: "Memory limit of the function's isolate",
      labelNames: ['function'],
      registers,
    });
    this.state = new Gauge({
      name: 'redlet_function_state',
      help: "1 for the function's current state, 0 for the others",
      labelNames: ['function', 'state'],
      registers,
    });
    this.functions = new Gauge({
      name: 'redlet_functions',
      help: 'Registered functions by origin (api, config)',
      labelNames: ['origin'],
      registers,
    });
    this.owner = new Gauge({
      name: 'redlet_function_owner',
      help: 'Which replica runs each function of the cluster (1 on the owner label; no series while no replica has it)',
      labelNames: ['function', 'owner'],
      registers,
    });
    this.storeUp = new Gauge({ name: 'redlet_store_up', help: '1 while Redis (or the embedded store) answers', registers });
    this.unreplicated = new Counter({
      name: 'redlet_commits_unreplicated_total',
      help: 'Commits of state and output by this replica that no Redis replica acknowledged within the WAIT timeout (a failover then would lose them)',
      registers,
    });

    this.unsubscribe = [
      runtime.onInvocation((e) => {
        this.ensureSeries(e.name);
        this.outcomes.get(e.name)!.add(e.outcome);
        this.invocations.inc({ function: e.name, outcome: e.outcome });
        this.duration.observe({ function: e.name }, e.durationMs / 1000);
      }),
      runtime.onRemoved((name) => this.forget(name)),
    ];
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads the runtime's current numbers and renders every metric in Prometheus text format. */
  async render(): Promise<string> {
    const views = await this.runtime.list();
    for (const m of [this.skipped, this.missed, this.restarts, this.heapUsed, this.heapLimit, this.state, this.functions, this.owner])
      m.reset();
    const byOrigin: Record<string, number> = { api: 0, config: 0 };
    for (const { definition: d, status, sandbox, owner } of views) {
      const fn = { function: d.name };
      byOrigin[d.origin] = (byOrigin[d.origin] ?? 0) + 1;
      if (owner) this.owner.set({ function: d.name, owner }, 1);
      for (const s of STATES) this.state.set({ ...fn, state: s }, s === status.state ? 1 : 0);
      // Counters come from the replica running the function only: Prometheus scrapes every
      // replica, and the others' copies would be counted twice.
      if (!this.runtime.runsHere(d.name)) continue;
      this.ensureSeries(d.name);
      this.skipped.inc(fn, status.skippedTicks);
      this.missed.inc(fn, status.missedTicks);
      this.restarts.inc(fn, sandbox?.restarts ?? 0);
      if (sandbox) {
        this.heapUsed.set(fn, sandbox.heapUsedBytes);
        this.heapLimit.set(fn, sandbox.heapLimitBytes);
      }
    }
    for (const [origin, n] of Object.entries(byOrigin)) this.functions.set({ origin }, n);
    this.storeUp.set(this.runtime.store.available ? 1 : 0);
    const unreplicated = this.runtime.store.unreplicatedCommits ?? 0;
    if (unreplicated > this.unreplicatedSeen) this.unreplicated.inc(unreplicated - this.unreplicatedSeen);
    this.unreplicatedSeen = unreplicated;
    return this.registry.metrics();
  }

  /** Drops every series of a function (after it was deleted). */
  private forget(name: string): void {
    for (const outcome of this.outcomes.get(name) ?? []) this.invocations.remove({ function: name, outcome });
    this.outcomes.delete(name);
    this.duration.remove({ function: name });
  }

  /** Stops counting (the runtime outlives this object in tests). */
  close(): void {
    for (const stop of this.unsubscribe) stop();
  }

  /** Series exist from the first sight of a function on, so rate() and absent() work before its first run. */
  private ensureSeries(name: string): void {
    if (this.outcomes.has(name)) return;
    this.outcomes.set(name, new Set(['success', 'error']));
    for (const outcome of ['success', 'error']) this.invocations.inc({ function: name, outcome }, 0);
    this.duration.zero({ function: name });
  }
}
