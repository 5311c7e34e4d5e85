/**
 * What the ClusterCoordinator asks of this replica's functions: take one over when
 * this replica wins its lease, hand one over when it loses it, refresh one another
 * replica changed, name the ones that differ from the registry, and publish the
 * status of those running here. Every change runs under the function's lock.
 *
 * @example
 * const hooks = new ClusterHooks(ctx);
 * if (await hooks.takeOver('avg')) console.log('avg runs here now');
 */
import { RedletError } from '../errors.js';
import type { PersistedState } from '../persisted-state.js';
import type { RuntimeContext } from './context.js';

export class ClusterHooks {
  constructor(private readonly ctx: RuntimeContext) {}

  /** Names in the registry that this replica does not hold, and stored ones it holds that the registry lost. */
  staleNames(registryNames: string[]): string[] {
    const stored = new Set(registryNames);
    const gone: string[] = [];
    for (const [name, { runner }] of this.ctx.entries.all()) if (runner.def.origin !== 'config' && !stored.has(name)) gone.push(name);
    return [...registryNames.filter((n) => !this.ctx.entries.has(n)), ...gone];
  }

  /** Loads and starts a function whose lease this replica just took; false when it does not hold it (or is stopping). */
  async takeOver(name: string): Promise<boolean> {
    const { ctx } = this;
    return ctx.entries.exclusive(name, async () => {
      const entry = ctx.entries.get(name);
      if (!entry || !ctx.started()) return false;
      if (entry.active) return true;
      const { runner, source } = entry;
      // Holding the lease of a quarantined function keeps others from trying: it never runs.
      if (runner.quarantined !== null) return true;
      // The previous owner committed every completed invocation: Redis holds the truth.
      // When it holds nothing (Redis came back empty, and the write-back has not reached
      // this function yet), what last ran here is newer than nothing: it is kept.
      let state: PersistedState;
      try {
        state = (await ctx.registry.storedState(name)) ?? runner.persisted;
      } catch (err) {
        if (!(err instanceof RedletError) || err.code !== 'STATE_INVALID') throw err;
        ctx.activation.quarantine(runner.def, source, err.message);
        return true;
      }
      await ctx.activation.load(runner.def, source, state.env);
      await ctx.activation.activate(runner.def, source, state, true);
      ctx.log.info({ function: name, replica: ctx.replicaId }, 'took the function over');
      return true;
    });
  }

  /** Stops a function here (waiting for its invocation in flight) and frees its isolate. */
  async handOver(name: string): Promise<void> {
    const { ctx } = this;
    await ctx.entries.exclusive(name, async () => {
      const entry = ctx.entries.get(name);
      if (!entry?.active) return;
      entry.active = false;
      await entry.runner.stop(ctx.config.drainMs);
      await ctx.sandbox.dispose(name);
      ctx.log.info({ function: name, replica: ctx.replicaId }, 'handed the function over');
    });
  }

  /** Re-reads a function from the registry after another replica changed (or deleted) it. */
  async refresh(name: string): Promise<void> {
    const { ctx } = this;
    await ctx.entries.exclusive(name, async () => {
      const current = ctx.entries.get(name);
      if (current?.runner.def.origin === 'config') return;
      const stored = await ctx.registry.load(name);
      if (!stored) {
        if (!current) return;
        await current.runner.stop(ctx.config.drainMs);
        ctx.entries.delete(name);
        if (current.active) await ctx.sandbox.dispose(name);
        await ctx.cluster?.dropped(name);
        return;
      }
      if (stored.quarantined !== undefined) {
        if (current?.runner.quarantined === stored.quarantined) return;
        if (current) await current.runner.stop(ctx.config.drainMs);
        if (current?.active) await ctx.sandbox.dispose(name);
        ctx.activation.quarantine(stored.def, stored.source, stored.quarantined);
        return;
      }
      if (current && current.runner.quarantined === null && current.runner.def.updatedAt === stored.def.updatedAt) return;
      const local = current?.active === true;
      if (current && local) {
        await current.runner.stop(ctx.config.drainMs);
        await ctx.activation.load(stored.def, stored.source, stored.state.env);
      }
      await ctx.activation.activate(stored.def, stored.source, stored.state, local);
    });
  }

  /** JSON status snapshots of the functions running here, for the other replicas. */
  async statusSnapshots(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      names.map(async (name) => {
        const entry = this.ctx.entries.get(name);
        if (!entry?.active) return;
        out.set(name, await this.ctx.views.shared(entry.runner));
      }),
    );
    return out;
  }

  statusMark(name: string): string | null {
    const entry = this.ctx.entries.get(name);
    return entry?.active ? entry.runner.status.mark() : null;
  }
}
