/**
 * The runtime: the composition root that owns the store, the sandbox, the registry
 * and one FunctionRunner per function. The HTTP API, the pages and the CLI read and
 * steer redlet only through this class; it composes the parts that do the work:
 * registration (changes asked for), cluster hooks (changes a lease brings), restore
 * and write-back (the registry kept in step), over one map of function entries.
 *
 * @example
 * const rt = new Runtime({ config: loadConfig(), store: new MemoryStore(), sandbox: new InProcessSandbox() });
 * await rt.start();
 * await rt.register({ name: 'avg', source: { kind: 'file', filename: 'avg.js', code }, settings: {}, origin: 'api' });
 */
import type { FunctionSource, InvokeResult, Sandbox } from '../../sandbox/types.js';
import { ClusterCoordinator, type ClusterMember } from '../cluster.js';
import type { RuntimeConfig } from '../config.js';
import type { RedletError } from '../errors.js';
import type { FunctionSettings, KeyPolicy } from '../function-definition.js';
import type { FunctionRunner, InvocationEvent, ManualInvocation } from '../function-runner.js';
import { FunctionViews, type FunctionView } from '../function-views.js';
import { parseJson } from '../json-text.js';
import { DEFAULT_PREFIX, Keys } from '../keys.js';
import { silentLogger, type Logger } from '../logger.js';
import { Registry } from '../registry.js';
import type { Store } from '../store/store.js';
import { Activation } from './activation.js';
import { ClusterHooks } from './cluster-hooks.js';
import { runsHere, type RuntimeContext } from './context.js';
import { FunctionEntries } from './function-entries.js';
import { changeRefusal, defaultSettings, Registration, type ChangeAction, type RegisterInput, type UpdateInput } from './registration.js';
import { restoreFunctions, writeBackIfLost } from './restore.js';

export interface RuntimeDeps {
  config: RuntimeConfig;
  store: Store;
  sandbox: Sandbox;
  log?: Logger;
}

