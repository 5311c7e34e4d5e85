/**
 * Item 8, Python functions (Pyodide in isolates, sandbox/python/): cold start from
 * registration to the first output written, and where that time goes; RSS per idle
 * Python function; per-invocation overhead with a 2 KB input; 50 Python functions at
 * a 1 s period (timer lag). Beside them, the course's model: a CPython process per
 * function running the course loop (python3 with python3-redis; the row is skipped,
 * saying why, when either is missing).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { DEFAULT_SANDBOX_LIMITS } from '../sandbox/limits.js';
import { createInterpreter, getSnapshot } from '../sandbox/python/pyodide-runtime.js';
import type { RegisterInput } from '../src/runtime/runtime.js';
import {
  MB,
  input2k,
  processMemory,
  registerMany,
  startBenchRedlet,
  waitForKeys,
  type BenchContext,
  type ItemResult,
  type Row,
} from './harness.js';
import { fmt, sleep, summarize } from './stats.js';

const PY_ECHO = 'def handler(input, context):\n    return input\n';
const PYTHON3 = '/usr/bin/python3';

function pyFunction(name: string, settings: RegisterInput['settings']): RegisterInput {
  return { name, origin: 'api', source: { kind: 'file', filename: `${name}.py`, code: PY_ECHO }, settings };
}

export async function python(ctx: BenchContext): Promise<ItemResult> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const data: Record<string, unknown> = {};
  const t0 = performance.now();
  await getSnapshot();
  data.snapshotReadyMs = Math.round(performance.now() - t0);

  // Where the time of one interpreter start goes.
  const phases = { isolateMs: [] as number[], modulesMs: [] as number[], restoreMs: [] as number[] };
  for (let i = 0; i < (ctx.quick ? 3 : 7); i++) {
    const { interp, timings } = await createInterpreter({
      memoryMb: 128,
      limits: DEFAULT_SANDBOX_LIMITS,
    });
    interp.isolate.dispose();
    phases.isolateMs.push(timings.isolateMs);
    phases.modulesMs.push(timings.modulesMs);
    phases.restoreMs.push(timings.restoreMs);
  }
  data.interpreterStart = { modulesMs: summarize(phases.modulesMs), restoreMs: summarize(phases.restoreMs) };

  // Cold start: register -> first output, through a whole redlet (in-process sandbox).
  const prefix = 'bench:py:';
  const app = await startBenchRedlet(ctx.redisUrl, 'inline', prefix, ctx.cluster);
  try {
    const rt = app.runtime;
    const inputKey = `${prefix}input`;
    await ctx.redis.set(inputKey, input2k());
    const cold: number[] = [];
    for (let i = 0; i < (ctx.quick ? 3 : 7); i++) {
      const out = `${prefix}cold:${i}`;
      const s = performance.now();
      await rt.register(pyFunction(`py-cold-${i}`, { inputKey, outputKey: out, period: 0.1, invokeOn: 'change' }));
      await waitForKeys(ctx.redis, [out], 'first output', 60_000);
      cold.push(performance.now() - s);
      await rt.remove(`py-cold-${i}`);
    }
    const coldStats = summarize(cold);
    data.coldStartMs = coldStats;
    const restore = summarize(phases.restoreMs);
    const modules = summarize(phases.modulesMs);
    rows.push({
      metric: 'cold start: register -> first output (median / max)',
      value: `${fmt(coldStats.median, 'ms')} / ${fmt(coldStats.max, 'ms')}`,
      target: 'median ≤ 300 ms',
      met: coldStats.median <= 300,
    });
    rows.push({
      metric: '  of which: compile Pyodide JS / restore snapshot (median)',
      value: `${fmt(modules.median, 'ms')} / ${fmt(restore.median, 'ms')}`,
    });

    // 50 functions at 1 s: timer lag, with all of them alive.
    const n = ctx.quick ? 20 : 50;
    const outputs = Array.from({ length: n }, (_, i) => `${prefix}out:${i}`);
    const rss0 = process.memoryUsage().rss;
    const loadMs = await registerMany(
      rt,
      n,
      (i) => pyFunction(`py-${i}`, { inputKey, outputKey: outputs[i]!, period: 1, invokeOn: 'always' }),
      2,
    );
    await waitForKeys(ctx.redis, outputs, 'every Python function to run once', 300_000);
    await sleep(1500);
    const rssPer = (process.memoryUsage().rss - rss0) / n;
    data.rssPerFunctionMb = Math.round((rssPer / MB) * 10) / 10;
    rows.push({
      metric: `RSS per idle Python function (${n} in one process)`,
      value: fmt(rssPer / MB, 'MB'),
      target: '≤ 40 MB',
      met: rssPer / MB <= 40,
    });
    rt.drainLag();
    await sleep((ctx.quick ? 3 : 10) * 1000);
    const lag = summarize(rt.drainLag());
    data.schedule = { functions: n, loadMs: Math.round(loadMs), lagMs: lag };
    rows.push({
      metric: `${n} Python functions at 1 s (invokeOn always): lag p50 / p99`,
      value: `${fmt(lag.median, 'ms')} / ${fmt(lag.p99, 'ms')}`,
      target: 'p99 ≤ 100 ms',
      met: lag.p99 <= 100,
    });
  } finally {
    await app.stop();
  }

  // Per-invocation overhead, 2 KB in and out, straight through the sandbox.
  const box = new InProcessSandbox();
  try {
    await box.load('echo', {
      source: { kind: 'file', filename: 'echo.py', code: PY_ECHO },
      handler: 'handler',
      memoryMb: 128,
      timeoutMs: 1000,
      env: '{}',
      name: 'echo',
    });
    const context = {
      host: 'localhost',
      port: 6379,
      input_key: 'in',
      output_key: 'out',
      function_getmtime: '2024-01-01 00:00:00',
      last_execution: null,
      function_name: 'echo',
    };
    const input = input2k();
    const times: number[] = [];
    for (let i = 0; i < (ctx.quick ? 500 : 3000); i++) {
      const s = performance.now();
      const r = await box.invoke('echo', { input, context, maxOutputBytes: 1 << 20 });
      times.push((performance.now() - s) * 1000);
      if (!r.ok) throw new Error(`echo failed: ${r.error?.message}`);
    }
    const o = summarize(times.slice(Math.floor(times.length / 10)));
    data.overheadUs = o;
    rows.push({
      metric: 'per-invocation overhead, 2 KB in/out (median / p99)',
      value: `${fmt(o.median, 'µs')} / ${fmt(o.p99, 'µs')}`,
      target: 'median ≤ 200 µs',
      met: o.median <= 200,
    });
  } finally {
    await box.close();
  }

  // The course's model: a CPython process per function.
  const why = cpythonMissing();
  if (why) {
    rows.push({ metric: 'CPython process per function (course model): RSS', value: `skipped: ${why}` });
    notes.push(`CPython row skipped: ${why}`);
  } else {
    const k = 5;
    const url = new URL(ctx.redisUrl);
    const script = fileURLToPath(new URL('./python-process-per-function.py', import.meta.url));
    await ctx.redis.set(`${prefix}cpy:in`, input2k());
    const children = Array.from({ length: k }, (_, i) =>
      spawn(PYTHON3, [script, url.hostname, url.port, `${prefix}cpy:in`, `${prefix}cpy:out:${i}`], { stdio: 'ignore' }),
    );
    try {
      const s = performance.now();
      await waitForKeys(
        ctx.redis,
        Array.from({ length: k }, (_, i) => `${prefix}cpy:out:${i}`),
        'CPython outputs',
        60_000,
      );
      const coldMs = performance.now() - s;
      await sleep(1500);
      const mem = children.map((c) => processMemory(c.pid!));
      const rss = mem.reduce((a, m) => a + m.rss, 0) / k;
      data.cpython = { processes: k, rssMb: Math.round((rss / MB) * 10) / 10, firstOutputMs: Math.round(coldMs) };
      rows.push({
        metric: `CPython process per function (course model, ${k} processes): RSS each; start -> first output`,
        value: `${fmt(rss / MB, 'MB')}; ${fmt(coldMs, 'ms')} (${k} at once)`,
      });
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  }
  notes.push(
    'Pyodide: each Python function holds its own interpreter (~31 MB of WebAssembly memory after restore, all committed) plus its isolate heap.',
  );
  return { rows, data, notes };
}

function cpythonMissing(): string | null {
  if (!existsSync(PYTHON3)) return `${PYTHON3} is not installed`;
  try {
    execFileSync(PYTHON3, ['-c', 'import redis'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON3} has no redis module (Debian: apt-get install python3-redis)`;
  }
}
