// Every route of the functions API through app.request() (no socket), on a real Redis
// under a private prefix: what each returns, what it stores, and that every rejected
// request leaves the registry and the keys exactly as they were.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { zipFolder } from '../../scripts/zip-folder.mjs';
import { adminClient, apiHarness, form, useApiHarness, zipOf, type ApiHarness } from '../../test/helpers/api-harness.js';
import { sleep, waitFor } from '../../test/helpers/wait.js';
import { packageRoot } from '../paths.js';
import type { FunctionDescription } from './describe-function.js';

const COUNTER = `export function handler(input, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; console.log('run', ctx.env.n); return { v: 1, n: ctx.env.n, input } }`;
const ADD = `export function handler(i) { return { sum: i.a + i.b } }`;

const h = useApiHarness();

async function register(body: Record<string, unknown>): Promise<FunctionDescription> {
  const res = await h.request('/api/functions', { method: 'POST', json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as FunctionDescription;
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string; details?: Record<string, unknown> }> {
  const body = (await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  return { status: res.status, ...body.error };
}

describe('POST /api/functions', () => {
  it('registers JSON source: 201, the description, Location, and the code stored in Redis', async () => {
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'add', source: ADD, inputKey: h.key('in'), outputKey: h.key('out') },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/functions/add');
    const d = (await res.json()) as FunctionDescription;
    expect(d).toMatchObject({
      name: 'add',
      origin: 'api',
      settings: {
        handler: 'handler',
        inputKey: h.key('in'),
        outputKey: h.key('out'),
        trigger: 'poll',
        period: 5,
        invokeOn: 'change',
        memoryMb: 64,
        timeoutMs: 5000,
      },
      source: { filename: 'add.js', kind: 'file' },
      paused: false,
      sandbox: { heapLimitBytes: 64 * 1024 * 1024, restarts: 0 },
    });
    expect(d.status.invocations).toBe(0);
    expect(typeof d.createdAt).toBe('number');
    expect(d).not.toHaveProperty('source.code');
    const admin = adminClient();
    expect(await admin.smembers(h.own('functions'))).toEqual(['add']);
    expect(await admin.get(h.own('code:add'))).toBe(ADD);
    expect(JSON.parse((await admin.get(h.own('fn:add')))!)).toMatchObject({ name: 'add', origin: 'api' });
  });

  it('registers a multipart upload with every setting as a text field', async () => {
    const body = form(
      {
        name: 'typed',
        handler: 'typed.run',
        inputKey: h.key('in'),
        outputKey: h.key('out'),
        trigger: 'keyspace',
        period: '2.5',
        invokeOn: 'always',
        memoryMb: '32',
        timeoutMs: '1500',
      },
      { name: 'typed.ts', data: 'export function run(i: { a: number }): number { return i.a * 2 }' },
    );
    const res = await h.request('/api/functions', { method: 'POST', body });
    expect(res.status, await res.clone().text()).toBe(201);
    const d = (await res.json()) as FunctionDescription;
    expect(d.settings).toEqual({
      handler: 'typed.run',
      inputKey: h.key('in'),
      outputKey: h.key('out'),
      trigger: 'keyspace',
      period: 2.5,
      invokeOn: 'always',
      memoryMb: 32,
      timeoutMs: 1500,
    });
    expect(d.source).toEqual({ filename: 'typed.ts', kind: 'file' });
    const inv = await h.request('/api/functions/typed/invoke', { method: 'POST', body: '{"a":21}' });
    expect(((await inv.json()) as { output: unknown }).output).toBe(42);
  });

  it('registers a multi-module ZIP, as a multipart file and as zipBase64', async () => {
    const zip = await zipFolder(join(packageRoot(), 'examples', 'zip-stats'));
    const multipart = await h.request('/api/functions', {
      method: 'POST',
      body: form({ name: 'stats-a' }, { name: 'zip-stats.zip', data: zip }),
    });
    expect(multipart.status, await multipart.clone().text()).toBe(201);
    expect(((await multipart.json()) as FunctionDescription).source).toEqual({ filename: 'zip-stats.zip', kind: 'zip' });
    const b64 = await register({ name: 'stats-b', zipBase64: zip.toString('base64') });
    expect(b64.source).toEqual({ filename: 'function.zip', kind: 'zip' });
    const input = { 'cpu_percent-0': 10, 'cpu_percent-1': 30, 'virtual_memory-used': 1, 'virtual_memory-total': 4 };
    for (const name of ['stats-a', 'stats-b']) {
      const res = await h.request(`/api/functions/${name}/invoke`, { method: 'POST', json: input });
      expect(((await res.json()) as { output: unknown }).output).toMatchObject({
        cpu_count: 2,
        cpu_mean_percent: 20,
        memory_used_percent: 25,
        function: name,
      });
    }
    expect(Buffer.from((await adminClient().getBuffer(h.own('code:stats-b')))!)).toEqual(zip);
  });

  it('409 when the name exists, and the first function is untouched', async () => {
    await register({ name: 'taken', source: ADD });
    const before = await h.snapshot();
    const e = await errorOf(await h.request('/api/functions', { method: 'POST', json: { name: 'taken', source: COUNTER } }));
    expect(e).toMatchObject({ status: 409, code: 'FUNCTION_EXISTS' });
    expect(e.message).toMatch(/already exists.*PUT/);
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('rejected registrations leave nothing behind', () => {
  const js = (name: string, code: string) => ({ name, source: code });
  const zipReq = async (name: string, entries: Record<string, string | Uint8Array>, opts?: { unix?: Record<string, number> }) => ({
    name,
    zipBase64: Buffer.from(await zipOf(entries, opts)).toString('base64'),
  });
  const tooManyEntries = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`f${i}.js`, 'x']));
  const zeros = new Uint8Array(60 * 1024 * 1024);

  const cases: Array<[string, () => Promise<RequestInit & { json?: unknown; body?: RequestInit['body'] }>, number, string, RegExp?]> = [
    ['a name that is not a DNS label', async () => ({ json: js('Bad_Name', ADD) }), 400, 'INVALID_NAME', /DNS label/],
    ['a name of 64 characters', async () => ({ json: js('a'.repeat(64), ADD) }), 400, 'INVALID_NAME', /at most 63/],
    ['a name ending in a dash', async () => ({ json: js('fn-', ADD) }), 400, 'INVALID_NAME'],
    ['no name', async () => ({ json: { source: ADD } }), 400, 'INVALID_NAME', /required/],
    ['a number as name', async () => ({ json: { name: 7, source: ADD } }), 400, 'INVALID_NAME', /string/],
    ['memoryMb under 8', async () => ({ json: { ...js('m', ADD), memoryMb: 4 } }), 400, 'INVALID_SETTINGS', /memoryMb must be at least 8/],
    ['memoryMb over 1024', async () => ({ json: { ...js('m', ADD), memoryMb: 2048 } }), 400, 'INVALID_SETTINGS', /at most 1024/],
    ['timeoutMs of 0', async () => ({ json: { ...js('t', ADD), timeoutMs: 0 } }), 400, 'INVALID_SETTINGS', /timeoutMs must be at least 1/],
    ['timeoutMs over 60 s', async () => ({ json: { ...js('t', ADD), timeoutMs: 60_001 } }), 400, 'INVALID_SETTINGS', /at most 60000/],
    ['period under 0.1 s', async () => ({ json: { ...js('p', ADD), period: 0.05 } }), 400, 'INVALID_SETTINGS', /at least 0.1/],
    [
      'a period that is not a number',
      async () => ({ body: form({ name: 'p', period: 'soon' }, { name: 'p.js', data: ADD }) }),
      400,
      'INVALID_SETTINGS',
      /period/,
    ],
    ['an unknown trigger', async () => ({ json: { ...js('t', ADD), trigger: 'cron' } }), 400, 'INVALID_SETTINGS', /poll.*keyspace/],
    ['an unknown invokeOn', async () => ({ json: { ...js('t', ADD), invokeOn: 'sometimes' } }), 400, 'INVALID_SETTINGS', /change.*always/],
    [
      'a setting of the wrong JSON type',
      async () => ({ json: { ...js('t', ADD), handler: ['x'] } }),
      400,
      'INVALID_FIELD',
      /handler must be a string/,
    ],
    [
      'an unknown field (a typo)',
      async () => ({ json: { ...js('t', ADD), inputkey: 'x' } }),
      400,
      'UNKNOWN_FIELD',
      /unknown field "inputkey"/,
    ],
    ['resetEnv on create', async () => ({ json: { ...js('t', ADD), resetEnv: true } }), 400, 'UNKNOWN_FIELD', /PUT/],
    ['a syntax error', async () => ({ json: js('syntax', 'export function handler( {') }), 422, 'LOAD_SYNTAX', /syntax\.js:1:\d+/],
    [
      'no such handler export',
      async () => ({ json: { ...js('nohandler', 'export function other() {}'), handler: 'handler' } }),
      422,
      'HANDLER_NOT_FOUND',
      /no export 'handler'.*other/,
    ],
    [
      'a missing module',
      async () => ({ json: js('nomod', `import x from './nowhere.js'; export const handler = () => x`) }),
      422,
      'LOAD_MODULE_NOT_FOUND',
      /nowhere/,
    ],
    ['a Node built-in', async () => ({ json: js('fs', `import fs from 'node:fs'; export const handler = () => fs`) }), 422, 'LOAD_BUILTIN'],
    [
      'top-level code that throws',
      async () => ({ json: js('boom', `throw new Error('config missing'); export const handler = () => 1`) }),
      422,
      'LOAD_EVALUATION',
      /config missing/,
    ],
    [
      'an unsupported file type',
      async () => ({ body: form({ name: 'rb' }, { name: 'handler.rb', data: 'def handler; end' }) }),
      400,
      'UNSUPPORTED_FILE',
      /handler\.rb/,
    ],
    ['a file with no extension', async () => ({ json: { ...js('noext', ADD), filename: 'handler' } }), 400, 'UNSUPPORTED_FILE'],
    [
      'code that is not UTF-8',
      async () => ({ body: form({ name: 'latin' }, { name: 'l.js', data: new Uint8Array([0x2f, 0x2f, 0xe9, 0xff, 0x0a]) }) }),
      400,
      'CODE_NOT_UTF8',
      /UTF-8/,
    ],
    ['an empty file', async () => ({ body: form({ name: 'empty' }, { name: 'e.js', data: '' }) }), 400, 'CODE_EMPTY'],
    ['no code at all', async () => ({ json: { name: 'nocode' } }), 400, 'CODE_MISSING', /code/],
    ['code sent as a text field', async () => ({ body: form({ name: 'text', code: ADD }) }), 400, 'INVALID_FIELD', /file upload/],
    [
      'both source and zipBase64',
      async () => ({ json: { name: 'both', source: ADD, zipBase64: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' } }),
      400,
      'INVALID_FIELD',
      /either/,
    ],
    ['zipBase64 that is not base64', async () => ({ json: { name: 'b64', zipBase64: 'not base64!' } }), 400, 'INVALID_BASE64'],
    [
      'bytes that are not a ZIP',
      async () => ({ json: { name: 'notzip', zipBase64: Buffer.from('hello').toString('base64') } }),
      422,
      'ZIP_CORRUPT',
      /not a readable ZIP/,
    ],
    [
      'a ZIP entry escaping the archive (../)',
      async () => ({ json: await zipReq('trav', { '../evil.js': ADD, 'index.js': ADD }) }),
      422,
      'ZIP_UNSAFE_PATH',
      /\.\./,
    ],
    [
      'a ZIP entry with an absolute path',
      async () => ({ json: await zipReq('abs', { '/etc/evil.js': ADD }) }),
      422,
      'ZIP_UNSAFE_PATH',
      /absolute/,
    ],
    [
      'a symlink in the ZIP',
      async () => ({
        json: await zipReq(
          'link',
          { 'index.js': ADD, 'secret.js': '/etc/passwd' },
          { unix: { 'index.js': 0o100644, 'secret.js': 0o120777 } },
        ),
      }),
      422,
      'ZIP_SYMLINK',
    ],
    [
      'a ZIP bomb (one entry inflating past the limit)',
      async () => ({ json: await zipReq('bomb', { 'index.js': ADD, 'pad.bin': zeros }) }),
      422,
      'ZIP_TOO_LARGE',
      /larger than/,
    ],
    ['an empty ZIP', async () => ({ json: { name: 'empty-zip', zipBase64: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' } }), 422, 'ZIP_EMPTY'],
    [
      'a ZIP without the handler module',
      async () => ({ json: { ...(await zipReq('nohandler-zip', { 'lib/util.js': ADD })), handler: 'main.handler' } }),
      422,
      'HANDLER_MODULE_NOT_FOUND',
      /main/,
    ],
    [
      'a ZIP with no entry module',
      async () => ({ json: await zipReq('noentry-zip', { 'lib/util.js': ADD, 'src/other.js': ADD }) }),
      422,
      'HANDLER_MODULE_NOT_FOUND',
      /lib\/util\.js/,
    ],
    [
      'a ZIP with a name that is not UTF-8',
      async () => ({ json: { name: 'latin-zip', zipBase64: Buffer.from(latin1Name(await zipOf({ 'caf_.js': ADD }))).toString('base64') } }),
      422,
      'ZIP_BAD_NAME',
      /UTF-8/,
    ],
    [
      'a ZIP with too many entries',
      async () => ({ json: await zipReq('many', tooManyEntries) }),
      422,
      'ZIP_TOO_MANY_ENTRIES',
      /1001 entries/,
    ],
    [
      'malformed JSON',
      async () => ({ body: '{"name": "x", ', headers: { 'content-type': 'application/json' } }),
      400,
      'INVALID_JSON',
      /not valid JSON/,
    ],
    ['a JSON array', async () => ({ json: [1, 2] }), 400, 'INVALID_JSON', /object/],
    [
      'an unsupported content type',
      async () => ({ body: ADD, headers: { 'content-type': 'text/javascript' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /multipart\/form-data/,
    ],
  ];

  it.each(cases)('rejects %s', async (_what, make, status, code, message) => {
    // A function already registered: the registry is not empty, and must stay as it is.
    await register({ name: 'keeper', source: ADD });
    const before = await h.snapshot();
    const init = await make();
    const res = await h.request('/api/functions', { method: 'POST', ...init });
    const e = await errorOf(res);
    expect(e, JSON.stringify(e)).toMatchObject({ status, code });
    if (message) expect(e.message).toMatch(message);
    expect(h.runtime.names()).toEqual(['keeper']);
    expect(await h.snapshot()).toEqual(before);
  });

  it('413 for a body over REDLET_MAX_BODY_BYTES, before the body is read', async () => {
    const small = await apiHarness({ env: { REDLET_MAX_BODY_BYTES: '2048' } });
    try {
      const before = await small.snapshot();
      const res = await small.request('/api/functions', {
        method: 'POST',
        json: { name: 'big', source: `export const handler = () => '${'x'.repeat(4096)}'` },
      });
      const e = await errorOf(res);
      expect(e).toMatchObject({ status: 413, code: 'BODY_TOO_LARGE' });
      expect(e.message).toMatch(/2048 bytes.*REDLET_MAX_BODY_BYTES/);
      expect(await small.snapshot()).toEqual(before);
    } finally {
      await small.close();
    }
  });
});

describe('PUT /api/functions/:name', () => {
  it('replaces the code while it runs, keeps context.env, and resets it on request', async () => {
    await h.store.set(h.key('in'), '{"x":1}');
    await register({ name: 'count', source: COUNTER, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1, invokeOn: 'always' });
    const out = async () => JSON.parse((await h.store.get(h.key('out'))) ?? 'null') as { v: number; n: number } | null;
    await waitFor(async () => ((await out())?.n ?? 0) >= 2, 'two runs of v1');

    const v2 = COUNTER.replace('v: 1', 'v: 2');
    const res = await h.request('/api/functions/count', { method: 'PUT', body: form({}, { name: 'count-v2.js', data: v2 }) });
    expect(res.status, await res.clone().text()).toBe(200);
    const d = (await res.json()) as FunctionDescription;
    expect(d.source.filename).toBe('count-v2.js');
    expect(d.codeUpdatedAt).toBeGreaterThanOrEqual(d.createdAt);
    const before = (await out())!.n;
    const first = await waitFor(async () => {
      const o = await out();
      return o?.v === 2 ? o : null;
    }, 'a run of v2');
    // env carried over: the count goes on from where v1 left it.
    expect(first.n).toBeGreaterThan(before);
    expect(await adminClient().get(h.own('code:count'))).toBe(v2);

    await h.request('/api/functions/count/pause', { method: 'POST' });
    const reset = await h.request('/api/functions/count', { method: 'PUT', json: { resetEnv: true } });
    expect(reset.status).toBe(200);
    const state = JSON.parse((await adminClient().get(h.own('state:count')))!) as { env: unknown };
    expect(state.env).toEqual({});
    const dry = await h.request('/api/functions/count/invoke', { method: 'POST', json: {} });
    expect(((await dry.json()) as { output: { n: number } }).output.n).toBe(1);
  });

  it('changes settings only, keeping the code', async () => {
    await register({ name: 'tune', source: ADD, filename: 'tune.mjs' });
    const res = await h.request('/api/functions/tune', { method: 'PUT', json: { period: 30, memoryMb: 16, outputKey: h.key('o') } });
    expect(res.status).toBe(200);
    const d = (await res.json()) as FunctionDescription;
    expect(d.settings).toMatchObject({ period: 30, memoryMb: 16, outputKey: h.key('o'), handler: 'handler' });
    expect(d.source.filename).toBe('tune.mjs');
    expect(JSON.parse((await adminClient().get(h.own('fn:tune')))!)).toMatchObject({ period: 30, memoryMb: 16 });
    // outputKey: null clears it.
    const cleared = (await (
      await h.request('/api/functions/tune', { method: 'PUT', json: { outputKey: null } })
    ).json()) as FunctionDescription;
    expect(cleared.settings.outputKey).toBeNull();
  });

  it('rejects bad updates with the old function still running and nothing changed', async () => {
    await register({ name: 'stable', source: ADD });
    const before = await h.snapshot();
    const cases: Array<[string, Parameters<ApiHarness['request']>[1], number, string]> = [
      ['/api/functions/stable', { method: 'PUT', json: { source: 'export function handler( {' } }, 422, 'LOAD_SYNTAX'],
      ['/api/functions/stable', { method: 'PUT', json: { memoryMb: 1 } }, 400, 'INVALID_SETTINGS'],
      ['/api/functions/stable', { method: 'PUT', json: { name: 'other', period: 9 } }, 400, 'NAME_MISMATCH'],
      ['/api/functions/stable', { method: 'PUT', json: {} }, 400, 'NOTHING_TO_UPDATE'],
      ['/api/functions/stable', { method: 'PUT', body: form({ resetEnv: 'maybe' }) }, 400, 'INVALID_FIELD'],
      ['/api/functions/stable', { method: 'PUT', json: await zipReqOf({ '../x.js': ADD }) }, 422, 'ZIP_UNSAFE_PATH'],
      ['/api/functions/missing', { method: 'PUT', json: { period: 9 } }, 404, 'FUNCTION_NOT_FOUND'],
    ];
    for (const [path, init, status, code] of cases) {
      expect(await errorOf(await h.request(path, init)), `${path} ${JSON.stringify(init?.json)}`).toMatchObject({ status, code });
    }
    expect(await h.snapshot()).toEqual(before);
    const inv = await h.request('/api/functions/stable/invoke', { method: 'POST', json: { a: 1, b: 2 } });
    expect(((await inv.json()) as { output: unknown }).output).toEqual({ sum: 3 });
  });
});

/** Replaces the '_' of every 'caf_.js' entry name with 0xE9 (Latin-1 'é'), which is not UTF-8. */
function latin1Name(zip: Uint8Array): Uint8Array {
  const out = new Uint8Array(zip);
  const needle = Buffer.from('caf_.js');
  for (let i = 0; i + needle.length <= out.length; i++) {
    if (Buffer.from(out.subarray(i, i + needle.length)).equals(needle)) out[i + 3] = 0xe9;
  }
  return out;
}

async function zipReqOf(entries: Record<string, string>): Promise<{ zipBase64: string }> {
  return { zipBase64: Buffer.from(await zipOf(entries)).toString('base64') };
}

describe('GET, DELETE, pause, resume, logs', () => {
  it('lists and reads functions with settings, status and counters, never the code', async () => {
    await register({ name: 'b-fn', source: ADD });
    await register({ name: 'a-fn', source: COUNTER });
    const list = (await (await h.request('/api/functions')).json()) as { functions: FunctionDescription[] };
    expect(list.functions.map((f) => f.name)).toEqual(['a-fn', 'b-fn']);
    expect(JSON.stringify(list)).not.toContain('sum: i.a');
    const one = await h.request('/api/functions/a-fn');
    expect(one.status).toBe(200);
    const d = (await one.json()) as FunctionDescription;
    // The same shape on every route.
    expect(Object.keys(d).sort()).toEqual(Object.keys(list.functions[0]!).sort());
    expect(d).toMatchObject({ name: 'a-fn', settings: list.functions[0]!.settings, source: { filename: 'a-fn.js', kind: 'file' } });
    expect(await errorOf(await h.request('/api/functions/nope'))).toMatchObject({
      status: 404,
      code: 'FUNCTION_NOT_FOUND',
      message: "no function named 'nope'",
    });
  });

  it('DELETE stops the function, frees its isolate and removes its keys: 204', async () => {
    await h.store.set(h.key('in'), '{"a":1,"b":1}');
    await register({ name: 'gone', source: COUNTER, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1, invokeOn: 'always' });
    await register({ name: 'stays', source: ADD });
    await waitFor(() => h.store.get(h.own('state:gone')), 'state written');
    const res = await h.request('/api/functions/gone', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(h.runtime.names()).toEqual(['stays']);
    expect(await h.runtime.sandbox.stats('gone')).toBeNull();
    const keys = Object.keys(await h.snapshot()).filter((k) => k.includes('gone'));
    expect(keys).toEqual([]);
    const out = await h.store.get(h.key('out'));
    await sleep(300);
    expect(await h.store.get(h.key('out'))).toBe(out); // no more runs
    expect(await errorOf(await h.request('/api/functions/gone', { method: 'DELETE' }))).toMatchObject({
      status: 404,
      code: 'FUNCTION_NOT_FOUND',
    });
    expect((await h.request('/api/functions/gone')).status).toBe(404);
  });

  it('pause and resume: state, the stored flag, and no runs while paused', async () => {
    await h.store.set(h.key('in'), '{}');
    await register({ name: 'p', source: COUNTER, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1, invokeOn: 'always' });
    await waitFor(() => h.store.get(h.key('out')), 'a run');
    const paused = (await (await h.request('/api/functions/p/pause', { method: 'POST' })).json()) as FunctionDescription;
    expect(paused).toMatchObject({ paused: true, status: { state: 'paused' } });
    expect(JSON.parse((await adminClient().get(h.own('fn:p')))!)).toMatchObject({ paused: true });
    await sleep(50);
    const frozen = await h.store.get(h.key('out'));
    await sleep(300);
    expect(await h.store.get(h.key('out'))).toBe(frozen);
    const resumed = (await (await h.request('/api/functions/p/resume', { method: 'POST' })).json()) as FunctionDescription;
    expect(resumed.paused).toBe(false);
    await waitFor(async () => (await h.store.get(h.key('out'))) !== frozen, 'runs after resume');
    expect((await h.request('/api/functions/none/pause', { method: 'POST' })).status).toBe(404);
  });

  it('logs: the console lines of scheduled runs, with a limit', async () => {
    await h.store.set(h.key('in'), '{}');
    await register({ name: 'talk', source: COUNTER, inputKey: h.key('in'), period: 0.1, invokeOn: 'always' });
    await waitFor(async () => (await h.runtime.view('talk')).status.invocations >= 3, 'three runs');
    const all = (await (await h.request('/api/functions/talk/logs')).json()) as {
      name: string;
      logs: Array<{ msg: string; level: string; t: number }>;
      droppedLogs: number;
    };
    expect(all.name).toBe('talk');
    expect(all.logs.slice(0, 3).map((l) => l.msg)).toEqual(['run 1', 'run 2', 'run 3']);
    expect(all.logs[0]).toMatchObject({ level: 'log', t: expect.any(Number) });
    const last = (await (await h.request('/api/functions/talk/logs?limit=1')).json()) as { logs: unknown[] };
    expect(last.logs).toHaveLength(1);
    expect(await errorOf(await h.request('/api/functions/talk/logs?limit=0'))).toMatchObject({ status: 400, code: 'INVALID_QUERY' });
    expect((await h.request('/api/functions/none/logs')).status).toBe(404);
  });
});

describe('POST /api/functions/:name/invoke (a dry run)', () => {
  it('runs on the JSON body and returns output, duration, logs; writes nothing and keeps env', async () => {
    await register({ name: 'dry', source: COUNTER, inputKey: h.key('in'), outputKey: h.key('out'), period: 60 });
    const before = await h.snapshot();
    const res = await h.request('/api/functions/dry/invoke', { method: 'POST', json: { hello: 'world' } });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { ok: boolean; output: unknown; durationMs: number; logs: Array<{ msg: string }>; error: unknown };
    expect(r).toMatchObject({ ok: true, output: { v: 1, n: 1, input: { hello: 'world' } }, error: null });
    expect(r.durationMs).toBeGreaterThan(0);
    expect(r.logs.map((l) => l.msg)).toEqual(['run 1']);
    // env unchanged: a second dry run counts from the same place.
    const again = (await (await h.request('/api/functions/dry/invoke', { method: 'POST', json: {} })).json()) as { output: { n: number } };
    expect(again.output.n).toBe(1);
    expect(await h.snapshot()).toEqual(before);
    expect(await h.store.get(h.key('out'))).toBeNull();
  });

  it('uses the input key when the body is empty; 409 when that key is empty', async () => {
    await register({ name: 'fromkey', source: ADD, inputKey: h.key('in'), period: 60 });
    expect(await errorOf(await h.request('/api/functions/fromkey/invoke', { method: 'POST' }))).toMatchObject({
      status: 409,
      code: 'INPUT_MISSING',
    });
    await h.store.set(h.key('in'), '{"a":2,"b":3}');
    const r = (await (await h.request('/api/functions/fromkey/invoke', { method: 'POST' })).json()) as { output: unknown; input: unknown };
    expect(r).toMatchObject({ output: { sum: 5 }, input: { a: 2, b: 3 } });
  });

  it("reports the function's failure in the result (200), and bad input as 400", async () => {
    await register({
      name: 'fails',
      source: `export function handler(i) { if (i.boom) throw new TypeError('bad boom'); return 1 }`,
      period: 60,
    });
    const r = (await (await h.request('/api/functions/fails/invoke', { method: 'POST', json: { boom: true } })).json()) as {
      ok: boolean;
      output: unknown;
      error: { code: string; name: string; message: string; stack?: string };
    };
    expect(r.ok).toBe(false);
    expect(r.output).toBeNull();
    expect(r.error).toMatchObject({ name: 'TypeError', message: 'bad boom' });
    expect(r.error.stack).toContain('fails.js');
    const bad = await errorOf(
      await h.request('/api/functions/fails/invoke', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } }),
    );
    expect(bad).toMatchObject({ status: 400, code: 'INVALID_JSON' });
    expect(bad.message).toMatch(/input/);
    expect((await h.request('/api/functions/none/invoke', { method: 'POST', json: {} })).status).toBe(404);
  });
});

describe('errors, probes and unknown routes', () => {
  it('unknown /api routes are 404 JSON; wrong methods are 405 with Allow', async () => {
    expect(await errorOf(await h.request('/api/nothing'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await errorOf(await h.request('/api/functions/a/b/c'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const res = await h.request('/api/functions', { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(await errorOf(res)).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    expect((await h.request('/api/functions/x/invoke')).status).toBe(405);
  });

  it("a system error is a 500 with a request id, never the error's text", async () => {
    const log = { error: vi.fn() };
    vi.spyOn(h.runtime, 'list').mockRejectedValueOnce(new Error('secret detail at /srv/x'));
    vi.spyOn(h.runtime.log, 'error').mockImplementation(log.error as never);
    const e = (await (await h.request('/api/functions')).json()) as { error: { code: string; message: string; requestId: string } };
    expect(e.error.code).toBe('INTERNAL');
    expect(e.error.message).not.toContain('secret');
    expect(e.error.message).toContain(e.error.requestId);
    expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ requestId: e.error.requestId }), 'request failed');
  });

  it('/healthz and /readyz (Redis reachable, functions loaded)', async () => {
    expect(await (await h.request('/healthz', { token: null })).json()).toEqual({ status: 'ok' });
    const ready = await h.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', store: 'redis', redis: 'available', functionsLoaded: true });
  });
});
