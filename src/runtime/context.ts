/**
 * What the runtime's parts (registration, cluster hooks, restore) share: the
 * services the Runtime builds once, the function entries and their activation.
 * The Runtime is the only module that builds one.
 */
import type { FunctionViews } from '../function-views.js';
import type { Activation } from './activation.js';
import type { FunctionEntries } from './function-entries.js';
import type { Runtime } from './runtime.js';

/** The Runtime's services (see there), the function entries, their views and activation. */
export type RuntimeContext = Pick<
  Runtime,
  'config' | 'store' | 'sandbox' | 'registry' | 'keys' | 'log' | 'keyPolicy' | 'cluster' | 'replicaId'
> & {
  readonly entries: FunctionEntries;
  readonly views: FunctionViews;
  readonly activation: Activation;
  /** True from `start()` until `stop()`: runners installed meanwhile start at once. */
  started(): boolean;
};

/** True when the function runs in this process (always, without a cluster). */
export function runsHere(ctx: Pick<RuntimeContext, 'cluster' | 'entries'>, name: string): boolean {
  return ctx.cluster === null || ctx.entries.get(name)?.active === true;
}
