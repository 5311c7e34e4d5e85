// The auth matrix of the API through app.request(): with a token (none, wrong, right,
// header or the pages' cookie), without one (loopback only), and reads with and
// without REDLET_PROTECT_READS. The embedded store is enough: auth never reaches Redis.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { apiHarness, form, TEST_TOKEN, type ApiHarness } from '../../test/helpers/api-harness.js';
import { createLogger } from '../logger.js';
import { csrfToken } from './auth.js';

const CODE = 'export function handler(i) { return i }';
const harnesses: ApiHarness[] = [];

async function harness(env: Record<string, string> = {}, log?: ReturnType<typeof createLogger>): Promise<ApiHarness> {
  const h = await apiHarness({ store: 'memory', env, ...(log ? { log } : {}) });
  harnesses.push(h);
  await h.runtime.register({
    name: 'fn',
    origin: 'api',
    source: { kind: 'file', filename: 'fn.js', code: CODE },
    settings: { period: 60 },
  });
  return h;
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** Every mutating route, with a body it would accept. */
const MUTATIONS: Array<[string, string, () => RequestInit & { json?: unknown }]> = [
  ['POST', '/api/functions', () => ({ json: { name: 'new-fn', source: CODE } })],
  ['POST', '/api/functions (multipart)', () => ({ body: form({ name: 'new-mp' }, { name: 'x.js', data: CODE }) })],
  ['PUT', '/api/functions/fn', () => ({ json: { period: 30 } })],
  ['POST', '/api/functions/fn/invoke', () => ({ json: { a: 1 } })],
  ['POST', '/api/functions/fn/pause', () => ({})],
  ['POST', '/api/functions/fn/resume', () => ({})],
  ['DELETE', '/api/functions/fn', () => ({})],
];
const READS = ['/api/functions', '/api/functions/fn', '/api/functions/fn/logs', '/metrics'];

const path = (p: string) => p.split(' ')[0]!;

describe('with REDLET_API_TOKEN set', () => {
  it.each(MUTATIONS)('%s %s: 401 without a token, 401 with a wrong one, done with the right one', async (method, p, init) => {
    const h = await harness();
    const none = await h.request(path(p), { method, token: null, ...init() });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'this request changes redlet: send the API token as "Authorization: Bearer <token>"' },
    });
    // Loopback does not replace the token once one is configured.
    expect((await h.request(path(p), { method, token: null, remote: '127.0.0.1', ...init() })).status).toBe(401);
    const wrong = await h.request(path(p), { method, token: `${TEST_TOKEN}x`, ...init() });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe('the API token is wrong');
    expect((await h.request(path(p), { method, headers: { authorization: `Basic ${TEST_TOKEN}` }, ...init() })).status).toBe(401);
    expect(h.runtime.names()).toEqual(['fn']);
    const right = await h.request(path(p), { method, ...init() });
    expect(right.status, await right.clone().text()).toBeLessThan(300);
  });

  it("accepts the token from the pages' cookie, with the pages' CSRF token", async () => {
    const h = await harness();
    const csrf = csrfToken(h.config.auth);
    const res = await h.request('/api/functions/fn/pause', {
      method: 'POST',
      token: null,
      headers: { cookie: `redlet_token=${TEST_TOKEN}`, 'x-redlet-csrf': csrf },
    });
    expect(res.status).toBe(200);
  });

  it('checks the token before reading the body: an unauthorized oversized or malformed upload is a 401', async () => {
    const h = await harness({ REDLET_MAX_BODY_BYTES: '1024' });
    const big = await h.request('/api/functions', { method: 'POST', token: null, json: { name: 'x', source: 'x'.repeat(5000) } });
    expect(big.status).toBe(401);
    const bad = await h.request('/api/functions', {
      method: 'POST',
      token: 'nope',
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(401);
  });

  it('reads need the token by default; the probes stay open', async () => {
    const h = await harness();
    for (const p of READS) {
      expect((await h.request(p, { token: null })).status, p).toBe(401);
      expect((await h.request(p)).status, p).toBe(200);
      // A signed-in browser reads with its cookie (no CSRF token needed to read).
      expect(
        (await h.request(p, { token: null, headers: { cookie: `redlet_token=${TEST_TOKEN}`, 'sec-fetch-site': 'none' } })).status,
        p,
      ).toBe(200);
    }
    for (const p of ['/healthz', '/readyz']) expect((await h.request(p, { token: null })).status, p).toBe(200);
  });

  it('REDLET_PUBLIC_READS=1 opts into a public read-only dashboard', async () => {
    const h = await harness({ REDLET_PUBLIC_READS: '1' });
    for (const p of [...READS, '/healthz', '/readyz']) expect((await h.request(p, { token: null })).status, p).toBe(200);
    expect((await h.request('/api/functions/fn/pause', { method: 'POST', token: null })).status).toBe(401);
  });

  it('REDLET_PROTECT_READS=1 closes reads; the probes stay open with less said', async () => {
    const h = await harness({ REDLET_PROTECT_READS: '1' });
    for (const p of READS) {
      expect((await h.request(p, { token: null })).status, p).toBe(401);
      expect((await h.request(p, { token: 'wrong-token-0123456789' })).status, p).toBe(401);
      expect((await h.request(p)).status, p).toBe(200);
    }
    expect((await h.request('/healthz', { token: null })).status).toBe(200);
    const ready = await h.request('/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect(await (await h.request('/readyz')).json()).toMatchObject({ status: 'ready', store: 'embedded', functions: 1 });
  });
});

describe('with no token configured', () => {
  it.each(MUTATIONS)('%s %s: accepted from loopback only', async (method, p, init) => {
    const h = await harness({ REDLET_API_TOKEN: '' });
    for (const remote of ['10.0.0.7', '192.168.1.20', '::ffff:10.0.0.7', undefined]) {
      const res = await h.request(path(p), { method, token: null, ...(remote ? { remote } : {}), ...init() });
      expect(res.status, String(remote)).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/loopback.*REDLET_API_TOKEN/);
    }
    // A token means nothing when none is configured: still loopback only.
    expect((await h.request(path(p), { method, remote: '10.0.0.7', ...init() })).status).toBe(401);
    expect(h.runtime.names()).toEqual(['fn']);
    for (const remote of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      if (method === 'DELETE' && remote !== '127.0.0.1') continue;
      const res = await h.request(path(p), { method, token: null, remote, ...init() });
      if (p.startsWith('/api/functions ') || p === '/api/functions') {
        // Create once per address: the name must change.
        expect([201, 409], remote).toContain(res.status);
      } else expect(res.status, `${remote} ${await res.clone().text()}`).toBeLessThan(300);
    }
  });

  it('refuses a loopback connection whose Host is not this machine (DNS rebinding)', async () => {
    const h = await harness({ REDLET_API_TOKEN: '' });
    const res = await h.request('/api/functions/fn/pause', {
      method: 'POST',
      token: null,
      remote: '127.0.0.1',
      headers: { host: 'evil.example:8080' },
    });
    expect(res.status).toBe(401);
    const ok = await h.request('/api/functions/fn/pause', {
      method: 'POST',
      token: null,
      remote: '127.0.0.1',
      headers: { host: '127.0.0.1:8080' },
    });
    expect(ok.status).toBe(200);
  });

  it('says so once at start, in the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    await harness({ REDLET_API_TOKEN: '' }, createLogger('info', sink));
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/no API token is configured.*loopback/);
  });

  it('logs no such warning when a token is set', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    await harness({}, createLogger('info', sink));
    expect(lines.join('')).not.toMatch(/no API token/);
  });
});

