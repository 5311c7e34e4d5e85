import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../in-process.js';
import type { ContextFields, FunctionSource, InvokeRequest } from '../types.js';
import { getSnapshot } from './pyodide-runtime.js';

const context: ContextFields = {
  host: 'redis.local',
  port: 6380,
  input_key: 'metrics',
  output_key: null,
  function_getmtime: '2024-11-20 14:03:15',
  last_execution: null,
  function_name: 'fn',
};

const file = (code: string, filename = 'handler_module.py'): FunctionSource => ({ kind: 'file', filename, code });

async function zip(files: Record<string, string>): Promise<FunctionSource> {
  const z = new JSZip();
  for (const [path, text] of Object.entries(files)) z.file(path, text);
  return { kind: 'zip', filename: 'fn.zip', data: await z.generateAsync({ type: 'uint8array' }) };
}

let box: InProcessSandbox;
let n = 0;
beforeAll(async () => {
  // The first Python function of a process may have to make the snapshot (seconds).
  await getSnapshot();
  box = new InProcessSandbox();
}, 120_000);
afterAll(async () => {
  await box?.close();
});

async function load(source: FunctionSource | string, opts: { handler?: string; timeoutMs?: number; memoryMb?: number; env?: string } = {}) {
  const id = `fn${++n}`;
  const info = await box.load(id, {
    source: typeof source === 'string' ? file(source) : source,
    handler: opts.handler ?? 'handler',
    memoryMb: opts.memoryMb ?? 128,
    timeoutMs: opts.timeoutMs ?? 1000,
    env: opts.env ?? '{}',
    name: id,
  });
  return { id, info };
}

const call = (id: string, input: unknown = {}, extra: Partial<InvokeRequest> = {}) =>
  box.invoke(id, { input: typeof input === 'string' ? input : JSON.stringify(input), context, maxOutputBytes: 1 << 20, ...extra });

