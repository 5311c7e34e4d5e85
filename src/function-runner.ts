/**
 * One function on the data path: trigger -> read the input key -> change detection ->
 * the function's isolate -> output key. It guarantees one invocation at a time, keeps
 * `context.env` and the last-seen input marker, and commits the output and that state
 * in one atomic write, so a crash or a Redis outage never half-applies an input.
 *
 * @example
 * const runner = new FunctionRunner(def, deps, persisted);
 * runner.start();
 * await runner.stop();
 */
import { createHash } from 'node:crypto';
import type { ContextFields, InvokeResult, Sandbox } from '../sandbox/types.js';
import { RedletError, type GuestError } from './errors.js';
import { checkFunctionKey, formatMtime, type FunctionDefinition, type KeyPolicy } from './function-definition.js';
import { FunctionStatus, outcomeOf, type FunctionState } from './function-status.js';
import { stateChangeLogger } from './state-log.js';
import type { Keys } from './keys.js';
import type { Logger } from './logger.js';
import type { Store } from './store/store.js';
import { unchangedInputsOf } from './store/unchanged-inputs.js';
import { encodeState, type PersistedState } from './persisted-state.js';
import { KeyspaceTrigger } from './triggers/keyspace-trigger.js';
import { PollTrigger } from './triggers/poll-trigger.js';
import type { Trigger } from './triggers/trigger.js';

export interface RunnerDeps {
  store: Store;
  sandbox: Sandbox;
  keys: Keys;
  log: Logger;
  /** What context.host / context.port report. */
  redis: { host: string; port: number };
  /** The definition's revision (definitionRevision): part of the change marker. */
  revision: string;
  maxOutputBytes: number;
  /** Checked again before every read and write of the function's keys (the last line of defence). */
  keyPolicy?: KeyPolicy;
  /** When set, writes apply only while this key holds this value (the replica's lease). */
  guard?: { key: string; value: string } | null;
  /** Scheduling lag samples, for the scheduler's statistics. */
  onLag?: (ms: number) => void;
  /** Told of every completed invocation (after its output was written). */
  onInvocation?: (event: InvocationEvent) => void;
}

/** One completed scheduled invocation, as observers (pages, metrics) see it. */
export interface InvocationEvent {
  name: string;
  ok: boolean;
  /** JSON text of the result; null when nothing was written. */
  output: string | null;
  durationMs: number;
  at: number;
  outcome: string;
}

export interface ManualInvocation extends InvokeResult {
  /** The input used (JSON text). */
  input: string;
}

/** An input value read ahead of the first tick (a registration reads it while the code loads). */
export interface PrimedInput {
  /** The value, read after the key's keyspace subscription was confirmed. */
  value: Promise<string | null>;
  /** True once that read was sent, while no write to the key has been announced since. */
  current(): boolean;
}

export function inputMarker(raw: string): string {
  // Functions sharing an input read the same string in one tick (one shared GET): hash it once.
  if (raw === lastMarked.raw) return lastMarked.marker;
  const marker = createHash('sha1').update(raw).digest('base64');
  // Only small inputs are kept for the comparison: a large one is not held in memory for it.
  if (raw.length <= 64 * 1024) lastMarked = { raw, marker };
  return marker;
}
let lastMarked = { raw: '', marker: createHash('sha1').update('').digest('base64') };

export class FunctionRunner {
  readonly status: FunctionStatus;
  private trigger: Trigger | null = null;
  private inFlight: Promise<void> | null = null;
  /** Every call into the isolate (scheduled or manual) runs in this one queue, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private rerun = false;
  private stopped = true;
  /** The guest's env moved ahead of what Redis holds (a commit failed): reset it next call. */
  private envDiverged = false;
  /** Why this function may not run (what Redis held failed validation); null: it may. */
  quarantined: string | null = null;
  /** Deleted mid-run: nothing of the run in flight may be written. */
  private abandoned = false;
  /** Keyspace notifications refused: the reason (the function polls at its period meanwhile). */
  private keyspaceRefused: string | null = null;
  /** The state's pending output may not be in its key yet (taken over, or its write failed). */
  private pendingUnsure: boolean;
  /** An input read ahead, for the first tick (see primeInput). */
  private primed: PrimedInput | null = null;

  constructor(
    readonly def: FunctionDefinition,
    private readonly deps: RunnerDeps,
    private state: PersistedState,
  ) {
    this.status = new FunctionStatus(def.name);
    this.status.set(def.paused ? 'paused' : 'idle');
    this.status.onChange = stateChangeLogger(deps.log);
    this.pendingUnsure = !!state.pending;
  }

  get persisted(): PersistedState {
    return { ...this.state };
  }

  get running(): boolean {
    return this.inFlight !== null;
  }

