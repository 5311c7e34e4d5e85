/**
 * The runtime: the composition root that owns the store, the sandbox, the registry
 * and one FunctionRunner per function. The HTTP API, the pages and the CLI read and
 * steer redlet only through this class.
 *
 * @example
 * const rt = new Runtime({ config, store: new MemoryStore(), sandbox: new InProcessSandbox() });
 * await rt.start();
 * await rt.register({ name: 'avg', source, settings, origin: 'api' });
 */
import type { FunctionSource, InvokeResult, Sandbox } from '../sandbox/types.js';
import { ClusterCoordinator, type ClusterMember } from './cluster.js';
import { isPythonFilename, PYTHON_DEFAULT_MEMORY_MB } from './code-files.js';
import type { RuntimeConfig } from './config.js';
import { RedletError } from './errors.js';
import {
  definitionRevision,
  validateName,
  validateSettings,
  type FunctionDefinition,
  type FunctionSettings,
  type KeyPolicy,
  type Origin,
} from './function-definition.js';
import { FunctionRunner, EMPTY_STATE, type InvocationEvent, type ManualInvocation, type PersistedState } from './function-runner.js';
import { FunctionViews, type FunctionView } from './function-views.js';
import { DEFAULT_PREFIX, Keys } from './keys.js';
import { silentLogger, type Logger } from './logger.js';
import { Registry } from './registry.js';
import type { Store } from './store/store.js';

export interface RuntimeDeps {
  config: RuntimeConfig;
  store: Store;
  sandbox: Sandbox;
  log?: Logger;
}

export interface RegisterInput {
  name: string;
  source: FunctionSource;
  settings: Partial<FunctionSettings>;
  origin: Origin;
  /** When the code last changed (epoch ms); now when absent. */
  codeUpdatedAt?: number;
  paused?: boolean;
}

export interface UpdateInput {
  source?: FunctionSource;
  settings?: Partial<FunctionSettings>;
  resetEnv?: boolean;
  codeUpdatedAt?: number;
}

export class Runtime implements ClusterMember {
  readonly config: RuntimeConfig;
  readonly store: Store;
  readonly sandbox: Sandbox;
  readonly registry: Registry;
  readonly keys: Keys;
  readonly log: Logger;
  private readonly runners = new Map<string, FunctionRunner>();
  private readonly sources = new Map<string, FunctionSource>();
  /** Serializes register/update/delete per name. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private started = false;
  private restored = false;
  private readonly lagSamples: number[] = [];
  private readonly invocationListeners = new Set<(e: InvocationEvent) => void>();
  private readonly views: FunctionViews;
  /** With a cluster: the functions running on this replica (it holds their lease). */
  private readonly active = new Set<string>();
  readonly cluster: ClusterCoordinator | null;
  /** This process's name among replicas. */
  readonly replicaId: string;
  /** Which keys functions may use (redlet's own prefixes are never among them). */
  readonly keyPolicy: KeyPolicy;

  constructor(deps: RuntimeDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.sandbox = deps.sandbox;
    this.log = deps.log ?? silentLogger();
    this.keys = new Keys(deps.config.prefix);
    const fk = deps.config.functionKeys;
    this.keyPolicy = {
      reserved: [...new Set([deps.config.prefix, DEFAULT_PREFIX, ...(fk?.reserved ?? [])])],
      allowed: fk?.allowed ?? null,
    };
    this.registry = new Registry(this.store, this.keys, this.keyPolicy);
    this.cluster = deps.config.cluster ? new ClusterCoordinator(this, this.store, this.keys, deps.config.cluster, this.log) : null;
    this.replicaId = deps.config.cluster?.replicaId ?? 'local';
    this.views = new FunctionViews(this, this.sandbox, this.store, this.keys, this.replicaId);
    this.store.onUnreplicated?.((key) => {
      const runner = this.runners.get(this.keys.nameOf(key) ?? '');
      if (runner) runner.status.unreplicatedCommits++;
    });
  }

  /** Why Redis cannot be reached now ("Redis unavailable at host:port (ECONNREFUSED)"); null while it answers. */
  outage(): string | null {
    return this.store.available ? null : (this.store.lastError ?? 'Redis unavailable');
  }

  /** Live replicas as last seen (1 without a cluster). */
  replicaCount(): number {
    return Math.max(1, this.cluster?.replicas.length ?? 1);
  }

