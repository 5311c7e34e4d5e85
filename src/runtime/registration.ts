/**
 * Changes to the set of functions, whoever asks for them (the API, the pages, the
 * configuration at start): register, update, delete, pause and resume, each under
 * the function's lock and all or nothing. The rules of what may change live here:
 * settings are validated, code is loaded before it is stored, a quarantined function
 * is only deleted, and a function from configuration is replaced or deleted only by
 * changing the configuration.
 *
 * @example
 * const registration = new Registration(ctx);
 * await registration.register({ name: 'avg', source, settings: {}, origin: 'api' });
 */
import type { FunctionSource } from '../../sandbox/types.js';
import { isPythonFilename, PYTHON_DEFAULT_MEMORY_MB } from '../code-files.js';
import type { RuntimeConfig } from '../config.js';
import { RedletError } from '../errors.js';
import { validateName, validateSettings, type FunctionDefinition, type FunctionSettings, type Origin } from '../function-definition.js';
import type { FunctionRunner } from '../function-runner.js';
import { EMPTY_STATE, type PersistedState } from '../persisted-state.js';
import type { FunctionView } from '../function-views.js';
import { runsHere, type RuntimeContext } from './context.js';
import type { FunctionEntry } from './function-entries.js';

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
  /**
   * Who asks (default `api`). A function from configuration is replaced only by the
   * configuration: any other change would be undone at the next start.
   */
  origin?: Origin;
}

/**
 * Settings of a new function; a Python file gets Python's larger memory default.
 *
 * @example
 * defaultSettings(config.defaults, { kind: 'file', filename: 'avg.py', code }).memoryMb; // at least PYTHON_DEFAULT_MEMORY_MB
 */