  /** Resolves when the tick in flight (if any) is over. */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** Starts the trigger; resolves once it is armed (a keyspace subscription confirmed). */
  start(): Promise<void> {
    if (this.quarantined !== null) return Promise.resolve();
    this.stopped = false;
    if (this.def.paused) {
      this.status.set('paused');
      return Promise.resolve();
    }
    const hooks = {
      fire: () => void this.tick(),
      missed: (n: number) => {
        this.status.missedTicks += n;
      },
      lag: this.deps.onLag,
      fallback: (reason: string | null) => {
        this.keyspaceRefused = reason;
        if (reason)
          this.deps.log.warn(
            { function: this.def.name, reason },
            `keyspace notifications refused; polling every ${this.def.period} s instead`,
          );
        else this.deps.log.info({ function: this.def.name }, 'keyspace notifications work again');
        // Shown at once while nothing else is said; otherwise with the next state change.
        const ours = this.status.detail === null || this.status.detail.startsWith('keyspace notifications unavailable');
        if (ours && this.status.state !== 'error' && this.status.state !== 'waiting') this.settle(this.status.state);
      },
    };
    const periodMs = this.def.period * 1000;
    this.trigger =
      this.def.trigger === 'keyspace'
        ? new KeyspaceTrigger(this.deps.store, this.def.inputKey, periodMs, this.def.invokeOn === 'change', hooks)
        : new PollTrigger(periodMs, hooks);
    const armed = this.trigger.start();
    if (this.status.state === 'paused' || this.status.state === 'loading') this.status.set('idle');
    return Promise.resolve(armed);
  }

  /** The isolate holds another env than the state's (loaded ahead of reading it): the next call restores the state's. */
  restoreEnvNextCall(): void {
    this.envDiverged = true;
  }

  /** The first tick handles this value instead of reading the input key, if it is still current then. */
  primeInput(input: PrimedInput): void {
    this.primed = input;
  }

  /** Stops the trigger and waits (up to `timeoutMs`) for the invocation in flight. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.stopped = true;
    this.trigger?.stop();
    this.trigger = null;
    unchangedInputsOf(this.deps.store).release(this.def.inputKey);
    if (this.inFlight) {
      await Promise.race([this.inFlight, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
  }

  /**
   * Stops at once for a deletion: the trigger ends and the invocation in flight (its
   * isolate is being disposed) writes nothing when it returns.
   */
  abandon(): void {
    this.abandoned = true;
    this.stopped = true;
    this.trigger?.stop();
    this.trigger = null;
  }

  /** Never runs again: listed with state `quarantined` and the reason, until deleted. */
  quarantine(reason: string): void {
    this.quarantined = reason;
    this.stopped = true;
    this.trigger?.stop();
    this.trigger = null;
    this.status.set('quarantined', reason);
  }

  pause(): void {
    if (this.quarantined !== null) return;
    this.def.paused = true;
    this.trigger?.stop();
    this.trigger = null;
    this.status.set('paused');
  }

  resume(): Promise<void> {
    if (this.quarantined !== null) return Promise.resolve();
    this.def.paused = false;
    if (!this.stopped) return this.start();
    this.status.set('idle');
    return Promise.resolve();
  }

  /** One look at the input; at most one at a time, extra ticks are counted as skipped. */
  tick(): Promise<void> {
    if (this.stopped || this.def.paused) return Promise.resolve();
    if (this.inFlight) {
      this.status.skippedTicks++;
      // A write announced while we run must not be lost: look again right after.
      if (this.def.trigger === 'keyspace') this.rerun = true;
      return this.inFlight;
    }
    const run = this.serial(() => this.cycle())
      .catch((err) => this.deps.log.error({ err, function: this.def.name }, 'unexpected error in a tick'))
      .finally(() => {
        this.inFlight = null;
        if (this.rerun && !this.stopped) {
          this.rerun = false;
          void this.tick();
        }
      });
    this.inFlight = run;
    return run;
  }

  /**
   * Runs once now, outside the schedule. With `dryRun` nothing is written and
   * context.env is left as it was. `input` is JSON text; when absent the input key is read.
   */
  async invokeNow(input: string | undefined, opts: { dryRun: boolean }): Promise<ManualInvocation> {
    if (this.quarantined !== null)
      throw new RedletError('FUNCTION_QUARANTINED', `function '${this.def.name}' is quarantined: ${this.quarantined}`);
    // Queued behind (and ahead of) scheduled runs: a dry run that times out or crashes
    // can only ever take its own call down, and its result goes to its caller alone.
    return this.serial(() => this.invokeOnce(input, opts));
  }

