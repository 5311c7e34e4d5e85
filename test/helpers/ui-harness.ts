/**
 * Test harness for the pages: the API harness (a Runtime on the embedded store and
 * its Hono app, no socket) with the pages mounted, a clock the test can move, and
 * requests shaped like the browser's: htmx's `HX-Request` header, the sign-in cookie,
 * the client's address and Host.
 */
import { mountUi } from '../../ui/index.js';
import { StoredHistory } from '../../ui/stored-history.js';
import type { RegisterInput } from '../../src/runtime/runtime.js';
import { csrfToken } from '../../src/http/auth.js';
import { apiHarness, TEST_TOKEN, type ApiHarness } from './api-harness.js';
import { waitFor } from './wait.js';

export { TEST_TOKEN };

export interface PageRequest {
  method?: string;
  /** Send htmx's `HX-Request: true` (default: true for methods other than GET). */
  htmx?: boolean;
  /** The `redlet_token` cookie. */
  cookie?: string;
  /**
   * Send the page's CSRF token, as htmx does from a page rendered for a visitor who
   * may write (default: true for methods other than GET).
   */
  csrf?: boolean;
  /** The client's address (auth's loopback check); none by default. */
  remote?: string;
  headers?: Record<string, string>;
  body?: FormData | string;
}

export interface UiHarness extends ApiHarness {
  history: StoredHistory;
  /** Set to move the pages' clock; null: the real time. */
  now: number | null;
  page(path: string, opts?: PageRequest): Promise<Response>;
  /** Fetches and returns the HTML, failing on a status other than `status`. */
  html(path: string, opts?: PageRequest & { status?: number }): Promise<string>;
  /** Registers a function on the runtime reading `key('in')`, polled every 100 ms. */
  fn(name: string, code: string, settings?: RegisterInput['settings'], origin?: RegisterInput['origin']): Promise<void>;
  /** Waits until `name` completed `n` invocations. */
  invocations(name: string, n: number): Promise<void>;
}

/**
 * `env` as for apiHarness: REDLET_API_TOKEN is TEST_TOKEN unless set ('' for none).
 * Reads are public (REDLET_PUBLIC_READS=1) unless `env` says otherwise, so tests see
 * what an anonymous visitor sees.
 */
export async function uiHarness(env: Record<string, string> = {}): Promise<UiHarness> {
  const api = await apiHarness({
    store: 'memory',
    env: { ...(env.REDLET_PROTECT_READS === undefined ? { REDLET_PUBLIC_READS: '1' } : {}), ...env },
  });
  const history = new StoredHistory(api.runtime.store, (n) => api.runtime.keys.history(n));
  const h: UiHarness = {
    ...api,
    history,
    now: null,
    page(path, opts = {}) {
      const method = opts.method ?? 'GET';
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.htmx ?? method !== 'GET') headers['hx-request'] = 'true';
      if (opts.cookie !== undefined) headers.cookie = `redlet_token=${opts.cookie}`;
      if ((opts.csrf ?? method !== 'GET') && headers['x-redlet-csrf'] === undefined) headers['x-redlet-csrf'] = csrfToken(api.config.auth);
      return api.request(path, {
        method,
        token: null,
        headers,
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.remote ? { remote: opts.remote } : {}),
      });
    },
    async html(path, opts = {}) {
      const res = await h.page(path, opts);
      const text = await res.text();
      if (res.status !== (opts.status ?? 200)) throw new Error(`${opts.method ?? 'GET'} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return text;
    },
    async fn(name, code, settings = {}, origin = 'api') {
      await api.runtime.register({
        name,
        origin,
        source: { kind: 'file', filename: `${name}.js`, code },
        settings: {
          inputKey: api.key('in'),
          outputKey: api.key(`out-${name}`),
          period: 0.1,
          timeoutMs: 500,
          memoryMb: 16,
          invokeOn: 'always',
          ...settings,
        },
      });
    },
    async invocations(name, n) {
      await waitFor(async () => (await api.runtime.view(name)).status.invocations >= n, `${n} invocations of ${name}`);
    },
  };
  mountUi(api.app, api.runtime, { history, clock: () => h.now ?? Date.now() });
  return h;
}
