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
import type { FunctionSource, InvokeResult, Sandbox, SandboxStats } from '../sandbox/types.js';
import type { RuntimeConfig } from './config.js';
import { RedletError } from './errors.js';
import { validateName, validateSettings, type FunctionDefinition, type FunctionSettings, type Origin } from './function-definition.js';
import { FunctionRunner, EMPTY_STATE, type InvocationEvent, type ManualInvocation, type PersistedState } from './function-runner.js';
import type { StatusSnapshot } from './function-status.js';
import { Keys } from './keys.js';
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

/** Everything a reader needs to know about one function. */
export interface FunctionView {
  definition: FunctionDefinition;
  status: StatusSnapshot;
  sandbox: SandboxStats | null;
}

export class Runtime {
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

  constructor(deps: RuntimeDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.sandbox = deps.sandbox;
    this.log = deps.log ?? silentLogger();
    this.keys = new Keys(deps.config.prefix);
    this.registry = new Registry(this.store, this.keys);
  }

  /** True once stored functions are back and Redis answers. */
  get ready(): boolean {
    return this.started && this.restored && this.store.available;
  }

  /** Brings back every stored function and starts their triggers. */
  async start(): Promise<void> {
    this.started = true;
    this.store.onReconnect(() => void this.writeBackIfLost());
    await this.restore();
  }

  /** Stops triggers, waits (bounded) for invocations in flight, frees isolates. */
  async stop(drainMs = 10_000): Promise<void> {
    this.started = false;
    await Promise.all([...this.runners.values()].map((r) => r.stop(drainMs)));
    await this.sandbox.close();
  }

  defaults(): FunctionSettings {
    const d = this.config.defaults;
    return { handler: 'handler', inputKey: 'metrics', outputKey: null, trigger: 'poll', period: d.periodSeconds, invokeOn: 'change', memoryMb: d.memoryMb, timeoutMs: d.timeoutMs };
  }

  async register(input: RegisterInput): Promise<FunctionView> {
    const name = validateName(input.name);
    return this.exclusive(name, async () => {
      if (this.runners.has(name)) throw new RedletError('FUNCTION_EXISTS', `a function named '${name}' already exists; use PUT to replace it`);
      const settings = validateSettings({ ...this.defaults(), ...stripUndefined(input.settings) });
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
      await this.loadIntoSandbox(def, input.source, state.env);
      try {
        // Functions from configuration are re-declared at every start; only their state is kept.
        if (def.origin !== 'config') await this.registry.save(def, input.source);
      } catch (err) {
        await this.sandbox.dispose(name);
        throw err;
      }
      this.activate(def, input.source, state);
      this.log.info({ function: name, origin: def.origin, trigger: def.trigger, inputKey: def.inputKey }, 'function registered');
      return this.view(name);
    });
  }

  async update(name: string, input: UpdateInput): Promise<FunctionView> {
    return this.exclusive(name, async () => {
      const runner = this.mustGet(name);
      const old = runner.def;
      const settings = validateSettings({ ...pickSettings(old), ...stripUndefined(input.settings ?? {}) });
      const source = input.source ?? this.sources.get(name)!;
      const now = Date.now();
      const def: FunctionDefinition = {
        ...old,
        ...settings,
        filename: source.filename,
        sourceKind: source.kind,
        codeUpdatedAt: input.source ? input.codeUpdatedAt ?? now : old.codeUpdatedAt,
        updatedAt: now,
      };
      await runner.stop();
      const state: PersistedState = input.resetEnv ? { ...EMPTY_STATE } : runner.persisted;
      try {
        await this.loadIntoSandbox(def, source, state.env);
        if (def.origin === 'config') await this.registry.saveState(name, state);
        else await this.registry.save(def, input.source ?? null, state);
      } catch (err) {
        // The old code keeps running: an update is all or nothing.
        await this.loadIntoSandbox(old, this.sources.get(name)!, runner.persisted.env).catch(() => {});
        runner.start();
        throw err;
      }
      this.activate(def, source, state, runner);
      this.log.info({ function: name }, 'function updated');
      return this.view(name);
    });
  }

  async remove(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      const runner = this.mustGet(name);
      await runner.stop();
      this.runners.delete(name);
      this.sources.delete(name);
      await this.sandbox.dispose(name);
      await this.registry.remove(name);
      this.log.info({ function: name }, 'function deleted');
    });
  }

  async pause(name: string): Promise<FunctionView> {
    const runner = this.mustGet(name);
    runner.pause();
    if (runner.def.origin !== 'config') await this.registry.save(runner.def, null);
    return this.view(name);
  }

  async resume(name: string): Promise<FunctionView> {
    const runner = this.mustGet(name);
    runner.resume();
    if (runner.def.origin !== 'config') await this.registry.save(runner.def, null);
    return this.view(name);
  }

  /** Runs once now. `dryRun` writes nothing and leaves context.env untouched. */
  async invoke(name: string, input: string | undefined, opts: { dryRun: boolean } = { dryRun: true }): Promise<ManualInvocation> {
    return this.mustGet(name).invokeNow(input, opts);
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
    const runner = this.mustGet(name);
    return { definition: { ...runner.def }, status: runner.status.snapshot(), sandbox: await this.sandbox.stats(name) };
  }

  async list(): Promise<FunctionView[]> {
    return Promise.all(this.names().map((n) => this.view(n)));
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

  private mustGet(name: string): FunctionRunner {
    const r = this.runners.get(name);
    if (!r) throw new RedletError('FUNCTION_NOT_FOUND', `no function named '${name}'`);
    return r;
  }

  private async loadIntoSandbox(def: FunctionDefinition, source: FunctionSource, env: string): Promise<void> {
    await this.sandbox.load(def.name, { source, handler: def.handler, memoryMb: def.memoryMb, timeoutMs: def.timeoutMs, env, name: def.name });
  }

  private activate(def: FunctionDefinition, source: FunctionSource, state: PersistedState, previous?: FunctionRunner): void {
    const runner = new FunctionRunner(
      def,
      {
        store: this.store,
        sandbox: this.sandbox,
        keys: this.keys,
        log: this.log,
        redis: this.config.redis ? { host: this.config.redis.host, port: this.config.redis.port } : { host: 'embedded', port: 0 },
        maxOutputBytes: this.config.defaults.maxOutputBytes,
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
    this.runners.set(def.name, runner);
    this.sources.set(def.name, source);
    if (this.started) runner.start();
  }

  private async restore(): Promise<void> {
    let names: string[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        names = await this.registry.names();
        break;
      } catch (err) {
        if (attempt === 0) this.log.warn({ err: (err as Error).message }, 'Redis unavailable at start; retrying');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 2000)));
        if (!this.started) return;
      }
    }
    for (const name of names) {
      if (this.runners.has(name)) continue;
      try {
        const stored = await this.registry.load(name);
        if (!stored) continue;
        await this.loadIntoSandbox(stored.def, stored.source, stored.state.env);
        this.activate(stored.def, stored.source, stored.state);
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

export type { InvokeResult, InvocationEvent };
