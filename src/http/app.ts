/**
 * The HTTP surface of one runtime, as a Hono app (testable with `app.request()`, no
 * socket): health and readiness probes, Prometheus metrics and the functions API under
 * `/api`. The pages (ui/) mount on the same app. Errors from every route, the pages'
 * included, go through `errorResponse`, the one place that maps them to statuses.
 *
 * @example
 * const app = createApp(runtime);
 * const res = await app.request('/healthz');
 */
import { Hono } from 'hono';
import { methodNotAllowed } from 'hono/method-not-allowed';
import type { Logger } from '../logger.js';
import { Metrics } from '../metrics.js';
import type { Runtime } from '../runtime/runtime.js';
import { apiRoutes } from './api-routes.js';
import { isAuthorized, readAuth } from './auth.js';
import { errorResponse, type ErrorBody } from './error-response.js';

/** Options of createApp; all optional. */
export interface AppOptions {
  /** Where request failures and the start-up warning go; the runtime's logger by default. */
  log?: Logger;
  /** Collect Node's process metrics into /metrics (default true). */
  processMetrics?: boolean;
}

/** How long /readyz waits for Redis to answer a PING. */
const READY_PING_MS = 1000;

/**
 * The app of one runtime: probes, /metrics and /api; warns once when no API token is configured.
 *
 * @example
 * const app = createApp(runtime, { log });
 * serve({ fetch: app.fetch, port: 8080 });
 */
export function createApp(runtime: Runtime, opts: AppOptions = {}): Hono {
  const log = opts.log ?? runtime.log;
  const { auth, http } = runtime.config;
  if (auth.token === null) {
    log.warn(
      'no API token is configured (REDLET_API_TOKEN or REDLET_API_TOKEN_FILE): changes through the API are accepted from this machine (loopback) only',
    );
  }
  const metrics = new Metrics(runtime, { processMetrics: opts.processMetrics ?? true });
  const app = new Hono();

  app.onError((err, c) => errorResponse(c, err, log));
  app.notFound((c) =>
    c.req.path.startsWith('/api/') || c.req.path === '/api'
      ? c.json<ErrorBody>(
          { error: { code: 'NOT_FOUND', message: `no API route ${c.req.method} ${c.req.path}; see the README's HTTP API section` } },
          404,
        )
      : c.text('404 Not Found', 404),
  );
  app.use(
    '/api/*',
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json<ErrorBody>(
          { error: { code: 'METHOD_NOT_ALLOWED', message: `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(', ')}` } },
          405,
          { Allow: methods.join(', ') },
        ),
    }),
  );

  // Probes stay open even with REDLET_PROTECT_READS (a kubelet sends no token); /readyz
  // then says only whether it is ready.
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const reachable = await ping(runtime);
    const ready = reachable && runtime.ready;
    if (auth.protectReads && !isAuthorized(c, auth)) return c.json({ status: ready ? 'ready' : 'not ready' }, ready ? 200 : 503);
    const body = {
      status: ready ? 'ready' : 'not ready',
      store: runtime.store.kind === 'memory' ? 'embedded' : 'redis',
      redis:
        runtime.store.kind === 'memory'
          ? 'embedded'
          : reachable
            ? 'available'
            : `Redis unavailable: ${runtime.store.lastError ?? 'no answer to PING'}`,
      functionsLoaded: runtime.ready,
      functions: runtime.names().length,
    };
    return c.json(body, ready ? 200 : 503);
  });

  app.get('/metrics', readAuth(auth), async (c) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType }));

  app.route('/api', apiRoutes(runtime, { auth, maxBodyBytes: http.maxBodyBytes }));
  return app;
}

async function ping(runtime: Runtime): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      runtime.store.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), READY_PING_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
