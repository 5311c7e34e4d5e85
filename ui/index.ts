/**
 * The pages: the dashboard at `/` and its htmx partials under `/ui/`, mounted on the
 * runtime's Hono app by the entry point. They read and steer redlet only through the
 * Runtime (reading uploads with the API's own parser), keep the recent numeric output
 * of every function for the charts, and serve their own assets (no CDN).
 *
 * @example
 * await startRedlet(config, log, { mountUi });
 * // tests: a small history and a clock they control
 * mountUi(app, runtime, { history: new OutputHistory({ windowMs: 60_000 }), clock: () => now });
 */
import type { Hono } from 'hono';
import { mountActions } from './actions.js';
import { OutputHistory } from './output-history.js';
import { mountPages } from './pages.js';
import { securityHeaders } from './security-headers.js';
import { mountStatic } from './static.js';
import { StoredHistory, type ChartHistory } from './stored-history.js';
import type { Runtime } from '../src/runtime/runtime.js';

export interface UiOptions {
  /**
   * Where the charts' history is kept (default: a capped stream per function in the
   * runtime's store: 10 minutes, 600 points, 32 fields per function).
   */
  history?: ChartHistory;
  /** Epoch ms now; tests move it. */
  clock?: () => number;
}

export function mountUi(app: Hono, runtime: Runtime, opts: UiOptions = {}): void {
  const history = opts.history ?? new StoredHistory(runtime.store, (name) => runtime.keys.history(name));
  history.attach(runtime);
  const deps = { runtime, history, clock: opts.clock ?? Date.now };
  mountStatic(app);
  app.use('/', securityHeaders());
  app.use('/ui/*', securityHeaders());
  mountPages(app, deps);
  mountActions(app, deps);
}

export { OutputHistory, StoredHistory };
