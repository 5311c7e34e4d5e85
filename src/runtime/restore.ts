/**
 * The registry and this process's functions kept in step across restarts and Redis
 * outages: at start, every stored function comes back (quarantined when what Redis
 * holds fails validation); after a reconnect to a Redis that lost its data (no
 * persistence), every function held here is written back.
 *
 * @example
 * if (await restoreFunctions(ctx)) console.log('functions are back');
 * store.onReconnect(() => void writeBackIfLost(ctx));
 */
import type { RuntimeContext } from './context.js';

/**
 * Brings back every stored function, retrying until Redis answers. In a cluster only
 * definitions are installed; the replica that takes a function's lease loads it.
 * Resolves false when the runtime stopped before Redis answered.
 */
export async function restoreFunctions(ctx: RuntimeContext): Promise<boolean> {
  let names: string[];
  for (let attempt = 0; ; attempt++) {
    try {
      names = await ctx.registry.names();
      break;
    } catch (err) {
      // The first attempts usually race the connection being opened: say nothing yet.
      if (attempt === 4) ctx.log.warn(`${(err as Error).message} at start; retrying until it answers (functions start then)`);
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 2000)));
      if (!ctx.started()) return false;
    }
  }
  await ctx.registry
    .migrateLegacy(names)
    .catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not move stored functions to the current key names'));
  for (const name of names) {
    if (ctx.entries.has(name)) continue;
    try {
      const stored = await ctx.registry.load(name);
      if (!stored) continue;
      if (stored.quarantined !== undefined) {
        ctx.activation.quarantine(stored.def, stored.source, stored.quarantined);
        continue;
      }
      // In a cluster only what this replica takes the lease of is loaded (by takeOver).
      if (!ctx.cluster) await ctx.activation.load(stored.def, stored.source, stored.state.env);
      // Not awaited: one function's subscription must not hold the others' start.
      void ctx.activation.activate(stored.def, stored.source, stored.state, ctx.cluster === null);
    } catch (err) {
      ctx.log.error({ function: name, err: (err as Error).message }, 'a stored function could not be loaded');
    }
  }
  ctx.log.info({ functions: ctx.entries.size }, 'functions restored');
  return true;
}

/** After Redis came back empty (no persistence), writes back every function held here. */
export async function writeBackIfLost(ctx: RuntimeContext): Promise<void> {
  try {
    const stored = new Set(await ctx.registry.names());
    for (const [name, { runner, source }] of ctx.entries.all()) {
      if (stored.has(name)) continue;
      if (runner.def.origin === 'config') {
        if ((await ctx.store.get(ctx.keys.state(name))) === null) await ctx.registry.saveState(name, runner.persisted);
        continue;
      }
      await ctx.registry.save(runner.def, source, runner.persisted);
      ctx.log.warn({ function: name }, 'Redis lost this function; written back');
    }
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'could not check the registry after a reconnect');
  }
}
