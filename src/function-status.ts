/**
 * Per-function status and counters, in memory: the one internal view of a function
 * that the API, the pages and the metrics read. Bounded: durations and logs are
 * ring buffers.
 *
 * @example
 * const s = new FunctionStatus('avg');
 * s.recordSuccess(1.2, Date.now(), '{"avg":1}');
 * s.snapshot().p50Ms; // 1.2
 */
import { z } from 'zod';
import { isErrorCode, type ErrorCode, type GuestError } from './errors.js';
import type { LogLine } from '../sandbox/types.js';

export const FUNCTION_STATES = ['loading', 'idle', 'waiting', 'running', 'error', 'paused', 'quarantined'] as const;
export type FunctionState = (typeof FUNCTION_STATES)[number];

const lastErrorSchema = z.object({
  code: z.custom<ErrorCode>(isErrorCode, 'not an error code'),
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  at: z.number(),
});

export type LastError = z.output<typeof lastErrorSchema>;

const nullableNumber = () => z.number().nullable();

/**
 * A function's status at one moment. Also what its owner publishes in Redis for the
 * other replicas, which read it back through this schema.
 */
export const statusSnapshotSchema = z.object({
  name: z.string(),
  state: z.enum(FUNCTION_STATES),
  /** An invocation is in flight (the state keeps saying how the last one ended). */
  running: z.boolean(),
  /** Why the state is what it is, in words (e.g. "waiting for key 'metrics'"). */
  detail: z.string().nullable(),
  invocations: z.number(),
  errors: z.number(),
  skippedTicks: z.number(),
  missedTicks: z.number(),
  unchangedTicks: z.number(),
  /**
   * Commits of its state and output that no Redis replica acknowledged in time (WAIT,
   * on Cluster and Sentinel): a failover right then would lose them. Absent in
   * snapshots published by replicas that predate it.
   */
  unreplicatedCommits: z.number().optional(),
  lastRunAt: nullableNumber(),
  lastDurationMs: nullableNumber(),
  p50Ms: nullableNumber(),
  p99Ms: nullableNumber(),
  lastError: lastErrorSchema.nullable(),
  lastOutput: z.string().nullable(),
  lastOutputAt: nullableNumber(),
  outcomes: z.record(z.string(), z.number()),
});

export type StatusSnapshot = z.output<typeof statusSnapshotSchema>;

/** One call of `set`: the state before and after, with the error that explains an 'error'. */
export interface StateChange {
  name: string;
  from: FunctionState;
  to: FunctionState;
  detail: string | null;
  lastError: LastError | null;
}

const DURATIONS = 512;
const LOGS = 500;

export class FunctionStatus {
  state: FunctionState = 'loading';
  detail: string | null = null;
  running = false;
  invocations = 0;
  errors = 0;
  skippedTicks = 0;
  missedTicks = 0;
  unchangedTicks = 0;
  unreplicatedCommits = 0;
  lastRunAt: number | null = null;
  lastDurationMs: number | null = null;
  lastError: LastError | null = null;
  lastOutput: string | null = null;
  lastOutputAt: number | null = null;
  readonly outcomes: Record<string, number> = {};
  private readonly durations = new Float64Array(DURATIONS);
  private durationCount = 0;
  private readonly logs: LogLine[] = [];
  droppedLogs = 0;

  /** Told of every state change (src/state-log.ts logs the ones a person should see). */
  onChange: ((change: StateChange) => void) | null = null;

  constructor(readonly name: string) {}

  set(state: FunctionState, detail: string | null = null): void {
    const from = this.state;
    this.state = state;
    this.detail = detail;
    if (from !== state || state === 'error') this.onChange?.({ name: this.name, from, to: state, detail, lastError: this.lastError });
  }

  recordSuccess(durationMs: number, at: number, output: string | null): void {
    this.invocations++;
    this.count('success');
    this.lastRunAt = at;
    this.pushDuration(durationMs);
    if (output !== null) {
      this.lastOutput = output.length > 64 * 1024 ? output.slice(0, 64 * 1024) : output;
      this.lastOutputAt = at;
    }
  }

  recordFailure(error: GuestError, durationMs: number | null, at: number): void {
    this.invocations++;
    this.errors++;
    this.count(outcomeOf(error.code));
    this.lastRunAt = at;
    if (durationMs !== null) this.pushDuration(durationMs);
    this.lastError = { ...error, at };
  }

  /** An error that is not an invocation (bad input, Redis down): counted, no run. */
  recordProblem(error: GuestError, at: number): void {
    this.errors++;
    this.count(outcomeOf(error.code));
    this.lastError = { ...error, at };
  }

  appendLogs(lines: LogLine[], dropped: number): void {
    for (const l of lines) {
      if (this.logs.length >= LOGS) this.logs.shift();
      this.logs.push(l);
    }
    this.droppedLogs += dropped;
  }

  recentLogs(limit = LOGS): LogLine[] {
    return this.logs.slice(-limit);
  }

  /**
   * A short string that changes whenever what other replicas show of this function
   * changes (state, counters, last run); the tick counters and durations of an idle
   * function are left out, they are refreshed with the periodic republish.
   */
  mark(): string {
    return `${this.state}|${this.running}|${this.invocations}|${this.errors}|${this.lastRunAt}|${this.lastError?.at}|${this.detail}`;
  }

  snapshot(): StatusSnapshot {
    const [p50, p99] = this.percentiles([0.5, 0.99]);
    return {
      name: this.name,
      state: this.state,
      running: this.running,
      detail: this.detail,
      invocations: this.invocations,
      errors: this.errors,
      skippedTicks: this.skippedTicks,
      missedTicks: this.missedTicks,
      unchangedTicks: this.unchangedTicks,
      unreplicatedCommits: this.unreplicatedCommits,
      lastRunAt: this.lastRunAt,
      lastDurationMs: this.lastDurationMs,
      p50Ms: p50 ?? null,
      p99Ms: p99 ?? null,
      lastError: this.lastError,
      lastOutput: this.lastOutput,
      lastOutputAt: this.lastOutputAt,
      outcomes: { ...this.outcomes },
    };
  }

  private count(outcome: string): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  private pushDuration(ms: number): void {
    this.lastDurationMs = ms;
    this.durations[this.durationCount % DURATIONS] = ms;
    this.durationCount++;
  }

  private percentiles(qs: number[]): Array<number | undefined> {
    const n = Math.min(this.durationCount, DURATIONS);
    if (n === 0) return qs.map(() => undefined);
    const sorted = this.durations.slice(0, n).sort();
    return qs.map((q) => sorted[Math.min(n - 1, Math.floor(q * n))]);
  }
}

/** The `outcome` label of an invocation counter: success, error, timeout, oom, bad_input, ... */
export function outcomeOf(code: string): string {
  switch (code) {
    case 'TIMEOUT':
      return 'timeout';
    case 'MEMORY_LIMIT':
      return 'oom';
    case 'INPUT_NOT_JSON':
    case 'INPUT_WRONG_TYPE':
      return 'bad_input';
    case 'REDIS_UNAVAILABLE':
      return 'redis_unavailable';
    case 'WORKER_CRASHED':
      return 'crash';
    case 'CRASH_LOOP_BACKOFF':
      return 'backoff';
    default:
      return 'error';
  }
}
