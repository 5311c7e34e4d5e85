/** @jsxImportSource hono/jsx */
/**
 * The read routes of the pages: the dashboard `/` (one full page through the layout)
 * and the partials htmx polls: `/ui/metrics`, `/ui/functions`, `/ui/functions/:name`
 * and `/ui/functions/:name/live`. Every answer is HTML; a function that disappeared
 * is a notice, not an error status, so the browser console stays clean.
 *
 * @example
 * mountPages(app, { runtime, history, clock: Date.now });
 */
import type { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { accessOf, readGuard } from './access.js';
import { FunctionDetail, FunctionLive, MAX_LOG_LINES, type DetailData } from './function-detail.js';
import { FunctionList, FunctionsPanel, listQuery, pageOf } from './functions-panel.js';
import { Layout } from './layout.js';
import { MetricsPanel } from './metrics-panel.js';
import type { ChartHistory } from './stored-history.js';
import { RegisterForm } from './register-form.js';
import { AuthStatus } from './sign-in.js';
import type { Runtime } from '../src/runtime/runtime.js';

export interface PageDeps {
  runtime: Runtime;
  history: ChartHistory;
  /** Epoch ms now (tests move it to make data stale). */
  clock: () => number;
}

/** htmx's status for "stop polling": the function is gone. */
const STOP_POLLING = 286 as ContentfulStatusCode;

export function mountPages(app: Hono, deps: PageDeps): void {
  const { runtime, history, clock } = deps;
  const { auth } = runtime.config;
  const guard = readGuard(auth);

  app.get('/', async (c) => {
    const access = accessOf(c, auth);
    const subtitle =
      runtime.store.kind === 'memory'
        ? 'embedded store (no Redis configured)'
        : `Redis ${runtime.config.redis?.host ?? ''}:${runtime.config.redis?.port ?? ''}`;
    if (!access.canRead) {
      return c.html(
        <Layout title="redlet" csrf={access.csrf} outage={runtime.outage()} header={<AuthStatus access={access} />}>
          <section class="panel">
            <h2>Sign in</h2>
            <p>This redlet protects reads: sign in with the API token (top right) to see the dashboard.</p>
          </section>
        </Layout>,
      );
    }
    const now = clock();
    const query = listQuery(c.req.query('q'), c.req.query('page'));
    const list = pageOf(runtime.names(), query);
    const views = await viewsOf(list.names);
    const dashboardView = runtime.has(runtime.config.dashboardFunction)
      ? await runtime.view(runtime.config.dashboardFunction).catch(() => null)
      : null;
    const dashboard = runtime.config.dashboardFunction;
    const selected = c.req.query('fn');
    const detail = selected ? await detailData(selected) : null;
    return c.html(
      <Layout
        title="redlet dashboard"
        subtitle={subtitle}
        csrf={access.csrf}
        outage={runtime.outage()}
        header={<AuthStatus access={access} />}
      >
        <section id="metrics" class="panel" aria-label="Host metrics">
          <div id="metrics-panel" hx-get="/ui/metrics" hx-trigger="every 3s" hx-swap="innerHTML">
            <MetricsPanel
              name={dashboard}
              view={dashboardView}
              series={await history.series(dashboard)}
              now={now}
              windowMs={history.windowMs}
            />
          </div>
        </section>
        <section id="functions" class="panel" aria-label="Functions">
          <FunctionsPanel views={views} now={now} list={list} query={query} />
        </section>
        <section id="detail" class="panel" aria-label="Function detail">
          {detail ? <FunctionDetail data={detail} access={access} /> : <DetailPlaceholder />}
        </section>
        <section id="register" class="panel" aria-label="Register a function">
          <div class="panel-head">
            <h2>Register a function</h2>
          </div>
          <div id="register-result" aria-live="polite"></div>
          <RegisterForm access={access} defaults={runtime.defaults()} />
        </section>
      </Layout>,
    );
  });

  app.get('/ui/metrics', guard, async (c) => {
    const name = runtime.config.dashboardFunction;
    const view = runtime.has(name) ? await runtime.view(name).catch(() => null) : null;
    return c.html(<MetricsPanel name={name} view={view} series={await history.series(name)} now={clock()} windowMs={history.windowMs} />);
  });

  app.get('/ui/functions', guard, async (c) => {
    const query = listQuery(c.req.query('q'), c.req.query('page'));
    const list = pageOf(runtime.names(), query);
    return c.html(<FunctionList views={await viewsOf(list.names)} now={clock()} list={list} query={query} />);
  });

  /** Views of the functions on one page (deleted meanwhile: left out). */
  async function viewsOf(names: string[]) {
    const views = await Promise.all(names.map((n) => runtime.view(n).catch(() => null)));
    return views.filter((v) => v !== null);
  }

  app.get('/ui/functions/:name', guard, async (c) => {
    const name = c.req.param('name');
    const data = await detailData(name);
    if (!data) return c.html(<Gone name={name} />);
    return c.html(<FunctionDetail data={data} access={accessOf(c, auth)} />);
  });

  app.get('/ui/functions/:name/live', guard, async (c) => {
    const name = c.req.param('name');
    const data = await detailData(name);
    if (!data) return c.html(<Gone name={name} />, STOP_POLLING);
    return c.html(<FunctionLive data={data} />);
  });

  async function detailData(name: string): Promise<DetailData | null> {
    const runner = runtime.runner(name);
    if (!runner) return null;
    const deleteRefused = runtime.changeRefusal(name, 'delete')?.message ?? null;
    // Deleted between the check and the read: treat as gone.
    const view = await runtime.view(name).catch(() => null);
    if (!view) return null;
    return {
      view,
      series: await history.series(name),
      logs: runner.status.recentLogs(MAX_LOG_LINES),
      env: runner.persisted.env,
      deleteRefused,
      now: clock(),
      windowMs: history.windowMs,
    };
  }
}

export function DetailPlaceholder() {
  return <p class="notice">Select a function above to see its settings, output, logs and actions.</p>;
}

/** What the detail shows for a function that no longer exists. */
export function Gone(p: { name: string }) {
  return (
    <p class="notice" data-gone={p.name}>
      There is no function named <code>{p.name}</code> (any more).
    </p>
  );
}