describe('cross-site requests (CSRF)', () => {
  const cookie = `redlet_token=${TEST_TOKEN}`;

  it.each(MUTATIONS)('%s %s: a cookie session needs a same-origin proof and the CSRF token', async (method, p, init) => {
    const h = await harness();
    const csrf = csrfToken(h.config.auth);
    const tries: Array<[string, Record<string, string>]> = [
      ['no CSRF token', { cookie }],
      ['a wrong CSRF token', { cookie, 'x-redlet-csrf': 'x'.repeat(43) }],
      ['cross-site', { cookie, 'x-redlet-csrf': csrf, 'sec-fetch-site': 'cross-site' }],
      ['same-site (another port)', { cookie, 'x-redlet-csrf': csrf, 'sec-fetch-site': 'same-site' }],
      ['another origin', { cookie, 'x-redlet-csrf': csrf, origin: 'http://localhost:9999', host: 'localhost:8080' }],
      ['an opaque origin', { cookie, 'x-redlet-csrf': csrf, origin: 'null', host: 'localhost:8080' }],
    ];
    for (const [what, headers] of tries) {
      const res = await h.request(path(p), { method, token: null, headers, ...init() });
      expect(res.status, what).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, what).toBe('CSRF_REJECTED');
    }
    expect(h.runtime.names()).toEqual(['fn']);
    expect(h.runtime.runner('fn')!.def.paused).toBe(false);
    const ok = await h.request(path(p), {
      method,
      token: null,
      headers: { cookie, 'x-redlet-csrf': csrf, 'sec-fetch-site': 'same-origin', origin: 'http://localhost:8080', host: 'localhost:8080' },
      ...init(),
    });
    expect(ok.status, await ok.clone().text()).toBeLessThan(300);
  });

  it('a bearer header needs no CSRF token (scripts, the CLI)', async () => {
    const h = await harness();
    expect((await h.request('/api/functions/fn/pause', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });

  it('loopback mode: a browser page of another origin cannot act; curl and the CLI can', async () => {
    const h = await harness({ REDLET_API_TOKEN: '' });
    const local = { remote: '127.0.0.1', token: null } as const;
    const cross = await h.request('/api/functions', {
      method: 'POST',
      ...local,
      headers: { host: 'localhost:8080', origin: 'http://localhost:3000', 'sec-fetch-site': 'same-site' },
      json: { name: 'evil', source: CODE },
    });
    expect(cross.status).toBe(403);
    const noToken = await h.request('/api/functions', {
      method: 'POST',
      ...local,
      headers: { host: 'localhost:8080', origin: 'http://localhost:8080', 'sec-fetch-site': 'same-origin' },
      json: { name: 'evil', source: CODE },
    });
    expect(noToken.status).toBe(403);
    const simpleForm = await h.request('/api/functions', {
      method: 'POST',
      ...local,
      headers: { host: 'localhost:8080', origin: 'http://attacker.example' },
      body: form({ name: 'evil' }, { name: 'x.js', data: CODE }),
    });
    expect(simpleForm.status).toBe(403);
    expect(h.runtime.names()).toEqual(['fn']);
    const page = await h.request('/api/functions', {
      method: 'POST',
      ...local,
      headers: {
        host: 'localhost:8080',
        origin: 'http://localhost:8080',
        'sec-fetch-site': 'same-origin',
        'x-redlet-csrf': csrfToken(h.config.auth),
      },
      json: { name: 'mine', source: CODE },
    });
    expect(page.status).toBe(201);
    const curl = await h.request('/api/functions/fn/pause', { method: 'POST', ...local, headers: { host: '127.0.0.1:8080' } });
    expect(curl.status).toBe(200);
  });
});