export function defaultSettings(d: RuntimeConfig['defaults'], source?: FunctionSource): FunctionSettings {
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

export class Registration {
  constructor(private readonly ctx: RuntimeContext) {}

  /** Validates, loads (loading is the validation of the code), stores and starts a new function. */
  async register(input: RegisterInput): Promise<FunctionView> {
    const { ctx } = this;
    const name = validateName(input.name);
    return ctx.entries.exclusive(name, async () => {
      if (ctx.entries.has(name))
        throw new RedletError('FUNCTION_EXISTS', `a function named '${name}' already exists; use PUT to replace it`);
      const settings = validateSettings(
        { ...defaultSettings(ctx.config.defaults, input.source), ...stripUndefined(input.settings) },
        ctx.keyPolicy,
      );
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
      // Independent steps overlap, for a fast first run: the keyspace subscription, the
      // input's read and the state's read with the load; the lease claim with the save.
      const ahead = ctx.activation.prearm(def);
      let runHere: boolean;
      try {
        // A leftover state (e.g. a config function across restarts) is picked up.
        const stateRead = ctx.registry.loadState(name).catch(() => ({ ...EMPTY_STATE }));
        // Loading is the validation: code that does not load is never stored. It starts
        // from an empty env; a leftover one is restored by the first call.
        const loaded = await ctx.activation.load(def, input.source, EMPTY_STATE.env);
        const state = await stateRead;
        // In a cluster the replica that wins the lease runs it: this one at once when the
        // assignment says so (keeping the isolate just loaded), else another, a tick later.
        const claim = ctx.cluster === null ? Promise.resolve(true) : ctx.cluster.claim(name);
        try {
          // Functions from configuration are re-declared at every start; only their state is kept.
          if (def.origin !== 'config') await ctx.registry.save(def, input.source);
        } catch (err) {
          if (await claim) await ctx.cluster?.dropped(name);
          await ctx.sandbox.dispose(name);
          throw err;
        }
        runHere = await claim;
        if (!runHere) await ctx.sandbox.dispose(name);
        await ctx.activation.activate(def, input.source, state, runHere, {
          loadedEnv: EMPTY_STATE.env,
          stats: loaded.stats,
          input: ahead.input,
        });
      } finally {
        ahead.release();
      }
      ctx.log.info({ function: name, origin: def.origin, trigger: def.trigger, inputKey: def.inputKey }, 'function registered');
      // The first run goes first: the announcement and the response wait for it (a short
      // while at most), so they do not compete with it, and the response shows its outcome.
      await firstRun(ctx.entries.require(name).runner);
      if (def.origin !== 'config') await ctx.cluster?.announce(name, { settled: runHere });
      else if (!runHere) ctx.cluster?.kick();
      return this.view(name);
    });
  }

  /** Replaces code and/or settings; on any failure the old code keeps running. */
  async update(name: string, input: UpdateInput): Promise<FunctionView> {
    const { ctx } = this;
    return ctx.entries.exclusive(name, async () => {
      const entry = this.changeable(name, 'replace', input.origin ?? 'api');
      const runner = entry.runner;
      refuseQuarantined(runner);
      const old = runner.def;
      const oldSource = entry.source;
      const settings = validateSettings({ ...pickSettings(old), ...stripUndefined(input.settings ?? {}) }, ctx.keyPolicy);
      const source = input.source ?? oldSource;
      const now = Date.now();
      const def: FunctionDefinition = {
        ...old,
        ...settings,
        filename: source.filename,
        sourceKind: source.kind,
        codeUpdatedAt: input.source ? (input.codeUpdatedAt ?? now) : old.codeUpdatedAt,
        updatedAt: now,
      };
      const local = runsHere(ctx, name);
      if (local) await runner.stop();
      const state: PersistedState = input.resetEnv ? { ...EMPTY_STATE } : local ? runner.persisted : await ctx.registry.loadState(name);
      try {
        await ctx.activation.load(def, source, state.env);
        if (def.origin === 'config') await ctx.registry.saveState(name, state);
        // Elsewhere the owner's state is the truth: write it only when asked to reset it.
        else await ctx.registry.save(def, input.source ?? null, local || input.resetEnv ? state : undefined);
      } catch (err) {
        // The old code keeps running: an update is all or nothing.
        if (local) {
          await ctx.activation.load(old, oldSource, runner.persisted.env).catch(() => {});
          await runner.start();
        } else await ctx.sandbox.dispose(name);
        throw err;
      }
      if (!local) await ctx.sandbox.dispose(name);
      await ctx.activation.activate(def, source, state, local);
      ctx.log.info({ function: name }, 'function updated');
      await ctx.cluster?.announce(name);
      return this.view(name);
    });
  }

  /** Deletes a function with its stored definition, state, status and history. */
  async remove(name: string): Promise<void> {
    const { ctx } = this;
    await ctx.entries.exclusive(name, async () => {
      const { runner } = this.changeable(name, 'delete', 'api');
      // At once, even mid-invocation: disposing the isolate ends the call in flight,
      // and the abandoned runner writes nothing of it.
      runner.abandon();
      ctx.entries.delete(name);
      await ctx.sandbox.dispose(name);
      await ctx.registry.remove(name);
      await ctx.store
        .exec([
          { op: 'del', key: ctx.keys.status(name) },
          { op: 'del', key: ctx.keys.history(name) },
        ])
        .catch(() => {});
      ctx.log.info({ function: name }, 'function deleted');
      await ctx.cluster?.dropped(name);
      await ctx.cluster?.announce(name);
    });
  }

  /** Pauses or resumes; a function from configuration may be paused (until the next start). */
  async setPaused(name: string, paused: boolean): Promise<FunctionView> {
    const { ctx } = this;
    // Under the function's lock, like every other mutation: an update or a delete in
    // progress finishes first, and then this one reads what it left.
    return ctx.entries.exclusive(name, async () => {
      const { runner } = ctx.entries.require(name);
      refuseQuarantined(runner);
      const updatedAt = Date.now();
      // Stored first: a pause that could not be saved is not half applied.
      if (runner.def.origin !== 'config') await ctx.registry.save({ ...runner.def, paused, updatedAt }, null);
      runner.def.updatedAt = updatedAt;
      if (runsHere(ctx, name)) {
        if (paused) runner.pause();
        else await runner.resume();
      } else runner.def.paused = paused;
      if (runner.def.origin !== 'config') await ctx.cluster?.announce(name);
      return this.view(name);
    });
  }

  /**
   * The entry of a function `origin` may replace or delete: FUNCTION_NOT_FOUND when
   * there is none; FUNCTION_FROM_CONFIG when it comes from configuration and anyone
   * else asks (the next start would undo the change).
   */
  changeable(name: string, action: ChangeAction, origin: Origin): FunctionEntry {
    const entry = this.ctx.entries.require(name);
    const refused = changeRefusal(entry.runner.def, action, origin);
    if (refused) throw refused;
    return entry;
  }

  /** What the caller gets back: the function as it is now, read under its lock. */
  private view(name: string): Promise<FunctionView> {
    return this.ctx.views.view(this.ctx.entries.require(name).runner);
  }
}

/** How long a registration's response waits for the function's first run at most. */
const FIRST_RUN_WAIT_MS = 5;

/** Resolves when the runner's tick in flight (its first, just after activation) is over, or after FIRST_RUN_WAIT_MS. */
function firstRun(runner: FunctionRunner): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_RUN_WAIT_MS)));
  return Promise.race([runner.settled(), cap]).finally(() => clearTimeout(timer));
}

function refuseQuarantined(runner: FunctionRunner): void {
  if (runner.quarantined !== null)
    throw new RedletError(
      'FUNCTION_QUARANTINED',
      `function '${runner.def.name}' is quarantined (${runner.quarantined}); delete it and register it again`,
    );
}

/** What may be refused of a function: replacing its code or settings, or deleting it. */
export type ChangeAction = 'replace' | 'delete';

/**
 * Why `origin` may not `action` the function `def` describes, or null when it may: a
 * function from configuration is replaced or deleted only by the configuration (any
 * other change would be undone at the next start).
 *
 * @example
 * changeRefusal(def, 'delete', 'api')?.code; // 'FUNCTION_FROM_CONFIG' for a function from configuration
 */
export function changeRefusal(def: FunctionDefinition, action: ChangeAction, origin: Origin): RedletError | null {
  return def.origin === 'config' && origin !== 'config' ? fromConfig(def.name, action) : null;
}

function fromConfig(name: string, action: ChangeAction): RedletError {
  return new RedletError(
    'FUNCTION_FROM_CONFIG',
    `'${name}' comes from redlet's configuration (the FUNCTION_FILE / FUNCTION_ZIP / ZIP_URL env variables, or the built-in demo, which REDLET_DEMO=0 turns off), which would bring it back at the next start; to ${action} it, change that configuration and restart redlet. Pause it to stop it now.`,
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function pickSettings(d: FunctionDefinition): FunctionSettings {
  const { handler, inputKey, outputKey, trigger, period, invokeOn, memoryMb, timeoutMs } = d;
  return { handler, inputKey, outputKey, trigger, period, invokeOn, memoryMb, timeoutMs };
}
