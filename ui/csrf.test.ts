// The pages against cross-site requests: the CSRF token is rendered only for visitors
// who may write and is required with every change; with a token configured, reading
// functions needs sign-in unless a public read-only dashboard is asked for.
import { afterEach, describe, expect, it } from 'vitest';
import { csrfToken } from '../src/http/auth.js';
import { uiHarness, TEST_TOKEN, type PageRequest, type UiHarness } from '../test/helpers/ui-harness.js';

let h: UiHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const CODE = 'export function handler(i, ctx) { ctx.env.secret = "s3cr3t"; return { ok: 1 } }';

describe('CSRF token in the pages', () => {
  it('is rendered for a signed-in visitor only, in hx-headers', async () => {
    h = await uiHarness();
    const token = csrfToken(h.config.auth);
    expect(await h.html('/', { cookie: TEST_TOKEN })).toContain(`hx-headers="{&quot;X-Redlet-CSRF&quot;:&quot;${token}&quot;}"`);
    expect(await h.html('/')).not.toContain(token);
  });

  it('is rendered for a loopback visitor when no token is configured', async () => {
    h = await uiHarness({ REDLET_API_TOKEN: '' });
    const token = csrfToken(h.config.auth);
    expect(await h.html('/', { remote: '127.0.0.1', headers: { host: 'localhost:8080' } })).toContain(token);
    expect(await h.html('/', { remote: '10.0.0.5', headers: { host: 'redlet.example' } })).not.toContain(token);
  });

  it.each([
    ['POST', '/ui/functions/f/pause'],
    ['POST', '/ui/functions/f/invoke'],
    ['DELETE', '/ui/functions/f'],
    ['POST', '/ui/functions'],
  ])('%s %s: 403 without the CSRF token or from another origin', async (method, path) => {
    h = await uiHarness();
    await h.fn('f', CODE, { period: 60 });
    const variants: PageRequest[] = [
      { csrf: false },
      { headers: { 'sec-fetch-site': 'same-site' } },
      { headers: { origin: 'http://localhost:1234', host: 'localhost:8080' } },
    ];
    for (const extra of variants) {
      const res = await h.page(path, { method, cookie: TEST_TOKEN, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(403);
    }
    expect(h.runtime.names()).toEqual(['f']);
    expect(h.runtime.runner('f')!.def.paused).toBe(false);
  });

  it('no-token loopback mode: a mutation without the CSRF token is refused', async () => {
    h = await uiHarness({ REDLET_API_TOKEN: '' });
    await h.fn('f', CODE, { period: 60 });
    const res = await h.page('/ui/functions/f/pause', {
      method: 'POST',
      remote: '127.0.0.1',
      csrf: false,
      headers: { host: 'localhost:8080', origin: 'http://localhost:8080' },
    });
    expect(res.status).toBe(403);
    const ok = await h.page('/ui/functions/f/pause', {
      method: 'POST',
      remote: '127.0.0.1',
      headers: { host: 'localhost:8080', origin: 'http://localhost:8080' },
    });
    expect(ok.status).toBe(200);
  });
});

describe('reads with a token configured', () => {
  it('need sign-in by default: no env, outputs or logs for anonymous visitors', async () => {
    h = await uiHarness({ REDLET_PROTECT_READS: '' });
    await h.store.set(h.key('in'), '{}');
    await h.fn('f', CODE);
    await h.invocations('f', 1);
    const anon = await h.html('/?fn=f');
    expect(anon).toContain('Sign in');
    expect(anon).not.toContain('s3cr3t');
    expect((await h.page('/ui/functions/f')).status).toBe(401);
    expect((await h.page('/ui/functions')).status).toBe(401);
    expect((await h.request('/api/functions/f', { token: null })).status).toBe(401);
    expect(await h.html('/ui/functions/f', { cookie: TEST_TOKEN })).toContain('s3cr3t');
  });

  it('REDLET_PUBLIC_READS=1: a public read-only dashboard', async () => {
    h = await uiHarness({ REDLET_PUBLIC_READS: '1' });
    await h.fn('f', CODE);
    expect((await h.page('/ui/functions/f')).status).toBe(200);
    expect((await h.page('/ui/functions/f/pause', { method: 'POST' })).status).toBe(401);
  });
});
