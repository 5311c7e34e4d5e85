// The dashboard page and its partials through app.request(): what they show, that
// everything a function produced is escaped, and who sees which controls.
import { PAGE_SIZE, pageOf } from './functions-panel.js';
import { staleReason } from './metrics-panel.js';
import type { FunctionView } from '../src/runtime/runtime.js';
import { afterEach, describe, expect, it } from 'vitest';
import { uiHarness, TEST_TOKEN, type UiHarness } from '../test/helpers/ui-harness.js';

const REFERENCE_LIKE = `export function handler() {
  return { 'percent-network-egress': 2.5, 'percent-memory-cache': 41.9, 'avg-util-cpu0-60sec': 12.5, 'avg-util-cpu1-60sec': 90 };
}`;

// Names are DNS labels, so hostile text comes through output, logs, env and errors.
const HOSTILE = `export function handler(input, context) {
  console.log('<script>alert("log")</script>');
  context.env.note = '<img src=x onerror=alert("env")>';
  if (input.fail) throw new Error('<script>alert("error")</script>');
  return { text: '<script>alert("output")</script>', '<b>key</b>': 1 };
}`;

let h: UiHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function harness(env: Record<string, string> = {}): Promise<UiHarness> {
  h = await uiHarness(env);
  await h.store.set(h.key('in'), '{}');
  return h;
}

