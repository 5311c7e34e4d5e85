// Functions cannot reach redlet's own keys: refused at registration (API, compat
// registration), confined by REDLET_FUNCTION_KEYS, re-checked at commit time, and
// definitions or state tampered with in Redis are quarantined at the next load.
import { describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import type { FunctionDescription } from '../src/http/describe-function.js';
import { Runtime } from '../src/runtime/runtime.js';
import { adminClient, apiHarness, useApiHarness } from './helpers/api-harness.js';
import { openStore } from './helpers/redis-testbed.js';
import { sleep, waitFor } from './helpers/wait.js';

const ECHO = 'export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return { got: i } }';
const h = useApiHarness();

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; details?: { field?: string } } };
  return { status: res.status, ...body.error };
}

/** A second runtime on the same Redis and prefix: what a restart loads. */
async function restarted(): Promise<{ rt: Runtime; close: () => Promise<void> }> {
  const store = await openStore();
  const rt = new Runtime({ config: h.config, store, sandbox: new InProcessSandbox() });
  await rt.start();
  return {
    rt,
    close: async () => {
      await rt.stop(500);
      await store.close();
    },
  };
}

describe('registration refuses redlet’s own keys', () => {
  it.each([
    ['inputKey', (p: string) => `${p}fn:victim`],
    ['outputKey', (p: string) => `${p}state:victim`],
    ['outputKey', (p: string) => `{${p.slice(0, -1)}}:owner:victim`],
    ['outputKey', (p: string) => `${p.slice(0, 3)}{}${p.slice(3)}functions`],
    ['outputKey', () => 'redlet:functions'],
  ])('%s %s: 400 RESERVED_KEY and Redis untouched', async (field, key) => {
    await h.request('/api/functions', { method: 'POST', json: { name: 'victim', source: ECHO, inputKey: h.key('in') } });
    const before = await h.snapshot();
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'thief', source: ECHO, inputKey: h.key('in'), [field]: key(h.own('')) },
    });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'RESERVED_KEY', details: { field } });
    const upd = await h.request('/api/functions/victim', { method: 'PUT', json: { [field]: key(h.own('')) } });
    expect(await errorOf(upd)).toMatchObject({ status: 400, code: 'RESERVED_KEY' });
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses it from the compat environment (origin config) as well', async () => {
    await expect(
      h.runtime.register({
        name: 'compat',
        source: { kind: 'file', filename: 'c.js', code: ECHO },
        settings: { inputKey: 'metrics', outputKey: h.own('fn:x') },
        origin: 'config',
      }),
    ).rejects.toMatchObject({
      code: 'RESERVED_KEY',
    });
  });

  it('refuses a keyspace function writing its own input: 400 SELF_TRIGGER', async () => {
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'loop', source: ECHO, trigger: 'keyspace', inputKey: h.key('k'), outputKey: h.key('k') },
    });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'SELF_TRIGGER', details: { field: 'outputKey' } });
  });
});

describe('REDLET_FUNCTION_KEYS', () => {
  it('confines keys to the configured globs', async () => {
    const confined = await apiHarness({ env: { REDLET_FUNCTION_KEYS: 'metrics*, *-output' } });
    try {
      const ok = await confined.request('/api/functions', {
        method: 'POST',
        json: { name: 'ok', source: ECHO, inputKey: 'metrics', outputKey: 'ok-output' },
      });
      expect(ok.status).toBe(201);
      const bad = await confined.request('/api/functions', {
        method: 'POST',
        json: { name: 'bad', source: ECHO, inputKey: 'metrics', outputKey: 'somebody-else' },
      });
      expect(await errorOf(bad)).toMatchObject({ status: 400, code: 'KEY_NOT_ALLOWED', details: { field: 'outputKey' } });
    } finally {
      await confined.close();
    }
  });
});

