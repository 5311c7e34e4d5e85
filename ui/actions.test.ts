// The pages' mutating routes through app.request(): sign-in, register (with the API's
// upload checks), invoke, pause/resume, delete; and that they refuse whoever may not
// use them.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/helpers/wait.js';
import { uiHarness, TEST_TOKEN, type UiHarness } from '../test/helpers/ui-harness.js';

let h: UiHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function harness(env: Record<string, string> = {}): Promise<UiHarness> {
  h = await uiHarness(env);
  await h.store.set(h.key('in'), '{"a":20,"b":22}');
  return h;
}

function upload(fields: Record<string, string>, code?: { name: string; text: string }): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  if (code) f.set('code', new File([code.text], code.name));
  return f;
}

const ADD = { name: 'add.js', text: 'export function handler(input) { console.log("adding"); return { sum: input.a + input.b } }' };

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict cookie for the right token and reloads the page', async () => {
    const t = await harness();
    const res = await t.page('/ui/sign-in', { method: 'POST', body: upload({ token: TEST_TOKEN }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('hx-refresh')).toBe('true');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain(`redlet_token=${TEST_TOKEN}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toMatch(/Secure/i);
  });

  it('marks the cookie Secure behind https', async () => {
    const t = await harness();
    const res = await t.page('/ui/sign-in', {
      method: 'POST',
      body: upload({ token: TEST_TOKEN }),
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('says a wrong token is wrong, and sets nothing', async () => {
    const t = await harness();
    const res = await t.page('/ui/sign-in', { method: 'POST', body: upload({ token: 'nope-nope-nope-nope' }) });
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('that is not the API token');
  });

  it('signs out by clearing the cookie', async () => {
    const t = await harness();
    const res = await t.page('/ui/sign-out', { method: 'POST', cookie: TEST_TOKEN });
    expect(res.headers.get('set-cookie')).toMatch(/redlet_token=;.*Max-Age=0/);
    expect(res.headers.get('hx-refresh')).toBe('true');
  });

  it('refuses a sign-in that is not from our pages', async () => {
    const t = await harness();
    expect((await t.page('/ui/sign-in', { method: 'POST', htmx: false, body: upload({ token: TEST_TOKEN }) })).status).toBe(403);
  });
});

describe('the register form', () => {
  it('registers the upload, resets the form and refreshes the table', async () => {
    const t = await harness();
    const res = await t.page('/ui/functions', {
      method: 'POST',
      cookie: TEST_TOKEN,
      body: upload(
        {
          name: 'add',
          handler: '',
          inputKey: t.key('in'),
          outputKey: t.key('sum'),
          trigger: 'poll',
          period: '0.2',
          invokeOn: 'change',
          memoryMb: '',
          timeoutMs: '',
        },
        ADD,
      ),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('hx-trigger')).toBe('functions-changed');
    const html = await res.text();
    expect(html).toContain('Registered add.');
    expect(html).toContain(
      '<form id="register-form" class="stack" hx-post="/ui/functions" hx-encoding="multipart/form-data" hx-target="#register-result" hx-swap="innerHTML" hx-swap-oob="true"',
    );
    const view = await t.runtime.view('add');
    expect(view.definition).toMatchObject({ origin: 'api', period: 0.2, outputKey: t.key('sum'), handler: 'handler', memoryMb: 64 });
    expect(await t.html('/ui/functions')).toContain('id="row-add"');
  });

  it('shows the error next to the form, naming the field', async () => {
    const t = await harness();
    const bad = await t.page('/ui/functions', { method: 'POST', cookie: TEST_TOKEN, body: upload({ name: 'Bad Name' }, ADD) });
    expect(bad.status).toBe(200);
    expect(bad.headers.get('hx-trigger')).toBeNull();
    const html = await bad.text();
    expect(html).toContain('<p class="form-error" role="alert" data-field="name">name: name must be a DNS label');

    const syntax = await t.html('/ui/functions', {
      method: 'POST',
      cookie: TEST_TOKEN,
      body: upload({ name: 'broken' }, { name: 'broken.js', text: 'export function handler( {' }),
    });
    expect(syntax).toContain('class="form-error"');
    expect(syntax).toContain('broken.js');
    expect(t.runtime.has('broken')).toBe(false);
  });

  it('escapes what the error says back', async () => {
    const t = await harness();
    const html = await t.html('/ui/functions', { method: 'POST', cookie: TEST_TOKEN, body: upload({ name: '<script>x</script>' }, ADD) });
    expect(html).not.toContain('<script>x');
    expect(html).toContain('class="form-error"');
  });

  it('is refused without the token, before the upload is read', async () => {
    const t = await harness();
    const res = await t.page('/ui/functions', { method: 'POST', body: upload({ name: 'add' }, ADD) });
    expect(res.status).toBe(401);
    expect(t.runtime.has('add')).toBe(false);
  });
});

describe('invoke now', () => {
  it('runs a dry run on the input key and shows the result inline, writing nothing', async () => {
    const t = await harness();
    await t.fn('add', ADD.text, { period: 60, invokeOn: 'change' });
    await t.invocations('add', 1);
    await t.store.set(t.key('out-add'), 'untouched');
    const html = await t.html('/ui/functions/add/invoke', { method: 'POST', cookie: TEST_TOKEN, body: upload({ input: '' }) });
    expect(html).toContain('data-ok="true"');
    expect(html).toMatch(/<pre class="block" id="invoke-output">\{\n {2}&quot;sum&quot;: 42\n\}/);
    expect(html).toContain('adding');
    expect(await t.store.get(t.key('out-add'))).toBe('untouched');
  });

  it('uses the input typed in, and says when it is not JSON', async () => {
    const t = await harness();
    await t.fn('add', ADD.text, { period: 60 });
    expect(
      await t.html('/ui/functions/add/invoke', { method: 'POST', cookie: TEST_TOKEN, body: upload({ input: '{"a":1,"b":2}' }) }),
    ).toContain('&quot;sum&quot;: 3');
    expect(await t.html('/ui/functions/add/invoke', { method: 'POST', cookie: TEST_TOKEN, body: upload({ input: '{oops' }) })).toContain(
      'the input is not valid JSON',
    );
  });

  it('shows a failure with its stack, and an empty input key as a message', async () => {
    const t = await harness();
    await t.fn('boom', 'export function handler() { throw new Error("kaput") }', { period: 60 });
    const failed = await t.html('/ui/functions/boom/invoke', { method: 'POST', cookie: TEST_TOKEN, body: upload({}) });
    expect(failed).toContain('data-ok="false"');
    expect(failed).toContain('HANDLER_ERROR: kaput');
    expect(failed).toContain('boom.js');
    await t.fn('idle', 'export const handler = () => 1', { inputKey: t.key('nothing'), period: 60 });
    expect(await t.html('/ui/functions/idle/invoke', { method: 'POST', cookie: TEST_TOKEN, body: upload({}) })).toContain(
      `input key &#39;${t.key('nothing')}&#39; is empty`,
    );
  });
});