  /** True when the function runs in this process (always, without a cluster). */
  runsHere(name: string): boolean {
    return this.cluster === null || this.active.has(name);
  }

  /** True once stored functions are back (and the caller's start-up is done) and Redis answers. */
  get ready(): boolean {
    return this.started && this.restored && !this.startingUp && this.store.available;
  }

  private startingUp = false;

  /**
   * Brings back every stored function and starts their triggers. With `untilReady`,
   * `ready` stays false until `startupDone()` (the caller registers more first).
   */
  async start(opts: { untilReady?: boolean } = {}): Promise<void> {
    this.started = true;
    this.startingUp = opts.untilReady === true;
    this.store.onReconnect(() => void this.writeBackIfLost());
    await this.restore();
    this.cluster?.start();
  }

  /** Ends the start-up begun with `start({ untilReady: true })`. */
  startupDone(): void {
    this.startingUp = false;
  }

  /** Stops triggers, waits (bounded) for invocations in flight, frees isolates, gives leases up. */
  async stop(drainMs = 10_000): Promise<void> {
    this.started = false;
    await this.cluster?.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop(drainMs)));
    await this.cluster?.releaseAll();
    await this.sandbox.close();
  }

  /** Settings of a new function; a Python file gets Python's larger memory default. */
  defaults(source?: FunctionSource): FunctionSettings {
    const d = this.config.defaults;
    const memoryMb =
      source?.kind === 'file' && isPythonFilename(source.filename) ? Math.max(d.memoryMb, PYTHON_DEFAULT_MEMORY_MB) : d.memoryMb;
    return {
      handler: 'handler',
      inputKey: 'metrics',
      outputKey: null,
      trigger: 'poll',
      period: d.periodSeconds,
      invokeOn: 'change',
      memoryMb,
      timeoutMs: d.timeoutMs,
    };
  }

  async register(input: RegisterInput): Promise<FunctionView> {
    const name = validateName(input.name);
    return this.exclusive(name, async () => {
      if (this.runners.has(name))
        throw new RedletError('FUNCTION_EXISTS', `a function named '${name}' already exists; use PUT to replace it`);
      const settings = validateSettings({ ...this.defaults(input.source), ...stripUndefined(input.settings) }, this.keyPolicy);
      const now = Date.now();
      const def: FunctionDefinition = {
        ...settings,
        name,
        origin: input.origin,
        filename: input.source.filename,
        sourceKind: input.source.kind,
        codeUpdatedAt: input.codeUpdatedAt ?? now,
        createdAt: now,
        updatedAt: now,
        paused: input.paused ?? false,
      };
      // A leftover state (e.g. a config function across restarts) is picked up.
      const state = await this.registry.loadState(name).catch(() => ({ ...EMPTY_STATE }));
      // Loading is the validation: code that does not load is never stored.
      await this.loadIntoSandbox(def, input.source, state.env);
      try {
        // Functions from configuration are re-declared at every start; only their state is kept.
        if (def.origin !== 'config') await this.registry.save(def, input.source);
      } catch (err) {
        await this.sandbox.dispose(name);
        throw err;
      }
      // In a cluster the replica that wins the lease runs it: this one at once when the
      // assignment says so (keeping the isolate just loaded), else another, a tick later.
      const runHere = this.cluster === null || (await this.cluster.claim(name));
      if (!runHere) await this.sandbox.dispose(name);
      await this.activate(def, input.source, state, undefined, runHere);
      this.log.info({ function: name, origin: def.origin, trigger: def.trigger, inputKey: def.inputKey }, 'function registered');
      if (def.origin !== 'config') await this.cluster?.announce(name);
      else this.cluster?.kick();
      return this.view(name);
    });
  }

  async update(name: string, input: UpdateInput): Promise<FunctionView> {
    return this.exclusive(name, async () => {
      const runner = this.mustGet(name);
      if (runner.quarantined !== null)
        throw new RedletError(
          'FUNCTION_QUARANTINED',
          `function '${name}' is quarantined (${runner.quarantined}); delete it and register it again`,
        );
      const old = runner.def;
      const settings = validateSettings({ ...pickSettings(old), ...stripUndefined(input.settings ?? {}) }, this.keyPolicy);
      const source = input.source ?? this.sources.get(name)!;
      const now = Date.now();
      const def: FunctionDefinition = {
        ...old,
        ...settings,
        filename: source.filename,
        sourceKind: source.kind,
        codeUpdatedAt: input.source ? (input.codeUpdatedAt ?? now) : old.codeUpdatedAt,
        updatedAt: now,
      };
      const local = this.runsHere(name);
      if (local) await runner.stop();
      const state: PersistedState = input.resetEnv ? { ...EMPTY_STATE } : local ? runner.persisted : await this.registry.loadState(name);
      try {
        await this.loadIntoSandbox(def, source, state.env);
        if (def.origin === 'config') await this.registry.saveState(name, state);
        // Elsewhere the owner's state is the truth: write it only when asked to reset it.
        else await this.registry.save(def, input.source ?? null, local || input.resetEnv ? state : undefined);
      } catch (err) {
        // The old code keeps running: an update is all or nothing.
        if (local) {
          await this.loadIntoSandbox(old, this.sources.get(name)!, runner.persisted.env).catch(() => {});
          await runner.start();
        } else await this.sandbox.dispose(name);
        throw err;
      }
      if (!local) await this.sandbox.dispose(name);
      await this.activate(def, source, state, runner, local);
      this.log.info({ function: name }, 'function updated');
      await this.cluster?.announce(name);
      return this.view(name);
    });
  }

  async remove(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      const runner = this.mustGet(name);
      // At once, even mid-invocation: disposing the isolate ends the call in flight,
      // and the abandoned runner writes nothing of it.
      runner.abandon();
      this.runners.delete(name);
      this.sources.delete(name);
      this.active.delete(name);
      this.views.forget(name);
      await this.sandbox.dispose(name);
      await this.registry.remove(name);
      await this.store
        .exec([
          { op: 'del', key: this.keys.status(name) },
          { op: 'del', key: this.keys.history(name) },
        ])
        .catch(() => {});
      this.log.info({ function: name }, 'function deleted');
      await this.cluster?.dropped(name);
      await this.cluster?.announce(name);
    });
  }

  async pause(name: string): Promise<FunctionView> {
    return this.setPaused(name, true);
  }

  async resume(name: string): Promise<FunctionView> {
    return this.setPaused(name, false);
  }

  /** Runs once now. `dryRun` writes nothing and leaves context.env untouched. */
  async invoke(name: string, input: string | undefined, opts: { dryRun: boolean } = { dryRun: true }): Promise<ManualInvocation> {
    const runner = this.mustGet(name);
    if (this.runsHere(name)) return runner.invokeNow(input, opts);
    // Another replica runs it: a dry run here on a copy of its code and stored env.
    return this.exclusive(name, async () => {
      const state = await this.registry.loadState(name);
      await this.loadIntoSandbox(runner.def, this.sources.get(name)!, state.env);
      try {
        return await runner.invokeNow(input, { dryRun: true });
      } finally {
        if (!this.runsHere(name)) await this.sandbox.dispose(name);
      }
    });
  }

  private async setPaused(name: string, paused: boolean): Promise<FunctionView> {
    // Under the function's lock, like every other mutation: an update or a delete in
    // progress finishes first, and then this one reads what it left.
    return this.exclusive(name, async () => {
      const runner = this.mustGet(name);
      if (runner.quarantined !== null)
        throw new RedletError(
          'FUNCTION_QUARANTINED',
          `function '${name}' is quarantined (${runner.quarantined}); delete it and register it again`,
        );
      const updatedAt = Date.now();
      // Stored first: a pause that could not be saved is not half applied.
      if (runner.def.origin !== 'config') await this.registry.save({ ...runner.def, paused, updatedAt }, null);
      runner.def.updatedAt = updatedAt;
      if (this.runsHere(name)) {
        if (paused) runner.pause();
        else await runner.resume();
      } else runner.def.paused = paused;
      if (runner.def.origin !== 'config') await this.cluster?.announce(name);
      return this.view(name);
    });
  }

  names(): string[] {
    return [...this.runners.keys()].sort();
  }

  has(name: string): boolean {
    return this.runners.has(name);
  }

  runner(name: string): FunctionRunner | undefined {
    return this.runners.get(name);
  }

  source(name: string): FunctionSource | undefined {
    return this.sources.get(name);
  }

  async view(name: string): Promise<FunctionView> {
    return this.views.view(this.mustGet(name));
  }

  async list(): Promise<FunctionView[]> {
    return this.views.list(this.names().map((n) => this.runners.get(n)!));
  }

  /**
   * Calls `listener` after every completed scheduled invocation (pages keep output
   * history with it, metrics count outcomes). Returns the unsubscribe function.
   */
  onInvocation(listener: (e: InvocationEvent) => void): () => void {
    this.invocationListeners.add(listener);
    return () => this.invocationListeners.delete(listener);
  }

  /** Timer lateness samples (ms) since the last call: the scheduler's health. */
  drainLag(): number[] {
    return this.lagSamples.splice(0);
  }

  // --- ClusterMember: called by the ClusterCoordinator ---

  staleNames(registryNames: string[]): string[] {
    const stored = new Set(registryNames);
    const gone = [...this.runners.values()].filter((r) => r.def.origin !== 'config' && !stored.has(r.def.name)).map((r) => r.def.name);
    return [...registryNames.filter((n) => !this.runners.has(n)), ...gone];
  }

  async takeOver(name: string): Promise<boolean> {
    return this.exclusive(name, async () => {
      const runner = this.runners.get(name);
      if (!runner || !this.started) return false;
      if (this.active.has(name)) return true;
      // Holding the lease of a quarantined function keeps others from trying: it never runs.
      if (runner.quarantined !== null) return true;
      // The previous owner committed every completed invocation: Redis holds the truth.
      let state: PersistedState;
      try {
        state = await this.registry.loadState(name);
      } catch (err) {
        if (!(err instanceof RedletError) || err.code !== 'STATE_INVALID') throw err;
        this.activateQuarantined(runner.def, this.sources.get(name)!, err.message, runner);
        return true;
      }
      await this.loadIntoSandbox(runner.def, this.sources.get(name)!, state.env);
      await this.activate(runner.def, this.sources.get(name)!, state, runner, true);
      this.log.info({ function: name, replica: this.replicaId }, 'took the function over');
      return true;
    });
  }

  async handOver(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      if (!this.active.has(name)) return;
      this.active.delete(name);
      await this.runners.get(name)?.stop(this.config.drainMs);
      await this.sandbox.dispose(name);
      this.log.info({ function: name, replica: this.replicaId }, 'handed the function over');
    });
  }

  async refresh(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      const current = this.runners.get(name);
      if (current?.def.origin === 'config') return;
      const stored = await this.registry.load(name);
      if (!stored) {
        if (!current) return;
        await current.stop(this.config.drainMs);
        this.runners.delete(name);
        this.sources.delete(name);
        if (this.active.delete(name)) await this.sandbox.dispose(name);
        await this.cluster?.dropped(name);
        return;
      }
      if (stored.quarantined !== undefined) {
        if (current?.quarantined === stored.quarantined) return;
        if (current) await current.stop(this.config.drainMs);
        if (this.active.has(name)) await this.sandbox.dispose(name);
        this.activateQuarantined(stored.def, stored.source, stored.quarantined, current);
        return;
      }
      if (current && current.quarantined === null && current.def.updatedAt === stored.def.updatedAt) return;
      const local = this.active.has(name);
      if (local && current) {
        await current.stop(this.config.drainMs);
        await this.loadIntoSandbox(stored.def, stored.source, stored.state.env);
      }
      await this.activate(stored.def, stored.source, stored.state, current, local);
    });
  }

  async statusSnapshots(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      names.map(async (name) => {
        const runner = this.runners.get(name);
        if (!runner || !this.active.has(name)) return;
        out.set(name, await this.views.shared(runner));
      }),
    );
    return out;
  }

  private mustGet(name: string): FunctionRunner {
    const r = this.runners.get(name);
    if (!r) throw new RedletError('FUNCTION_NOT_FOUND', `no function named '${name}'`);
    return r;
  }

  private async loadIntoSandbox(def: FunctionDefinition, source: FunctionSource, env: string): Promise<void> {
    await this.sandbox.load(def.name, {
      source,
      handler: def.handler,
      memoryMb: def.memoryMb,
      timeoutMs: def.timeoutMs,
      env,
      name: def.name,
    });
  }

  /** Installs a runner; resolves once its trigger is armed (when it starts here). */
  private activate(
    def: FunctionDefinition,
    source: FunctionSource,
    state: PersistedState,
    previous?: FunctionRunner,
    run = true,
  ): Promise<void> {
    const runner = new FunctionRunner(
      def,
      {
        store: this.store,
        sandbox: this.sandbox,
        keys: this.keys,
        log: this.log,
        redis: this.config.redis ? { host: this.config.redis.host, port: this.config.redis.port } : { host: 'embedded', port: 0 },
        revision: definitionRevision(def, source),
        maxOutputBytes: this.config.defaults.maxOutputBytes,
        keyPolicy: this.keyPolicy,
        // In a cluster, writes only land while this replica holds the function's lease.
        guard: this.cluster ? { key: this.keys.owner(def.name), value: this.replicaId } : null,
        onLag: (ms) => {
          if (this.lagSamples.length < 100_000) this.lagSamples.push(ms);
        },
        onInvocation: (e) => {
          for (const l of this.invocationListeners) {
            try {
              l(e);
            } catch (err) {
              this.log.error({ err }, 'an invocation listener failed');
            }
          }
        },
      },
      state,
    );
    if (previous) runner.status.appendLogs(previous.status.recentLogs(), 0);
    this.views.forget(def.name);
    this.runners.set(def.name, runner);
    this.sources.set(def.name, source);
    if (run) {
      if (this.cluster) this.active.add(def.name);
      if (this.started) return runner.start();
    } else this.active.delete(def.name);
    return Promise.resolve();
  }

  /** Lists a function whose stored definition or state failed validation; it never runs. */
  private activateQuarantined(def: FunctionDefinition, source: FunctionSource, reason: string, previous?: FunctionRunner): void {
    void this.activate(def, source, { ...EMPTY_STATE }, previous, false);
    this.runners.get(def.name)!.quarantine(reason);
    this.log.error(
      { function: def.name, reason },
      'function quarantined: what Redis holds for it fails validation; it will not run (delete it, then register it again)',
    );
  }

  private async restore(): Promise<void> {
    let names: string[];
    for (let attempt = 0; ; attempt++) {
      try {
        names = await this.registry.names();
        break;
      } catch (err) {
        // The first attempts usually race the connection being opened: say nothing yet.
        if (attempt === 4) this.log.warn(`${(err as Error).message} at start; retrying until it answers (functions start then)`);
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 2000)));
        if (!this.started) return;
      }
    }
    await this.registry
      .migrateLegacy(names)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not move stored functions to the current key names'));
    for (const name of names) {
      if (this.runners.has(name)) continue;
      try {
        const stored = await this.registry.load(name);
        if (!stored) continue;
        if (stored.quarantined !== undefined) {
          this.activateQuarantined(stored.def, stored.source, stored.quarantined);
          continue;
        }
        // In a cluster only what this replica takes the lease of is loaded (by takeOver).
        if (!this.cluster) await this.loadIntoSandbox(stored.def, stored.source, stored.state.env);
        // Not awaited: one function's subscription must not hold the others' start.
        void this.activate(stored.def, stored.source, stored.state, undefined, this.cluster === null);
      } catch (err) {
        this.log.error({ function: name, err: (err as Error).message }, 'a stored function could not be loaded');
      }
    }
    this.restored = true;
    this.log.info({ functions: this.runners.size }, 'functions restored');
  }

  /** After Redis came back empty (no persistence), write back everything we hold. */
  private async writeBackIfLost(): Promise<void> {
    try {
      const stored = new Set(await this.registry.names());
      for (const [name, runner] of this.runners) {
        if (stored.has(name)) continue;
        if (runner.def.origin === 'config') {
          if ((await this.store.get(this.keys.state(name))) === null) await this.registry.saveState(name, runner.persisted);
          continue;
        }
        await this.registry.save(runner.def, this.sources.get(name) ?? null, runner.persisted);
        this.log.warn({ function: name }, 'Redis lost this function; written back');
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not check the registry after a reconnect');
    }
  }

  private async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function pickSettings(d: FunctionDefinition): FunctionSettings {
  const { handler, inputKey, outputKey, trigger, period, invokeOn, memoryMb, timeoutMs } = d;
  return { handler, inputKey, outputKey, trigger, period, invokeOn, memoryMb, timeoutMs };
}

export type { InvokeResult, InvocationEvent, FunctionView };