export class Runtime implements ClusterMember {
  readonly config: RuntimeConfig;
  readonly store: Store;
  readonly sandbox: Sandbox;
  readonly registry: Registry;
  readonly keys: Keys;
  readonly log: Logger;
  readonly cluster: ClusterCoordinator | null;
  /** This process's name among replicas. */
  readonly replicaId: string;
  /** Which keys functions may use (redlet's own prefixes are never among them). */
  readonly keyPolicy: KeyPolicy;
  private readonly ctx: RuntimeContext;
  private readonly registration: Registration;
  private readonly hooks: ClusterHooks;
  private started = false;
  private restored = false;
  private startingUp = false;

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
    const entries = new FunctionEntries(this.log);
    const shared = {
      config: this.config,
      store: this.store,
      sandbox: this.sandbox,
      registry: this.registry,
      keys: this.keys,
      log: this.log,
      keyPolicy: this.keyPolicy,
      cluster: this.cluster,
      replicaId: this.replicaId,
      entries,
      views: new FunctionViews(this, this.sandbox, this.store, this.keys, this.replicaId),
      started: () => this.started,
    };
    this.ctx = { ...shared, activation: new Activation(shared) };
    entries.onRemoved((name) => shared.views.forget(name));
    this.registration = new Registration(this.ctx);
    this.hooks = new ClusterHooks(this.ctx);
    // A commit no Redis replica acknowledged counts against the function whose key it wrote.
    this.store.onUnreplicated?.((key) => {
      const entry = entries.get(this.keys.nameOf(key) ?? '');
      if (entry) entry.runner.status.unreplicatedCommits++;
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
    return runsHere(this.ctx, name);
  }

  /** True once stored functions are back (and the caller's start-up is done) and Redis answers. */
  get ready(): boolean {
    return this.started && this.restored && !this.startingUp && this.store.available;
  }

  /**
   * Brings back every stored function and starts their triggers. With `untilReady`,
   * `ready` stays false until `startupDone()` (the caller registers more first).
   */
  async start(opts: { untilReady?: boolean } = {}): Promise<void> {
    this.started = true;
    this.startingUp = opts.untilReady === true;
    this.store.onReconnect(() => void writeBackIfLost(this.ctx));
    if (await restoreFunctions(this.ctx)) this.restored = true;
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
    await Promise.all([...this.ctx.entries.all()].map(([, e]) => e.runner.stop(drainMs)));
    await this.cluster?.releaseAll();
    await this.sandbox.close();
  }

  /** Settings of a new function; a Python file gets Python's larger memory default. */
  defaults(source?: FunctionSource): FunctionSettings {
    return defaultSettings(this.config.defaults, source);
  }

  /** Registers a new function (FUNCTION_EXISTS when the name is taken). */
  register(input: RegisterInput): Promise<FunctionView> {
    return this.registration.register(input);
  }

  /** Replaces a function's code and/or settings (FUNCTION_FROM_CONFIG for one from configuration, unless the configuration asks). */
  update(name: string, input: UpdateInput): Promise<FunctionView> {
    return this.registration.update(name, input);
  }

  /** Deletes a function and what is stored of it (FUNCTION_FROM_CONFIG for one from configuration). */
  remove(name: string): Promise<void> {
    return this.registration.remove(name);
  }

  pause(name: string): Promise<FunctionView> {
    return this.registration.setPaused(name, true);
  }

  resume(name: string): Promise<FunctionView> {
    return this.registration.setPaused(name, false);
  }

  /**
   * Runs once now on `input` (JSON text; INVALID_JSON when it is not), or on the input
   * key's value when undefined. `dryRun` writes nothing and leaves context.env untouched.
   */
  async invoke(name: string, input: string | undefined, opts: { dryRun: boolean } = { dryRun: true }): Promise<ManualInvocation> {
    const { runner, source } = this.ctx.entries.require(name);
    if (input !== undefined) parseJson(input, 'the input');
    if (this.runsHere(name)) return runner.invokeNow(input, opts);
    // Another replica runs it: a dry run here on a copy of its code and stored env.
    return this.ctx.entries.exclusive(name, async () => {
      const state = await this.registry.loadState(name);
      await this.ctx.activation.load(runner.def, source, state.env);
      try {
        return await runner.invokeNow(input, { dryRun: true });
      } finally {
        if (!this.runsHere(name)) await this.sandbox.dispose(name);
      }
    });
  }

  /** Every function's name, sorted. */
  names(): string[] {
    return this.ctx.entries.names();
  }

  has(name: string): boolean {
    return this.ctx.entries.has(name);
  }

  /** The function's runner (its definition, status and state); undefined when there is none. */
  runner(name: string): FunctionRunner | undefined {
    return this.ctx.entries.get(name)?.runner;
  }

  /**
   * Refuses as `update` or `remove` would before looking at what is asked:
   * FUNCTION_NOT_FOUND, or FUNCTION_FROM_CONFIG for a function from configuration.
   * A route calls it before it reads an upload.
   */
  checkChangeable(name: string, action: ChangeAction): void {
    this.registration.changeable(name, action, 'api');
  }

  /**
   * What `checkChangeable` would refuse, as a value: the error (FUNCTION_FROM_CONFIG)
   * for a change the API and the pages may not make, null when they may. The pages
   * disable the controls it refuses. FUNCTION_NOT_FOUND is thrown, as by `existing`.
   *
   * @example
   * runtime.changeRefusal('course-reference', 'delete')?.message; // "'course-reference' comes from redlet's configuration ..."
   */
  changeRefusal(name: string, action: ChangeAction): RedletError | null {
    return changeRefusal(this.existing(name).def, action, 'api');
  }

  /** Like `runner`, but 404 FUNCTION_NOT_FOUND when there is none. */
  existing(name: string): FunctionRunner {
    return this.ctx.entries.require(name).runner;
  }

  source(name: string): FunctionSource | undefined {
    return this.ctx.entries.get(name)?.source;
  }

  async view(name: string): Promise<FunctionView> {
    return this.ctx.views.view(this.existing(name));
  }

  async list(): Promise<FunctionView[]> {
    return this.ctx.views.list(this.names().map((n) => this.existing(n)));
  }

  /**
   * Calls `listener` after every completed scheduled invocation (pages keep output
   * history with it, metrics count outcomes). Returns the unsubscribe function.
   */
  onInvocation(listener: (e: InvocationEvent) => void): () => void {
    return this.ctx.activation.onInvocation(listener);
  }

  /**
   * Calls `listener` with the name of every function this process stops holding because
   * it was deleted: through the API or the pages, or by another replica (seen when the
   * registry is re-read). Whatever keeps something per function (metrics, chart
   * history) forgets it here. Returns the unsubscribe function.
   */
  onRemoved(listener: (name: string) => void): () => void {
    return this.ctx.entries.onRemoved(listener);
  }

  /** Timer lateness samples (ms) since the last call: the scheduler's health. */
  drainLag(): number[] {
    return this.ctx.activation.drainLag();
  }

  // --- ClusterMember: called by the ClusterCoordinator (see ClusterHooks) ---

  staleNames(registryNames: string[]): string[] {
    return this.hooks.staleNames(registryNames);
  }

  takeOver(name: string): Promise<boolean> {
    return this.hooks.takeOver(name);
  }

  handOver(name: string): Promise<void> {
    return this.hooks.handOver(name);
  }

  refresh(name: string): Promise<void> {
    return this.hooks.refresh(name);
  }

  statusSnapshots(names: string[]): Promise<Map<string, string>> {
    return this.hooks.statusSnapshots(names);
  }

  statusMark(name: string): string | null {
    return this.hooks.statusMark(name);
  }
}

export type { InvokeResult, InvocationEvent, FunctionView, RegisterInput, UpdateInput };