async function loadError(source: FunctionSource | string, handler = 'handler') {
  try {
    await load(source, { handler });
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the load to fail');
}

describe('Python functions', { timeout: 60_000 }, () => {
  it('calls handler(input, context) with the course context types and keeps env', async () => {
    const { id, info } = await load(`
import datetime
def handler(input, context):
    context.env['calls'] = context.env.get('calls', 0) + 1
    return {
        'input': input,
        'types': {k: type(getattr(context, k)).__name__ for k in ('host', 'port', 'input_key', 'output_key', 'function_getmtime', 'last_execution', 'env')},
        'host': context.host, 'port': context.port, 'mtime': context.function_getmtime,
        'last': context.last_execution.isoformat() if isinstance(context.last_execution, datetime.datetime) else None,
        'calls': context.env['calls'],
    }
`);
    expect(info.entry).toBe('handler_module.py');
    const first = await call(id, { a: 1 });
    expect(first.ok).toBe(true);
    const out = JSON.parse(first.output!);
    expect(out.input).toEqual({ a: 1 });
    expect(out.types).toEqual({
      host: 'str',
      port: 'int',
      input_key: 'str',
      output_key: 'NoneType',
      function_getmtime: 'str',
      last_execution: 'NoneType',
      env: 'dict',
    });
    expect(out).toMatchObject({ host: 'redis.local', port: 6380, mtime: '2024-11-20 14:03:15', last: null, calls: 1 });
    expect(first.env).toBe('{"calls":1}');
    const second = await box.invoke(id, {
      input: '{}',
      context: { ...context, last_execution: Date.UTC(2024, 10, 20, 14, 3, 20), output_key: 'out' },
      maxOutputBytes: 1 << 20,
    });
    const out2 = JSON.parse(second.output!);
    expect(out2.types.last_execution).toBe('datetime');
    expect(out2.types.output_key).toBe('str');
    expect(out2.calls).toBe(2);
  });

  it('starts from a saved env (a restart) and rolls env back when the handler fails', async () => {
    const { id } = await load(
      `
def handler(input, context):
    context.env['n'] = context.env['n'] + 1
    if input.get('fail'):
        raise ValueError('boom')
    return context.env['n']
`,
      { env: '{"n": 41}' },
    );
    expect((await call(id)).output).toBe('42');
    expect((await call(id, { fail: true })).ok).toBe(false);
    expect((await call(id)).output).toBe('43');
    const dry = await call(id, {}, { dryRun: true });
    expect(dry.output).toBe('44');
    expect(dry.env).toBeNull();
    expect((await call(id)).output).toBe('44');
  });

  it('writes nothing for None and names the type of a result JSON cannot hold', async () => {
    const { id } = await load(`
import datetime
def handler(input, context):
    kind = input['kind']
    if kind == 'none': return None
    if kind == 'nan': return {'x': float('nan')}
    if kind == 'set': return {'s': {1, 2}}
    if kind == 'dt': return [datetime.datetime(2024, 1, 1)]
    if kind == 'bytes': return b'abc'
`);
    const none = await call(id, { kind: 'none' });
    expect(none.ok).toBe(true);
    expect(none.output).toBeNull();
    for (const [kind, text] of [
      ['nan', "result['x'] is nan"],
      ['set', "result['s'] is a set"],
      ['dt', 'result[0] is a datetime'],
      ['bytes', 'result is a bytes'],
    ]) {
      const r = await call(id, { kind });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('OUTPUT_NOT_SERIALIZABLE');
      expect(r.error?.message).toContain(text);
    }
  });

  it('sends print() and logging to the logs and shows tracebacks with the user file and line only', async () => {
    const { id } = await load(`import logging
print('loading')
def helper(x):
    return 1 / x
def handler(input, context):
    print('value', input['x'])
    logging.warning('careful')
    return helper(input['x'])
`);
    const ok = await call(id, { x: 2 });
    expect(ok.logs.map((l) => l.msg)).toEqual(['loading', 'value 2', expect.stringMatching(/careful$/)]);
    expect(ok.logs.map((l) => l.level)).toEqual(['log', 'log', 'error']);
    const bad = await call(id, { x: 0 });
    expect(bad.error).toMatchObject({ code: 'HANDLER_ERROR', name: 'ZeroDivisionError', message: 'division by zero' });
    expect(bad.error?.stack).toBe(
      'Traceback (most recent call last):\n  File "handler_module.py", line 8, in handler\n    return helper(input[\'x\'])\n  File "handler_module.py", line 4, in helper\n    return 1 / x\nZeroDivisionError: division by zero',
    );
  });

  it('rejects a syntax error with file:line, and an unavailable import with module, file, line and what is available', async () => {
    const syntax = await loadError('def handler(input, context)\n    return 1\n');
    expect(syntax.code).toBe('LOAD_SYNTAX');
    expect(syntax.message).toMatch(/^handler_module\.py:1: SyntaxError/);
    const missing = await loadError(
      await zip({
        'main.py': 'import helpers\ndef handler(i, c):\n    return helpers.f()\n',
        'helpers.py': 'import json\n\nimport numpy as np\ndef f():\n    return 1\n',
      }),
    );
    expect(missing.code).toBe('LOAD_MODULE_NOT_FOUND');
    expect(missing.message).toContain("helpers.py:3: imports 'numpy', which is not available");
    expect(missing.message).toContain('standard library');
    expect(missing.message).toContain('(helpers, main)');
    // An import guarded by `except ImportError` is the program's own business.
    const { id } = await load(
      'try:\n    import requests\nexcept ImportError:\n    requests = None\ndef handler(i, c):\n    return requests is None\n',
    );
    expect((await call(id)).output).toBe('true');
  });

  it('runs a ZIP with packages, sub-packages, data files and a vendored package', async () => {
    const source = await zip({
      'app/__init__.py': '',
      'app/stats/__init__.py': 'from .mean import mean\n',
      'app/stats/mean.py': 'def mean(xs):\n    return sum(xs) / len(xs)\n',
      'app/main.py':
        'import os\nfrom app.stats import mean\nimport tinyvendor\nHERE = os.path.dirname(__file__)\ndef run(input, context):\n    with open(os.path.join(HERE, "data", "weights.txt")) as f:\n        w = [float(x) for x in f.read().split()]\n    return {"mean": mean(w), "v": tinyvendor.VERSION, "cwd_read": open("app/data/weights.txt").read().strip()}\n',
      'app/data/weights.txt': '1 2 3\n',
      'tinyvendor/__init__.py': 'VERSION = "1.0"\n',
    });
    for (const handler of ['app.main.run', 'app/main.py:run']) {
      const { id, info } = await load(source, { handler });
      expect(info.entry).toBe('app/main.py');
      expect(JSON.parse((await call(id)).output!)).toEqual({ mean: 2, v: '1.0', cwd_read: '1 2 3' });
    }
    const single = await load('def handler(i, c):\n    return "course"\n', { handler: 'handler_module.handler' });
    expect((await call(single.id)).output).toBe('"course"');
  });

  it('stops while True and deep recursion at the time limit; the next call gets a working interpreter; a neighbour is unaffected', async () => {
    const neighbour = await load('def handler(i, c):\n    c.env["n"] = c.env.get("n", 0) + 1\n    return c.env["n"]\n');
    const { id } = await load(
      `
import sys
def handler(input, context):
    if input.get('loop'):
        while True: pass
    if input.get('swallow'):
        while True:
            try:
                while True: pass
            except BaseException:
                pass
    if input.get('deep'):
        sys.setrecursionlimit(10**7)
        def f(n): return f(n + 1) + 1
        return f(0)
    return 'fine'
`,
      { timeoutMs: 300 },
    );
    expect((await call(neighbour.id)).output).toBe('1');
    const loop = await call(id, { loop: true });
    expect(loop.error?.code).toBe('TIMEOUT');
    expect((await call(id)).output).toBe('"fine"');
    const swallow = await call(id, { swallow: true });
    expect(swallow.error?.code).toBe('TIMEOUT');
    expect((await call(id)).output).toBe('"fine"');
    const deep = await call(id, { deep: true });
    expect(deep.ok).toBe(false);
    expect((await call(id)).output).toBe('"fine"');
    expect((await call(neighbour.id)).output).toBe('2');
  });

  it('after many short runs (the synchronous fast path), a long run still completes exactly once', async () => {
    const { id } = await load(
      `
import time
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    if input.get('slow'):
        end = time.time() + 0.1
        while time.time() < end:
            pass
    if input.get('loop'):
        while True: pass
    return context.env['n']
`,
      { timeoutMs: 1000 },
    );
    for (let i = 1; i <= 12; i++) expect((await call(id)).output).toBe(String(i));
    // Past the synchronous budget: stopped, rolled back, and run again on the slow path.
    expect((await call(id, { slow: true })).output).toBe('13');
    for (let i = 14; i <= 25; i++) expect((await call(id)).output).toBe(String(i));
    expect((await call(id, { loop: true })).error?.code).toBe('TIMEOUT');
    expect((await call(id)).output).toBe('26');
  });

  it('stops memory bombs at the memory limit (WebAssembly memory included)', async () => {
    const { id } = await load(
      `
def handler(input, context):
    if input.get('huge'):
        return len('x' * 10**10)
    if input.get('str'):
        return len('x' * 10**9)
    if input.get('list'):
        xs = []
        while True:
            xs.append('y' * 100000)
    return 'fine'
`,
      { memoryMb: 96, timeoutMs: 5000 },
    );
    // Past what a 32-bit interpreter can even address: a clean OverflowError.
    const huge = await call(id, { huge: true });
    expect(huge.error?.name).toBe('OverflowError');
    const s = await call(id, { str: true });
    expect(s.error?.code).toBe('MEMORY_LIMIT');
    const l = await call(id, { list: true });
    expect(l.error?.code).toBe('MEMORY_LIMIT');
    expect((await call(id)).output).toBe('"fine"');
  });

  it('checks env and output again on the host: patching the glue does not lift the caps', async () => {
    const { id } = await load(`
import _redlet
def handler(input, context):
    if input.get('big'):
        _redlet.MAX_ENV_BYTES = 10**9
        context.env['blob'] = 'x' * (2 * 1024 * 1024)
    context.env['n'] = context.env.get('n', 0) + 1
    return context.env['n']
`);
    expect((await call(id)).output).toBe('1');
    const big = await call(id, { big: true });
    expect(big.error?.code).toBe('ENV_TOO_LARGE');
    expect((await call(id)).output).toBe('2');
  });

  it('shows nothing of the host: no process/require through js, no host files, no processes', async () => {
    const { id } = await load(`
import os, subprocess
def handler(input, context):
    import js
    out = {'process': hasattr(js, 'process'), 'require': hasattr(js, 'require'), 'root': sorted(os.listdir('/'))}
    try:
        open('/etc/hostname').read()
        out['hostname'] = 'read'
    except OSError as e:
        out['hostname'] = type(e).__name__
    try:
        out['system'] = os.system('echo hi')
    except Exception as e:
        out['system'] = type(e).__name__
    try:
        subprocess.run(['ls'])
        out['subprocess'] = 'ran'
    except Exception as e:
        out['subprocess'] = type(e).__name__
    return out
`);
    const out = JSON.parse((await call(id)).output!);
    expect(out.process).toBe(false);
    expect(out.require).toBe(false);
    expect(out.root).toEqual(['dev', 'function', 'home', 'lib', 'proc', 'tmp']);
    expect(out.hostname).toBe('FileNotFoundError');
    // No shell to run: os.system reports failure the way a missing shell does.
    expect(out.system).toBe(-1);
    expect(out.subprocess).toBe('OSError');
  });
});
