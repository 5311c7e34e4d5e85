// Smaller guarantees of the second round: DELETE does not wait for a long invocation,
// a form's field count is capped before parsing, a deeply nested JSON body is a 400.
import { describe, expect, it } from 'vitest';
import { adminClient, useApiHarness } from './helpers/api-harness.js';
import { sleep, waitFor } from './helpers/wait.js';

const h = useApiHarness();

describe('DELETE in the middle of a long invocation', () => {
  it('disposes at once: it does not wait for the function, and nothing of the run is written', async () => {
    await adminClient().set(h.key('in'), '{"v":1}');
    // Runs for its whole 60 s limit: a DELETE that waited for it would outlast this test.
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: {
        name: 'long',
        source: 'export async function handler(i, ctx) { await null; ctx.env.n = 1; for (;;) {} }',
        inputKey: h.key('in'),
        outputKey: h.key('out'),
        timeoutMs: 60_000,
        period: 0.1,
      },
    });
    expect(res.status).toBe(201);
    await waitFor(async () => (await h.runtime.view('long')).status.running, 'the invocation to start', 10_000);
    const del = await h.request('/api/functions/long', { method: 'DELETE' });
    expect(del.status).toBe(204);
    await sleep(300);
    expect(await adminClient().exists(h.key('out'), h.own('state:long'), h.own('fn:long'), h.own('code:long'))).toBe(0);
    expect(h.runtime.has('long')).toBe(false);
  }, 30_000);
});

describe('request bodies', () => {
  it('a form with thousands of fields is refused before it is parsed', async () => {
    const f = new FormData();
    f.set('name', 'many');
    f.set('code', new File(['export const handler = () => 1'], 'many.js'));
    for (let i = 0; i < 5000; i++) f.append(`x${i}`, '1');
    const res = await h.request('/api/functions', { method: 'POST', body: f });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_MULTIPART');
    expect(h.runtime.names()).toEqual([]);
  });

  it('a deeply nested JSON invoke body is a 400, and a deeply nested output comes back as text', async () => {
    await h.request('/api/functions', {
      method: 'POST',
      json: {
        name: 'deep',
        source: 'export function handler(i) { if (i.deep) { let a = []; for (let k = 0; k < 5000; k++) a = [a]; return a } return i }',
        inputKey: h.key('in'),
        period: 60,
      },
    });
    const body = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const res = await h.request('/api/functions/deep/invoke', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON');
    const out = await h.request('/api/functions/deep/invoke', { method: 'POST', json: { deep: true } });
    expect(out.status).toBe(200);
    const r = (await out.json()) as { ok: boolean; output: unknown };
    expect(r.ok).toBe(true);
    expect(typeof r.output).toBe('string');
  });
});