  private async invokeOnce(input: string | undefined, opts: { dryRun: boolean }): Promise<ManualInvocation> {
    if (input === undefined) this.checkKeys();
    const raw = input ?? (await this.deps.store.get(this.def.inputKey));
    if (raw === null)
      throw new RedletError('INPUT_MISSING', `input key '${this.def.inputKey}' is empty; send a JSON body to invoke with it`);
    const result = await this.deps.sandbox.invoke(this.def.name, {
      input: raw,
      context: this.contextFields(),
      dryRun: opts.dryRun,
      maxOutputBytes: this.deps.maxOutputBytes,
      ...(this.envDiverged ? { resetEnv: this.state.env } : {}),
    });
    this.envDiverged = false;
    return { ...result, input: raw };
  }

  /**
   * The input key's value: the one read ahead when it is still current once read (a
   * write announced since then is read here, or by the tick its notification brings).
   */
  private async readInput(): Promise<string | null> {
    const primed = this.primed;
    this.primed = null;
    if (primed?.current()) {
      const value = await primed.value.catch(() => undefined);
      if (value !== undefined && primed.current()) return value;
    }
    return this.deps.store.get(this.def.inputKey);
  }

  /** Runs `work` after everything queued before it; the queue goes on whatever it returns. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private async cycle(): Promise<void> {
    const { store, keys } = this.deps;
    const def = this.def;
    if (this.pendingUnsure && !(await this.writePending(true))) return;
    // A large input known (through keyspace notifications) to be the one last handled,
    // under the same definition, is not read again.
    const inputs = unchangedInputsOf(store);
    if (def.invokeOn === 'change' && this.deps.revision === this.state.revision && inputs.holds(def.inputKey, this.state.lastSeen)) {
      this.status.unchangedTicks++;
      return;
    }
    const ticket = inputs.beforeRead(def.inputKey);
    let raw: string | null;
    try {
      this.checkKeys();
      raw = await this.readInput();
    } catch (err) {
      this.problem(err instanceof RedletError ? err : new RedletError('REDIS_UNAVAILABLE', String(err), { kind: 'system' }));
      return;
    }
    if (raw === null) {
      this.settle('waiting', `waiting for input: key '${def.inputKey}' is empty`);
      return;
    }
    const marker = inputMarker(raw);
    inputs.afterRead(ticket, marker, raw.length);
    const revision = this.deps.revision;
    if (def.invokeOn === 'change' && marker === this.state.lastSeen && revision === this.state.revision) {
      this.status.unchangedTicks++;
      if (this.status.state === 'waiting') this.settle('idle');
      return;
    }

    // A function whose last run failed stays in 'error' until one succeeds.
    if (this.status.state !== 'error') this.settle('running');
    this.status.running = true;
    const startedAt = Date.now();
    let result: InvokeResult;
    try {
      result = await this.deps.sandbox.invoke(def.name, {
        input: raw,
        context: this.contextFields(),
        maxOutputBytes: this.deps.maxOutputBytes,
        ...(this.envDiverged ? { resetEnv: this.state.env } : {}),
      });
    } finally {
      this.status.running = false;
    }
    this.envDiverged = false;
    if (this.abandoned) return;
    if (result.logs.length || result.droppedLogs) this.status.appendLogs(result.logs, result.droppedLogs);

    if (!result.ok && result.error?.code === 'CRASH_LOOP_BACKOFF') {
      // Not run at all: the input stays unhandled and is looked at after the backoff.
      this.problem(new RedletError('CRASH_LOOP_BACKOFF', result.error.message, { kind: 'system' }));
      return;
    }
    if (!result.ok) {
      const error = result.error ?? { code: 'HANDLER_ERROR', name: 'Error', message: 'the function failed' };
      if (error.code === 'INPUT_NOT_JSON') {
        this.status.recordProblem(
          { ...error, message: `input key '${def.inputKey}' does not hold valid JSON: ${error.message}` },
          startedAt,
        );
      } else {
        this.status.recordFailure(error, result.durationMs, startedAt);
      }
      this.deps.onInvocation?.({
        name: def.name,
        ok: false,
        output: null,
        durationMs: result.durationMs,
        at: startedAt,
        outcome: outcomeOf(error.code),
      });
      this.settle('error', this.status.lastError?.message ?? error.message);
      // The input was delivered and failed: it is not retried until it changes. env stays
      // as of the last completed invocation.
      const next = { ...this.state, lastSeen: marker, revision };
      try {
        if (await this.commit([{ op: 'set', key: keys.state(def.name), value: encodeState(next) }])) this.state = next;
      } catch {
        // Redis is down: the input will be looked at again, which is the safe side.
      }
      return;
    }

    const finishedAt = Date.now();
    // On Redis Cluster an output key outside the function's slot cannot join the fenced
    // commit: the output rides in the state and is written to its key right after.
    const split = result.output !== null && !!def.outputKey && !store.sameSlot([def.outputKey, keys.state(def.name)]);
    const next: PersistedState = {
      env: result.env ?? this.state.env,
      lastSeen: marker,
      revision,
      lastExecution: finishedAt,
      ...(split ? { pending: { key: def.outputKey!, value: result.output! } } : {}),
    };
    const ops: Parameters<Store['exec']>[0] = [];
    if (result.output !== null && def.outputKey && !split) ops.push({ op: 'set', key: def.outputKey, value: result.output });
    ops.push({ op: 'set', key: keys.state(def.name), value: encodeState(next) });
    try {
      if (!(await this.commit(ops))) {
        // This replica lost the function's lease mid-run: the new owner handles the input.
        this.envDiverged = result.env !== null;
        this.problem(
          new RedletError('LEASE_LOST', 'another replica took this function over; this run was not written', { kind: 'system' }),
        );
        return;
      }
    } catch (err) {
      // Nothing was written: the input stays unhandled and the guest's env goes back.
      this.envDiverged = result.env !== null;
      this.problem(err instanceof RedletError ? err : new RedletError('REDIS_UNAVAILABLE', String(err), { kind: 'system' }));
      return;
    }
    this.state = next;
    if (split) {
      this.pendingUnsure = true;
      await this.writePending(false);
    }
    this.status.recordSuccess(result.durationMs, startedAt, result.output);
    this.settle('idle');
    this.deps.onInvocation?.({
      name: def.name,
      ok: true,
      output: result.output,
      durationMs: result.durationMs,
      at: finishedAt,
      outcome: 'success',
    });
  }

  /**
   * Makes sure the output key holds the committed pending output (Cluster, see
   * PersistedState.pending). With `check` (after a takeover or a failed write) a key
   * that already holds it is not written again, so the same output is not announced
   * twice. False: Redis refused; the next tick tries again before any new input.
   */
  private async writePending(check: boolean): Promise<boolean> {
    const pending = this.state.pending;
    // Only ever the function's own output key: a stored state naming another key (tampered
    // with, or from before an outputKey change) is not written anywhere.
    if (!pending || pending.key !== this.def.outputKey) {
      this.pendingUnsure = false;
      return true;
    }
    try {
      if (!check || (await this.deps.store.get(pending.key)) !== pending.value) await this.deps.store.set(pending.key, pending.value);
      this.pendingUnsure = false;
      return true;
    } catch (err) {
      this.problem(err instanceof RedletError ? err : new RedletError('REDIS_UNAVAILABLE', String(err), { kind: 'system' }));
      return false;
    }
  }