describe('the dashboard page', () => {
  it('renders every panel through the layout, with htmx and CSS served by redlet', async () => {
    const t = await harness();
    const res = await t.page('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await res.text();
    expect(page.startsWith('<!doctype html>')).toBe(true);
    for (const id of ['metrics', 'functions', 'detail', 'register']) expect(page).toContain(`<section id="${id}"`);
    expect(page).toMatch(/<script src="\/static\/htmx\.min\.js\?v=[0-9a-f]+" defer/);
    expect(page).not.toMatch(/src="https?:/);
    expect(page).toContain('hx-get="/ui/metrics" hx-trigger="every 3s" hx-swap="innerHTML"');
    expect(page).toContain('hx-trigger="every 3s, functions-changed from:body"');
  });

  it('serves htmx 2 from node_modules and its own CSS, cacheable', async () => {
    const t = await harness();
    const js = await t.page('/static/htmx.min.js?v=1');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await js.text()).toContain('version:"2.');
    const css = await t.page('/static/dashboard.css');
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('.chart-plot');
    const again = await t.page('/static/dashboard.css', { headers: { 'if-none-match': css.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('opens a function from the address (/?fn=name)', async () => {
    const t = await harness();
    await t.fn('deep', 'export const handler = () => ({ a: 1 })');
    expect(await t.html('/?fn=deep')).toContain('data-function="deep"');
  });
});

describe('the metrics panel', () => {
  it('says which function it waits for when there is none', async () => {
    const t = await harness();
    const html = await t.html('/ui/metrics');
    expect(html).toContain('data-state="missing"');
    expect(html).toContain('No function named <code>course-reference</code>');
  });

  it('says it waits for the first output', async () => {
    const t = await harness({ REDLET_DASHBOARD_FUNCTION: 'ref' });
    await t.fn('ref', REFERENCE_LIKE, { inputKey: t.key('empty') });
    expect(await t.html('/ui/metrics')).toContain('data-state="waiting"');
  });

  it('charts each value over time, a bar per CPU, and when the data was produced', async () => {
    const t = await harness({ REDLET_DASHBOARD_FUNCTION: 'ref' });
    await t.fn('ref', REFERENCE_LIKE);
    await t.invocations('ref', 1);
    const html = await t.html('/ui/metrics');
    expect(html).toContain('data-state="fresh"');
    for (const id of ['percent-network-egress', 'percent-memory-cache', 'avg-util-cpu0-60sec', 'avg-util-cpu1-60sec']) {
      expect(html).toContain(`id="metric-${id}"`);
    }
    expect(html).toContain('Outgoing traffic');
    expect(html).toContain('Memory cache');
    expect(html.match(/class="bar-row"/g)).toHaveLength(2);
    expect(html).toContain('class="bar-fill level-high" x="0" y="0" width="90.00"');
    expect(html).toMatch(/updated at <time id="metrics-updated" datetime="[^"]+">\d\d:\d\d:\d\d<\/time>/);
    expect(html).not.toContain('Stale');
  });

  it('warns when the data is stale', async () => {
    const t = await harness({ REDLET_DASHBOARD_FUNCTION: 'ref' });
    await t.fn('ref', REFERENCE_LIKE, { period: 5 });
    await t.invocations('ref', 1);
    await t.runtime.pause('ref');
    t.now = Date.now() + 16_000;
    expect(await t.html('/ui/metrics')).not.toContain('Stale');
    t.now = Date.now() + 60_000;
    const html = await t.html('/ui/metrics');
    expect(html).toContain('data-state="stale"');
    expect(html).toMatch(/Stale: no new output for 6\d\.\d s: the function is paused\./);
    expect(html).toContain('data-reason="paused"');
  });
});

describe('the functions panel', () => {
  it('has a row per function with origin, trigger, state, counters and heap', async () => {
    const t = await harness();
    await t.fn('alpha', 'export const handler = () => 1');
    await t.fn('beta', 'export const handler = () => 1', { trigger: 'keyspace', period: 5, invokeOn: 'change' }, 'config');
    await t.invocations('alpha', 2);
    const html = await t.html('/ui/functions');
    expect(html.match(/<tr id="row-/g)).toHaveLength(2);
    const alpha = html.slice(html.indexOf('id="row-alpha"'), html.indexOf('id="row-beta"'));
    expect(alpha).toContain('hx-get="/ui/functions/alpha" hx-target="#detail"');
    expect(alpha).toContain('>API<');
    expect(alpha).toContain('poll · every 0.1 s, always');
    expect(alpha).toMatch(/class="badge state-(idle|running)"/);
    expect(alpha).toMatch(/data-label="Heap"><div><span>[\d.]+ [KM]B \/ 16\.0 MB/);
    const beta = html.slice(html.indexOf('id="row-beta"'));
    expect(beta).toContain('>config<');
    expect(beta).toContain('keyspace · on write (checks every 5 s)');
  });

  it('says when there are none', async () => {
    const t = await harness();
    expect(await t.html('/ui/functions')).toContain('No functions yet');
  });
});

describe('the function detail', () => {
  it('shows settings, last output, logs, env and charts of numeric fields', async () => {
    const t = await harness();
    await t.fn(
      'calc',
      `export function handler(input, context) { context.env.n = (context.env.n ?? 0) + 1; console.log('run', context.env.n); return { n: context.env.n, label: 'x' }; }`,
    );
    await t.invocations('calc', 2);
    const html = await t.html('/ui/functions/calc');
    expect(html).toContain('data-function="calc"');
    expect(html).toContain(`<code>${t.key('in')}</code>`);
    expect(html).toContain('16 MB memory, 500 ms per call');
    expect(html).toMatch(/<pre class="block" id="last-output">\{\n {2}&quot;n&quot;: \d+,\n {2}&quot;label&quot;: &quot;x&quot;\n\}/);
    expect(html).toMatch(/<ol class="logs mono" id="logs"><li class="log-log">[\d:]+ log {3}run 1<\/li>/);
    expect(html).toMatch(/id="env">\{\n {2}&quot;n&quot;: \d+\n\}/);
    expect(html).toContain('id="detail-n"');
    expect(html).toContain('hx-get="/ui/functions/calc/live" hx-trigger="every 3s"');
  });

  it('shows the last error with its stack', async () => {
    const t = await harness();
    await t.fn('boom', `export function handler() { throw new TypeError('bad things'); }`);
    await t.invocations('boom', 1);
    const html = await t.html('/ui/functions/boom/live');
    expect(html).toMatch(/<pre class="block error" id="last-error">HANDLER_ERROR: TypeError: bad things/);
    expect(html).toContain('boom.js');
  });

  it('bounds a huge env', async () => {
    const t = await harness();
    await t.fn('big', `export function handler(i, context) { context.env.blob = 'x'.repeat(100000); return 1; }`);
    await t.invocations('big', 1);
    const html = await t.html('/ui/functions/big/live');
    expect(html).toMatch(/more characters not shown/);
    expect(html.length).toBeLessThan(60_000);
  });

  it('says a function is gone, and stops the live poll with 286', async () => {
    const t = await harness();
    expect(await t.html('/ui/functions/nope')).toContain('data-gone="nope"');
    const live = await t.page('/ui/functions/nope/live');
    expect(live.status).toBe(286);
  });
});

describe('escaping', () => {
  it('renders a function’s output, keys, logs, env and errors as text, never as markup', async () => {
    const t = await harness({ REDLET_DASHBOARD_FUNCTION: 'evil' });
    await t.fn('evil', HOSTILE);
    await t.invocations('evil', 1);
    await t.store.set(t.key('in'), '{"fail":true}');
    await waitUntil(async () => (await t.runtime.view('evil')).status.lastError !== null);
    const pages = [await t.html('/'), await t.html('/ui/metrics'), await t.html('/ui/functions/evil'), await t.html('/?fn=evil')];
    for (const html of pages) {
      expect(html).not.toMatch(/<script>alert|<img src=x|<b>key<\/b>/);
    }
    const detail = pages[2]!;
    expect(detail).toContain('&lt;script&gt;alert(\\&quot;output\\&quot;)&lt;/script&gt;');
    expect(detail).toContain('&lt;script&gt;alert(&quot;log&quot;)&lt;/script&gt;');
    expect(detail).toContain('&lt;img src=x onerror=alert(\\&quot;env\\&quot;)&gt;');
    expect(detail).toContain('&lt;script&gt;alert(&quot;error&quot;)&lt;/script&gt;');
    expect(pages[1]).toContain('&lt;b&gt;key&lt;/b&gt;');
    // An id built from a hostile key is made safe, not escaped.
    expect(pages[1]).toMatch(/id="metric-f--b-key-b--[a-z0-9]+"/);
  });
});

describe('who sees which controls', () => {
  it('is read-only without the token: sign-in shown, no mutating controls', async () => {
    const t = await harness();
    await t.fn('f', 'export const handler = () => 1');
    const page = await t.html('/?fn=f');
    expect(page).toContain('hx-post="/ui/sign-in"');
    expect(page).toContain('<label for="token-input"');
    expect(page).not.toContain('Invoke now');
    expect(page).not.toContain('hx-delete');
    expect(page).toContain('<fieldset disabled="" class="plain">');
    expect(await t.html('/ui/functions/f')).toContain('Read-only: sign in with the API token');
  });

  it('shows the controls with the sign-in cookie', async () => {
    const t = await harness();
    await t.fn('f', 'export const handler = () => 1');
    const page = await t.html('/?fn=f', { cookie: TEST_TOKEN });
    expect(page).toContain('signed in: read-write');
    expect(page).toContain('Invoke now');
    expect(page).toContain('hx-delete="/ui/functions/f"');
    expect(page).toContain('hx-confirm="Delete the function f?');
    expect(page).toContain('<fieldset class="plain">');
  });

  it('with no token configured: read-write on loopback, read-only elsewhere', async () => {
    const t = await harness({ REDLET_API_TOKEN: '' });
    await t.fn('f', 'export const handler = () => 1');
    const local = await t.html('/?fn=f', { remote: '127.0.0.1' });
    expect(local).toContain('read-write from this machine only (no token configured)');
    expect(local).toContain('Invoke now');
    const remote = await t.html('/?fn=f', { remote: '10.1.2.3' });
    expect(remote).toContain('read-only: no API token is configured');
    expect(remote).not.toContain('Invoke now');
  });

  it('with protected reads: only the sign-in without the token, partials 401', async () => {
    const t = await harness({ REDLET_PROTECT_READS: '1' });
    const page = await t.html('/');
    expect(page).toContain('hx-post="/ui/sign-in"');
    expect(page).not.toContain('id="metrics"');
    expect((await t.page('/ui/metrics')).status).toBe(401);
    expect((await t.page('/ui/functions')).status).toBe(401);
    expect(await t.html('/ui/metrics', { cookie: TEST_TOKEN })).toContain('Host metrics');
  });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the functions list: filter and pages', () => {
  it('shows one page of PAGE_SIZE rows, filters by name, and carries the query in its polling URL', async () => {
    const t = await harness();
    for (let i = 0; i < PAGE_SIZE + 5; i++) await t.fn(`f-${String(i).padStart(2, '0')}`, 'export const handler = () => 1', { period: 60 });
    await t.fn('other', 'export const handler = () => 1', { period: 60 });
    const first = await t.html('/ui/functions');
    expect(first.match(/<tr id="row-/g)).toHaveLength(PAGE_SIZE);
    expect(first).toContain('hx-get="/ui/functions" hx-trigger="every 3s, functions-changed from:body"');
    expect(first).toContain(`${PAGE_SIZE + 6} functions · page 1 of 2`);
    const second = await t.html('/ui/functions?page=2');
    expect(second.match(/<tr id="row-/g)).toHaveLength(6);
    expect(second).toContain('id="fn-list" hx-get="/ui/functions?page=2"');
    const filtered = await t.html('/ui/functions?q=OTH');
    expect(filtered.match(/<tr id="row-/g)).toHaveLength(1);
    expect(filtered).toContain('id="row-other"');
    expect(filtered).toContain(`1 of ${PAGE_SIZE + 6} functions`);
    expect(filtered).toContain('hx-get="/ui/functions?q=OTH"');
    expect(await t.html('/ui/functions?q=nothing-like-it')).toContain('No function name contains “nothing-like-it”');
    // The full page renders the same query (a reload keeps the filter).
    expect(await t.html('/?q=oth')).toContain('id="row-other"');
  });

  it('pageOf cuts pages and keeps the page in range', () => {
    const names = Array.from({ length: 60 }, (_, i) => `n${i}`);
    expect(pageOf(names, { q: '', page: 3 }, 25)).toMatchObject({ page: 3, pages: 3, matching: 60, names: names.slice(50) });
    expect(pageOf(names, { q: '', page: 99 }, 25).page).toBe(3);
    expect(pageOf(names, { q: 'n1', page: 1 }, 25).matching).toBe(11);
  });
});

describe('stale reasons', () => {
  it('say why the output stopped: failing, Redis, no owner, input unchanged', async () => {
    const base = { definition: { invokeOn: 'change' }, owner: 'local' } as unknown as FunctionView;
    const st = (s: Partial<FunctionView['status']>) =>
      ({ ...base, status: { unchangedTicks: 0, lastRunAt: null, lastError: null, detail: null, ...s } }) as FunctionView;
    expect(staleReason(st({ state: 'error', detail: 'TypeError: boom' }))).toEqual({
      kind: 'failing',
      text: 'function failing: TypeError: boom',
    });
    expect(staleReason(st({ state: 'error', lastError: { code: 'REDIS_UNAVAILABLE', name: 'x', message: 'down', at: 0 } }))).toMatchObject({
      kind: 'redis',
      text: 'Redis unavailable',
    });
    expect(staleReason({ ...st({ state: 'idle' }), owner: null })).toMatchObject({ kind: 'no-owner', text: 'no replica owns it' });
    const at = new Date(2026, 0, 1, 14, 3, 15).getTime();
    expect(staleReason(st({ state: 'idle', unchangedTicks: 4, lastRunAt: at }))).toEqual({
      kind: 'unchanged',
      text: 'input unchanged since 14:03:15',
    });
  });
});
