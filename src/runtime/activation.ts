/**
 * Puts a function to work: loads its code into the sandbox, builds its runner (with
 * the lease guard in a cluster), installs it among the entries and starts its
 * trigger; or installs it quarantined, never to run. Also fans the runners' events
 * (completed invocations, timer lag) out to the runtime's listeners.
 *
 * @example
 * await activation.load(def, source, state.env);
 * await activation.activate(def, source, state, true);
 */
import type { FunctionSource, LoadInfo, SandboxStats } from '../../sandbox/types.js';
import { definitionRevision, type FunctionDefinition } from '../function-definition.js';
import { FunctionRunner, type InvocationEvent, type PrimedInput } from '../function-runner.js';
import { EMPTY_STATE, type PersistedState } from '../persisted-state.js';
import type { RuntimeContext } from './context.js';
import { Listeners } from './listeners.js';

/** Lag samples kept between two `drainLag()` calls at most. */
const MAX_LAG_SAMPLES = 100_000;

export class Activation {
  private readonly lagSamples: number[] = [];
  private readonly invocations: Listeners<InvocationEvent>;

  constructor(private readonly ctx: Omit<RuntimeContext, 'activation'>) {
    this.invocations = new Listeners(ctx.log, 'an invocation listener failed');
  }

  /** Loads (or reloads) the function's isolate with its code and `context.env`. */
  load(def: FunctionDefinition, source: FunctionSource, env: string): Promise<LoadInfo> {
    return this.ctx.sandbox.load(def.name, {
      source,
      handler: def.handler,
      memoryMb: def.memoryMb,
      timeoutMs: def.timeoutMs,
      env,
      name: def.name,
    });
  }

  /**
   * Installs a new runner in place of the function's current one (keeping its recent
   * logs); with `run`, it runs here and its trigger is armed once the runtime has
   * started. Resolves once the trigger is armed. `ahead`: what is known from the load
   * and done ahead for the first run (see prearm): the env the isolate was loaded with,
   * when not the state's (the first call then restores the state's), its statistics,
   * and the input read meanwhile.
   */
  activate(
    def: FunctionDefinition,
    source: FunctionSource,
    state: PersistedState,
    run: boolean,
    ahead: { loadedEnv?: string; stats?: SandboxStats; input?: PrimedInput | null } = {},
  ): Promise<void> {
    const runner = this.install(def, source, state, run);
    if (ahead.loadedEnv !== undefined && ahead.loadedEnv !== state.env) runner.restoreEnvNextCall();
    if (ahead.stats && run) this.ctx.views.prime(def.name, ahead.stats);
    if (ahead.input) runner.primeInput(ahead.input);
    return run && this.ctx.started() ? runner.start() : Promise.resolve();
  }

  /**
   * Prepares a keyspace function's first run while its code loads: subscribes to its
   * input key's notifications (the runner's trigger then finds the subscription
   * confirmed) and, once confirmed, reads the key (the first run then need not). The
   * value stays usable while no write to the key was announced since, and announcements
   * could not have been lost (the store's watch epoch is unchanged). `release` lets go
   * of the subscription (the runner's trigger holds its own).
   */
  prearm(def: FunctionDefinition): { input: PrimedInput | null; release: () => void } {
    if (def.trigger !== 'keyspace' || def.paused || !this.ctx.started()) return { input: null, release: () => {} };
    const { store } = this.ctx;
    const key = def.inputKey;
    let writes = 0;
    let sent: { writes: number; epoch: number | null | undefined } | null = null;
    const unwatch = store.watch(key, () => writes++);
    const value = unwatch.armed.then(() => {
      sent = { writes, epoch: store.watchEpoch?.(key) };
      return store.get(key);
    });
    value.catch(() => {}); // a failed read is read again by the first run
    const current = () => sent !== null && sent.epoch !== null && sent.writes === writes && store.watchEpoch?.(key) === sent.epoch;
    return { input: { value, current }, release: unwatch };
  }

  /** Lists a function whose stored definition or state failed validation; it never runs. */
  quarantine(def: FunctionDefinition, source: FunctionSource, reason: string): void {
    this.install(def, source, { ...EMPTY_STATE }, false).quarantine(reason);
    this.ctx.log.error(
      { function: def.name, reason },
      'function quarantined: what Redis holds for it fails validation; it will not run (delete it, then register it again)',
    );
  }

  /** See Runtime.onInvocation. */
  onInvocation(listener: (e: InvocationEvent) => void): () => void {
    return this.invocations.add(listener);
  }

  /** Timer lateness samples (ms) since the last call. */
  drainLag(): number[] {
    return this.lagSamples.splice(0);
  }

  private install(def: FunctionDefinition, source: FunctionSource, state: PersistedState, run: boolean): FunctionRunner {
    const { ctx } = this;
    const runner = new FunctionRunner(
      def,
      {
        store: ctx.store,
        sandbox: ctx.sandbox,
        keys: ctx.keys,
        log: ctx.log,
        redis: ctx.config.redis ? { host: ctx.config.redis.host, port: ctx.config.redis.port } : { host: 'embedded', port: 0 },
        revision: definitionRevision(def, source),
        maxOutputBytes: ctx.config.defaults.maxOutputBytes,
        keyPolicy: ctx.keyPolicy,
        // In a cluster, writes only land while this replica holds the function's lease.
        guard: ctx.cluster ? { key: ctx.keys.owner(def.name), value: ctx.replicaId } : null,
        onLag: (ms) => {
          if (this.lagSamples.length < MAX_LAG_SAMPLES) this.lagSamples.push(ms);
        },
        onInvocation: (e) => this.invocations.emit(e),
      },
      state,
    );
    const previous = ctx.entries.get(def.name)?.runner;
    if (previous) runner.status.appendLogs(previous.status.recentLogs(), 0);
    ctx.views.forget(def.name);
    ctx.entries.set(def.name, { runner, source, active: run && ctx.cluster !== null });
    return runner;
  }
}