  /** Sets the state at the end of a tick, unless the function was paused meanwhile. */
  private settle(state: FunctionState, detail: string | null = null): void {
    if (this.def.paused) this.status.set('paused');
    else if (detail === null && this.keyspaceRefused !== null && this.def.trigger === 'keyspace') {
      this.status.set(state, `keyspace notifications unavailable, polling every ${this.def.period} s instead: ${this.keyspaceRefused}`);
    } else this.status.set(state, detail);
  }

  /** Refuses (RESERVED_KEY, KEY_NOT_ALLOWED) keys the policy forbids, whatever let them through. */
  private checkKeys(): void {
    const policy = this.deps.keyPolicy;
    if (!policy) return;
    checkFunctionKey(this.def.inputKey, 'inputKey', policy);
    if (this.def.outputKey !== null) checkFunctionKey(this.def.outputKey, 'outputKey', policy);
  }

  /** Writes a batch, fenced by the lease in a cluster. False when the lease is not ours. */
  private async commit(ops: Parameters<Store['exec']>[0]): Promise<boolean> {
    const policy = this.deps.keyPolicy;
    const own = new Set([this.deps.keys.state(this.def.name)]);
    // The last line of defence: a commit writes only the function's own state and
    // a key the policy allows, whatever let a definition through.
    if (policy) for (const op of ops) if (!own.has(op.key)) checkFunctionKey(op.key, 'outputKey', policy);
    const guard = this.deps.guard;
    if (guard) return this.deps.store.execIf(guard, ops);
    await this.deps.store.exec(ops);
    return true;
  }

  /** A problem outside the function (Redis down, wrong key type): no invocation happened. */
  private problem(err: RedletError): void {
    const error: GuestError = { code: err.code, name: 'RedletError', message: err.message };
    // Count an outage once, not at every tick it lasts.
    const same =
      this.status.state === 'error' &&
      this.status.lastError?.code === error.code &&
      (error.code === 'CRASH_LOOP_BACKOFF' || this.status.lastError.message === error.message);
    if (!same) this.status.recordProblem(error, Date.now());
    this.settle('error', err.message);
  }

  private contextFields(): ContextFields {
    return {
      host: this.deps.redis.host,
      port: this.deps.redis.port,
      input_key: this.def.inputKey,
      output_key: this.def.outputKey,
      function_getmtime: formatMtime(this.def.codeUpdatedAt),
      last_execution: this.state.lastExecution,
      function_name: this.def.name,
    };
  }
}
