// /metrics: per-function invocation counts by outcome, the duration histogram, skipped
// ticks, isolate heap and state, read through the app; series of a deleted function go.
import { afterEach, describe, expect, it } from 'vitest';
import { apiHarness, type ApiHarness, TEST_TOKEN } from '../test/helpers/api-harness.js';
import { waitFor } from '../test/helpers/wait.js';

const harnesses: ApiHarness[] = [];

async function harness(): Promise<ApiHarness> {
  const h = await apiHarness({ store: 'memory' });
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** `name{labels} value` lines of the exposition, as a map. */
async function scrape(h: ApiHarness): Promise<Map<string, number>> {
  // With a token configured, /metrics is a read that needs it (Prometheus sends it as a bearer token).
  const res = await h.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('/metrics', () => {
  it('counts invocations by outcome with durations, and reports ticks, heap and state', async () => {
    const h = await harness();
    await h.store.set(h.key('in'), '{"fail":false}');
    const fn = (name: string, code: string, settings = {}) =>
      h.runtime.register({
        name,
        origin: 'api',
        source: { kind: 'file', filename: `${name}.js`, code },
        settings: { inputKey: h.key('in'), period: 0.1, invokeOn: 'always', timeoutMs: 100, ...settings },
      });
    await fn('ok', `export function handler() { return 1 }`);
    await fn('bad', `export function handler() { throw new Error('no') }`);
    await fn('slow', `export function handler() { for (;;) {} }`, { timeoutMs: 150 });
    await waitFor(
      async () => {
        const m = await scrape(h);
        return (
          (m.get('redlet_function_invocations_total{function="ok",outcome="success"}') ?? 0) >= 3 &&
          (m.get('redlet_function_invocations_total{function="bad",outcome="error"}') ?? 0) >= 2 &&
          (m.get('redlet_function_invocations_total{function="slow",outcome="timeout"}') ?? 0) >= 1
        );
      },
      'counted outcomes',
      8000,
      50,
    );
    const m = await scrape(h);
    expect(m.get('redlet_function_invocations_total{function="ok",outcome="error"}')).toBe(0);
    expect(m.get('redlet_function_duration_seconds_count{function="ok"}')).toBeGreaterThanOrEqual(3);
    expect(m.get('redlet_function_duration_seconds_bucket{le="+Inf",function="ok"}')).toBe(
      m.get('redlet_function_duration_seconds_count{function="ok"}'),
    );
    expect(m.get('redlet_function_duration_seconds_sum{function="slow"}')).toBeGreaterThanOrEqual(0.1);
    // The 150 ms loop overlaps the 100 ms period: ticks skipped.
    await waitFor(async () => ((await scrape(h)).get('redlet_function_skipped_ticks_total{function="slow"}') ?? 0) > 0, 'skipped ticks');
    expect(m.get('redlet_function_heap_limit_bytes{function="ok"}')).toBe(64 * 1024 * 1024);
    expect(m.get('redlet_function_heap_used_bytes{function="ok"}')).toBeGreaterThan(0);
    expect(m.get('redlet_function_state{function="bad",state="error"}')).toBe(1);
    expect(m.get('redlet_function_state{function="bad",state="idle"}')).toBe(0);
    expect(m.get('redlet_functions{origin="api"}')).toBe(3);
    expect(m.get('redlet_store_up')).toBe(1);
  });

  it('has series from registration on, and drops them all when the function is deleted', async () => {
    const h = await harness();
    await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'brief', source: 'export const handler = () => 1', inputKey: h.key('in'), period: 0.1, invokeOn: 'always' },
    });
    const before = await scrape(h);
    expect(before.get('redlet_function_invocations_total{function="brief",outcome="success"}')).toBe(0);
    await h.store.set(h.key('in'), '{}');
    await waitFor(
      async () => ((await scrape(h)).get('redlet_function_invocations_total{function="brief",outcome="success"}') ?? 0) > 0,
      'a run',
    );
    expect((await h.request('/api/functions/brief', { method: 'DELETE' })).status).toBe(204);
    const after = await scrape(h);
    expect([...after.keys()].filter((k) => k.includes('"brief"'))).toEqual([]);
    // Deleted through the runtime directly (the pages do): gone at the next scrape.
    await h.runtime.register({
      name: 'other',
      origin: 'api',
      source: { kind: 'file', filename: 'o.js', code: 'export const handler = () => 1' },
      settings: { inputKey: h.key('in'), period: 0.1, invokeOn: 'always' },
    });
    await waitFor(
      async () => ((await scrape(h)).get('redlet_function_invocations_total{function="other",outcome="success"}') ?? 0) > 0,
      'a run',
    );
    await h.runtime.remove('other');
    expect([...(await scrape(h)).keys()].filter((k) => k.includes('"other"'))).toEqual([]);
  });

  it('includes process metrics, in a registry per app', async () => {
    const { createApp } = await import('./http/app.js');
    const h = await harness();
    const a = createApp(h.runtime);
    const b = createApp(h.runtime);
    for (const app of [a, b]) {
      const text = await (await app.request('/metrics', { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_heap_size_used_bytes');
    }
  });
});