describe('pause, resume and delete', () => {
  it('pauses and resumes, answering with the new buttons', async () => {
    const t = await harness();
    await t.fn('f', 'export const handler = () => 1');
    const paused = await t.page('/ui/functions/f/pause', { method: 'POST', cookie: TEST_TOKEN });
    expect(paused.headers.get('hx-trigger')).toBe('functions-changed');
    expect(await paused.text()).toContain('hx-post="/ui/functions/f/resume"');
    expect((await t.runtime.view('f')).status.state).toBe('paused');
    expect(await t.html('/ui/functions/f/resume', { method: 'POST', cookie: TEST_TOKEN })).toContain('hx-post="/ui/functions/f/pause"');
    expect((await t.runtime.view('f')).definition.paused).toBe(false);
  });

  it('deletes a function and its history', async () => {
    const t = await harness();
    await t.fn('f', 'export const handler = () => ({ x: 1 })');
    await t.invocations('f', 1);
    await waitFor(async () => (await t.history.series('f')) !== null, 'the history stream');
    const res = await t.page('/ui/functions/f', { method: 'DELETE', cookie: TEST_TOKEN });
    expect(res.headers.get('hx-trigger')).toBe('functions-changed');
    expect(await res.text()).toContain('Deleted f.');
    expect(t.runtime.has('f')).toBe(false);
    expect(await t.history.series('f')).toBeNull();
    expect(await t.runtime.store.readSince(t.runtime.keys.history('f'), 0, 10)).toEqual([]);
    expect(await t.html('/ui/functions/f', { method: 'DELETE', cookie: TEST_TOKEN })).toContain('no function named &#39;f&#39;');
  });

  it('keeps a function from configuration (it would come back at start)', async () => {
    const t = await harness();
    await t.fn('cfg', 'export const handler = () => 1', {}, 'config');
    expect(await t.html('/ui/functions/cfg', { method: 'DELETE', cookie: TEST_TOKEN })).toContain('comes from redlet&#39;s configuration');
    expect(t.runtime.has('cfg')).toBe(true);
  });

  it("offers Delete as the runtime allows it: disabled, with the runtime's reason, for a function from configuration", async () => {
    const t = await harness();
    await t.fn('cfg', 'export const handler = () => 1', {}, 'config');
    await t.fn('f', 'export const handler = () => 1');
    const deleteButton = (html: string) => /<button[^>]*class="danger"[^>]*>\s*Delete/.exec(html)?.[0] ?? '';
    const reason = t.runtime.changeRefusal('cfg', 'delete')!.message.replace(/'/g, '&#39;');
    // The detail, and the actions the pause and resume buttons swap in.
    for (const html of [
      await t.html('/ui/functions/cfg', { cookie: TEST_TOKEN }),
      await t.html('/ui/functions/cfg/pause', { method: 'POST', cookie: TEST_TOKEN }),
    ]) {
      expect(deleteButton(html)).toContain('disabled');
      expect(deleteButton(html)).toContain(`title="${reason}"`);
    }
    const api = deleteButton(await t.html('/ui/functions/f', { cookie: TEST_TOKEN }));
    expect(api).toContain('hx-delete="/ui/functions/f"');
    expect(api).not.toContain('disabled');
  });
});

describe('refusals', () => {
  it('401 without the token, 403 without HX-Request or from another site', async () => {
    const t = await harness();
    await t.fn('f', 'export const handler = () => 1');
    expect((await t.page('/ui/functions/f/pause', { method: 'POST' })).status).toBe(401);
    expect((await t.page('/ui/functions/f/pause', { method: 'POST', cookie: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await t.page('/ui/functions/f/pause', { method: 'POST', cookie: TEST_TOKEN, htmx: false })).status).toBe(403);
    expect(
      (await t.page('/ui/functions/f/pause', { method: 'POST', cookie: TEST_TOKEN, headers: { 'sec-fetch-site': 'cross-site' } })).status,
    ).toBe(403);
    expect((await t.page('/ui/functions/f', { method: 'DELETE' })).status).toBe(401);
    expect((await t.page('/ui/functions/f/invoke', { method: 'POST' })).status).toBe(401);
    expect((await t.runtime.view('f')).definition.paused).toBe(false);
  });

  it('with no token: loopback may change things, but not through a foreign Host (DNS rebinding)', async () => {
    const t = await harness({ REDLET_API_TOKEN: '' });
    await t.fn('f', 'export const handler = () => 1');
    expect((await t.page('/ui/functions/f/pause', { method: 'POST', remote: '10.0.0.9' })).status).toBe(401);
    expect(
      (await t.page('/ui/functions/f/pause', { method: 'POST', remote: '127.0.0.1', headers: { host: 'evil.example:8080' } })).status,
    ).toBe(401);
    expect(
      (await t.page('/ui/functions/f/pause', { method: 'POST', remote: '127.0.0.1', headers: { host: 'localhost:8080' } })).status,
    ).toBe(200);
    const registered = await t.html('/ui/functions', {
      method: 'POST',
      remote: '127.0.0.1',
      body: upload({ name: 'add', inputKey: t.key('in') }, ADD),
    });
    expect(registered).toContain('Registered add.');
  });
});
