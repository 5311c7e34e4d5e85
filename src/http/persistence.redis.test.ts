// Restart persistence against a real Redis: a function registered through the API
// comes back in a new redlet process-alike (same prefix) with its settings, code and
// context.env; a function from the compat env variables is listed as `config` and
// keeps its state, but is not stored in the registry nor changeable through the API.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, closeAdmin, ownKeyOf, TEST_TOKEN } from '../../test/helpers/api-harness.js';
import { Keys } from '../keys.js';
import { deletePrefix, ownPrefix, redisUrl, testPrefix } from '../../test/helpers/redis.js';
import { sleep, waitFor } from '../../test/helpers/wait.js';
import { loadConfig } from '../config.js';
import { silentLogger } from '../logger.js';
import { startRedlet, type RunningRedlet } from '../main.js';
import type { FunctionDescription } from './describe-function.js';

const COUNTER = `export function handler(input, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return { n: ctx.env.n } }`;

let prefix: string;
let dir: string;
let running: RunningRedlet | null = null;

beforeEach(() => {
  prefix = testPrefix();
  dir = mkdtempSync(join(tmpdir(), 'redlet-persist-'));
  writeFileSync(join(dir, 'usermodule.js'), COUNTER.replace('{ n:', '{ compat: true, n:'));
});

afterEach(async () => {
  await running?.stop();
  running = null;
  await deletePrefix(adminClient(), prefix);
  rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await closeAdmin();
});

const k = (name: string) => `${prefix}${name}`;
/** One of redlet's own keys by kind and function (`fn:add`), as Keys builds it. */
const own = (spec: string) => ownKeyOf(new Keys(ownPrefix(prefix)), spec);

async function start(): Promise<{ r: RunningRedlet; api: (path: string, init?: RequestInit) => Promise<Response> }> {
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    REDLET_PREFIX: ownPrefix(prefix),
    PORT: '0',
    HOST: '127.0.0.1',
    REDLET_DEMO: '0',
    REDLET_COLLECT: '0',
    REDLET_API_TOKEN: TEST_TOKEN,
    FUNCTION_FILE: join(dir, 'usermodule.js'),
    FUNCTION_NAME: 'compat-fn',
    REDIS_INPUT_KEY: k('in'),
    REDIS_OUTPUT_KEY: k('out-compat'),
    MONITORING_PERIOD: '0.1',
    FUNCTION_INVOKE_ON: 'always',
  });
  const r = await startRedlet(config, silentLogger());
  running = r;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${r.port}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
  return { r, api };
}

const outN = async (key: string) => (JSON.parse((await adminClient().get(k(key))) ?? '{"n":0}') as { n: number }).n;

describe('restart persistence', () => {
  it('brings back API functions with their code, settings and context.env; config functions keep only state', async () => {
    await adminClient().set(k('in'), '{}');
    const first = await start();
    const reg = await first.api('/api/functions', {
      method: 'POST',
      body: JSON.stringify({
        name: 'counter',
        source: COUNTER,
        filename: 'counter.mjs',
        inputKey: k('in'),
        outputKey: k('out'),
        period: 0.1,
        invokeOn: 'always',
        memoryMb: 24,
      }),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    await waitFor(async () => (await outN('out')) >= 3 && (await outN('out-compat')) >= 2, 'runs before the restart');
    await first.r.stop();
    running = null;
    const nBefore = await outN('out');
    const compatBefore = await outN('out-compat');

    // Stored: the API function in the registry; the config one only as state.
    expect(await adminClient().smembers(own('functions'))).toEqual(['counter']);
    expect(await adminClient().exists(own('fn:compat-fn'), own('code:compat-fn'))).toBe(0);
    expect(await adminClient().exists(own('state:compat-fn'))).toBe(1);

    const second = await start();
    const list = (await (await second.api('/api/functions')).json()) as { functions: FunctionDescription[] };
    expect(list.functions.map((f) => [f.name, f.origin])).toEqual([
      ['compat-fn', 'config'],
      ['counter', 'api'],
    ]);
    const counter = list.functions.find((f) => f.name === 'counter')!;
    expect(counter.settings).toMatchObject({ inputKey: k('in'), outputKey: k('out'), period: 0.1, invokeOn: 'always', memoryMb: 24 });
    expect(counter.source).toEqual({ filename: 'counter.mjs', kind: 'file' });

    // context.env came back: the counts go on from where they were.
    await waitFor(async () => (await outN('out')) > nBefore && (await outN('out-compat')) > compatBefore, 'runs after the restart');
    const paused = await second.api('/api/functions/counter/pause', { method: 'POST' });
    expect(paused.status).toBe(200);
    await sleep(200); // a tick in flight when the pause came finishes
    const stored = (JSON.parse((await adminClient().get(own('state:counter')))!) as { env: { n: number } }).env.n;
    expect(stored).toBeGreaterThan(nBefore);
    const dry = (await (await second.api('/api/functions/counter/invoke', { method: 'POST', body: '{}' })).json()) as {
      output: { n: number };
    };
    expect(dry.output.n).toBe(stored + 1);
  });

  it('a function from configuration cannot be replaced or deleted through the API (409), but can be paused', async () => {
    const { api } = await start();
    for (const init of [{ method: 'PUT', body: JSON.stringify({ period: 5 }) }, { method: 'DELETE' }]) {
      const res = await api('/api/functions/compat-fn', init);
      expect(res.status).toBe(409);
      const e = (await res.json()) as { error: { code: string; message: string } };
      expect(e.error.code).toBe('FUNCTION_FROM_CONFIG');
      expect(e.error.message).toMatch(/FUNCTION_FILE.*restart/);
    }
    expect((await api('/api/functions/compat-fn/pause', { method: 'POST' })).status).toBe(200);
  });
});