describe('the runner re-checks at commit time', () => {
  it('a definition that slipped through cannot write a reserved key', async () => {
    await adminClient().set(h.key('in'), '{"v":1}');
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'sly', source: ECHO, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1 },
    });
    expect(res.status).toBe(201);
    const runner = h.runtime.runner('sly')!;
    await runner.stop();
    // As if a bug elsewhere let a reserved key through.
    (runner.def as { outputKey: string }).outputKey = h.own('fn:victim');
    (runner as unknown as { stopped: boolean }).stopped = false;
    await runner.tick();
    expect(runner.status.snapshot()).toMatchObject({ state: 'error', lastError: { code: 'RESERVED_KEY' } });
    expect(await adminClient().exists(h.own('fn:victim'))).toBe(0);
  });
});

describe('what Redis holds is validated when loaded', () => {
  it.each([
    ['a limit beyond the maxima', (d: Record<string, unknown>) => ({ ...d, memoryMb: 100_000 })],
    ['origin config', (d: Record<string, unknown>) => ({ ...d, origin: 'config' })],
    ['a reserved output key', (d: Record<string, unknown>) => ({ ...d, outputKey: `{${h.own('').slice(0, -1)}}:owner:x` })],
  ])('%s: quarantined, visible with the reason, never run, deletable', async (_what, tamper) => {
    await adminClient().set(h.key('in'), '{"v":1}');
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'tampered', source: ECHO, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1 },
    });
    expect(res.status).toBe(201);
    // The first run (of the input already there) finishes before the pause: it cannot land after the delete below.
    await waitFor(() => adminClient().get(h.key('out')), 'the first output');
    await h.request('/api/functions/tampered/pause', { method: 'POST' });
    await adminClient().del(h.key('out'));
    const def = JSON.parse((await adminClient().get(h.own('fn:tampered')))!) as Record<string, unknown>;
    await adminClient().set(h.own('fn:tampered'), JSON.stringify({ ...tamper(def), paused: false }));

    const { rt, close } = await restarted();
    try {
      const view = await rt.view('tampered');
      expect(view.status.state).toBe('quarantined');
      expect(view.status.detail).toMatch(/stored definition refused/);
      await sleep(400);
      expect(await adminClient().exists(h.key('out'))).toBe(0);
      await expect(rt.invoke('tampered', '{}')).rejects.toMatchObject({ code: 'FUNCTION_QUARANTINED' });
      await expect(rt.update('tampered', { settings: { period: 1 } })).rejects.toMatchObject({ code: 'FUNCTION_QUARANTINED' });
      await rt.remove('tampered');
      expect(await adminClient().exists(h.own('fn:tampered'))).toBe(0);
    } finally {
      await close();
    }
  });

  it('a tampered state is quarantined too, and the API shows it', async () => {
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'st', source: ECHO, inputKey: h.key('in'), period: 60 },
    });
    expect(res.status).toBe(201);
    await adminClient().set(h.own('state:st'), JSON.stringify({ env: [], lastSeen: 5 }));
    const { rt, close } = await restarted();
    try {
      expect((await rt.view('st')).status).toMatchObject({ state: 'quarantined', detail: expect.stringMatching(/stored state refused/) });
    } finally {
      await close();
    }
  });
});

describe('the API describes a quarantined function', () => {
  it('GET shows state quarantined and its reason', async () => {
    await h.request('/api/functions', { method: 'POST', json: { name: 'q', source: ECHO, inputKey: h.key('in'), period: 60 } });
    const def = JSON.parse((await adminClient().get(h.own('fn:q')))!) as Record<string, unknown>;
    await adminClient().set(h.own('fn:q'), JSON.stringify({ ...def, timeoutMs: 10_000_000 }));
    await h.runtime.refresh('q');
    const d = (await (await h.request('/api/functions/q')).json()) as FunctionDescription;
    expect(d.status.state).toBe('quarantined');
    expect(d.status.detail).toContain('timeoutMs');
  });
});
