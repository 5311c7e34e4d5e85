// Python functions through the HTTP API on a real Redis: registration of a .py file
// and of a ZIP of modules, an unavailable import refused at registration, output and
// logs, and context.env carried across a restart of the runtime.
import { beforeAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { getSnapshot } from '../sandbox/python/pyodide-runtime.js';
import { Runtime } from '../src/runtime/runtime.js';
import { adminClient, form, useApiHarness, zipOf } from './helpers/api-harness.js';
import { openStore } from './helpers/redis-testbed.js';
import { waitFor } from './helpers/wait.js';

const COUNTER = `
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    print('run', context.env['n'], type(context.port).__name__)
    return {'n': context.env['n'], 'a': input['a']}
`;

beforeAll(async () => {
  await getSnapshot();
}, 120_000);
const h = useApiHarness();

describe('Python functions over the API', { timeout: 60_000 }, () => {
  it('registers a .py file with the Python memory default, runs it, logs print() and keeps env across a restart', async () => {
    const admin = adminClient();
    await admin.set(h.key('in'), '{"a": 1}');
    const res = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'counter', filename: 'counter.py', source: COUNTER, inputKey: h.key('in'), outputKey: h.key('out'), period: 0.1 },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await res.json()).toMatchObject({ settings: { memoryMb: 128 }, source: { filename: 'counter.py', kind: 'file' } });
    expect(JSON.parse(await waitFor(() => admin.get(h.key('out')), 'output', 20_000))).toEqual({ n: 1, a: 1 });
    const logs = (await (await h.request('/api/functions/counter/logs')).json()) as { logs: Array<{ msg: string }> };
    expect(logs.logs.map((l) => l.msg)).toContain('run 1 int');

    // A restart: a new runtime on the same Redis picks the function and its env up.
    await h.runtime.stop(1000);
    const store = await openStore();
    const again = new Runtime({ config: h.config, store, sandbox: new InProcessSandbox() });
    try {
      await again.start();
      await admin.set(h.key('in'), '{"a": 2}');
      expect(
        JSON.parse(
          await waitFor(
            async () => ((await admin.get(h.key('out')))?.includes('"a":2') ? admin.get(h.key('out')) : null),
            'output after restart',
            20_000,
          ),
        ),
      ).toEqual({ n: 2, a: 2 });
    } finally {
      await again.stop(1000);
      await store.close();
    }
  });

  it('registers a ZIP of modules through the form and refuses an unavailable import with file and line', async () => {
    const data = await zipOf({
      'handler_module.py': 'from lib.calc import double\ndef handler(input, context):\n    return double(input["a"])\n',
      'lib/__init__.py': '',
      'lib/calc.py': 'def double(x):\n    return 2 * x\n',
    });
    const ok = await h.request('/api/functions', {
      method: 'POST',
      body: form({ name: 'zipped', handler: 'handler_module.handler' }, { name: 'fn.zip', data }),
    });
    expect(ok.status, await ok.clone().text()).toBe(201);
    const run = await h.request('/api/functions/zipped/invoke', { method: 'POST', body: '{"a":21}' });
    expect(((await run.json()) as { output: unknown }).output).toBe(42);

    const bad = await h.request('/api/functions', {
      method: 'POST',
      json: { name: 'numpy', filename: 'np.py', source: 'import json\nimport numpy\ndef handler(i, c):\n    return 1\n' },
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('LOAD_MODULE_NOT_FOUND');
    expect(body.error.message).toContain("np.py:2: imports 'numpy', which is not available");
    expect(await adminClient().smembers(h.own('functions'))).toEqual(['zipped']);
  });
});
