/**
 * Item 8, peers: redlet beside what a user would pick instead, run on this machine in
 * the same bench run, all doing the same 2 KB JSON echo transformation:
 * - workerd (Cloudflare's isolate runtime): N workers in one workerd process, each on
 *   its own loopback HTTP socket;
 * - QuickJS in WebAssembly (quickjs-emscripten): one runtime + context per function.
 * Measured: memory per function inside one host process (N against 1, the difference
 * divided), per-call latency over HTTP (workerd's socket against redlet's
 * `POST /api/functions/:name/invoke`, interleaved rounds), and the cold start of a new
 * function inside a running host (code in -> first answer). Direct per-call overhead of
 * QuickJS stands beside redlet's in item 1.
 */
import { InProcessSandbox } from '../sandbox/in-process.js';
import type { ContextFields, LoadRequest, Sandbox } from '../sandbox/types.js';
import { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import type { RunningRedlet } from '../src/main.js';
import {
  ECHO_CODE,
  MB,
  echoFunction,
  input2k,
  processMemory,
  startBenchRedlet,
  type BenchContext,
  type ItemResult,
  type Row,
} from './harness.js';
import { QUICKJS_ECHO, QuickJsPeer } from './peers/quickjs.js';
import { WorkerdPeer } from './peers/workerd.js';
import { fmt, summarize, type Summary } from './stats.js';

const CONTEXT: ContextFields = {
  host: '127.0.0.1',
  port: 6379,
  input_key: 'in',
  output_key: 'out',
  function_getmtime: '2024-01-01 00:00:00',
  last_execution: null,
  function_name: 'echo',
};
const loadReq = (name: string): LoadRequest => ({
  source: { kind: 'file', filename: `${name}.js`, code: ECHO_CODE },
  handler: 'handler',
  memoryMb: 64,
  timeoutMs: 5000,
  env: '{}',
  name,
});

/** Memory of one host process with 1 function, then with n: the difference per added function. */
interface Density {
  n: number;
  oneMb: { rss: number; pss: number };
  allMb: { rss: number; pss: number };
  perFunctionMb: { rss: number; pss: number };
}

function density(n: number, one: { rss: number; pss: number }, all: { rss: number; pss: number }): Density {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n,
    oneMb: { rss: r(one.rss / MB), pss: r(one.pss / MB) },
    allMb: { rss: r(all.rss / MB), pss: r(all.pss / MB) },
    perFunctionMb: { rss: r((all.rss - one.rss) / (n - 1) / MB), pss: r((all.pss - one.pss) / (n - 1) / MB) },
  };
}

async function workerdDensity(n: number): Promise<{ d: Density; startOneMs: number; startAllMs: number }> {
  // Each worker answers once before the reading, as redlet's functions do: workerd may
  // set a worker up only when its first request comes.
  const input = input2k();
  const settled = async (peer: WorkerdPeer, count: number) => {
    for (let i = 0; i < count; i++) await peer.call(i, input);
    await new Promise((r) => setTimeout(r, 300));
    return processMemory(peer.pid);
  };
  const one = await WorkerdPeer.start(1);
  const m1 = await settled(one, 1);
  await one.stop();
  const all = await WorkerdPeer.start(n);
  const mN = await settled(all, n);
  await all.stop();
  return { d: density(n, m1, mN), startOneMs: one.startMs, startAllMs: all.startMs };
}

/** One sandbox worker process (the default mode, with one worker) hosting 1, then n functions. */
async function redletWorkerDensity(n: number): Promise<Density> {
  const input = input2k();
  const pool = new WorkerPoolSandbox({ workers: 1 });
  try {
    const call = async (name: string) => {
      const r = await pool.invoke(name, { input, context: CONTEXT, maxOutputBytes: 1 << 20 });
      if (!r.ok) throw new Error(`redlet echo failed: ${r.error?.message}`);
    };
    await pool.load('f0', loadReq('f0'));
    await call('f0');
    await new Promise((r) => setTimeout(r, 300));
    const pid = pool.workerPids()[0]!;
    const m1 = processMemory(pid);
    for (let i = 1; i < n; i++) {
      await pool.load(`f${i}`, loadReq(`f${i}`));
      await call(`f${i}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    return density(n, m1, processMemory(pid));
  } finally {
    await pool.close();
  }
}

/**
 * QuickJS runtimes+contexts (one each per function) in a WebAssembly instance of their
 * own: what QuickJS reports allocated per runtime (`memory_used_size`), and the growth of
 * the instance's linear memory from 1 to n of them (it starts with spare pages).
 */
async function quickjsDensity(n: number): Promise<Density & { mallocMb: number }> {
  const qjs = await QuickJsPeer.create(true);
  const input = input2k();
  const fns = [];
  let m1 = 0;
  for (let i = 0; i < n; i++) {
    const f = qjs.load(QUICKJS_ECHO, 64);
    f.call(input);
    fns.push(f);
    if (i === 0) m1 = qjs.wasmBytes();
  }
  const mN = qjs.wasmBytes();
  const malloc = fns.reduce((a, f) => a + f.memoryBytes(), 0) / n;
  for (const f of fns) f.dispose();
  return { ...density(n, { rss: m1, pss: m1 }, { rss: mN, pss: mN }), mallocMb: Math.round((malloc / MB) * 1000) / 1000 };
}

/** Code in -> first answer, for a function the host has never seen. */
async function coldStarts(ctx: BenchContext, qjs: QuickJsPeer, wd: WorkerdPeer, count: number) {
  const input = input2k();
  const inline = new InProcessSandbox();
  const pool = new WorkerPoolSandbox({ workers: 1 });
  const samples = {
    workerd: [] as number[],
    quickjs: [] as number[],
    redletInProcess: [] as number[],
    redletWorkerProcess: [] as number[],
  };
  const redlet = async (box: Sandbox, name: string) => {
    await box.load(name, loadReq(name));
    const r = await box.invoke(name, { input, context: CONTEXT, maxOutputBytes: 1 << 20 });
    if (!r.ok) throw new Error(`redlet echo failed: ${r.error?.message}`);
  };
  try {
    await pool.load('warm', loadReq('warm'));
    for (let i = -3; i < count; i++) {
      const time = async (key: keyof typeof samples, fn: () => unknown) => {
        const t0 = performance.now();
        await fn();
        if (i >= 0) samples[key].push(performance.now() - t0);
      };
      await time('workerd', () => wd.coldCall(`cold-${i}`, input));
      await time('quickjs', () => {
        const f = qjs.load(QUICKJS_ECHO, 64);
        f.call(input);
        f.dispose();
      });
      await time('redletInProcess', () => redlet(inline, `cold-${i}`));
      await time('redletWorkerProcess', () => redlet(pool, `cold-${i}`));
    }
  } finally {
    await inline.close();
    await pool.close();
  }
  ctx.note(`cold starts: ${count} of each`);
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)])) as Record<keyof typeof samples, Summary>;
}

/** Per-call latency over loopback HTTP, interleaved rounds: workerd against redlet's invoke endpoint. */
async function httpCalls(ctx: BenchContext, wd: WorkerdPeer, iterations: number) {
  const input = input2k();
  const apps: Array<{ key: string; app: RunningRedlet }> = [];
  try {
    for (const mode of ['inline', 'process'] as const) {
      const app = await startBenchRedlet(ctx.redisUrl, mode, `bench:peers:${mode}:`, ctx.cluster);
      apps.push({ key: mode === 'inline' ? 'redletInProcess' : 'redletWorkerProcess', app });
      await app.runtime.register(echoFunction('echo', { inputKey: `bench:peers:${mode}:in`, trigger: 'poll', period: 3600 }));
    }
    const variants: Array<{ key: string; call: () => Promise<unknown> }> = [
      { key: 'workerd', call: () => wd.call(0, input) },
      ...apps.map(({ key, app }) => ({
        key,
        call: async () => {
          const res = await fetch(`http://127.0.0.1:${app.port}/api/functions/echo/invoke`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: input,
          });
          const body = (await res.json()) as { ok: boolean };
          if (!body.ok) throw new Error('redlet invoke failed');
        },
      })),
    ];
    const samples = new Map<string, number[]>(variants.map((v) => [v.key, []]));
    for (const v of variants) for (let i = 0; i < 100; i++) await v.call();
    const rounds = 5;
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        for (let i = 0; i < Math.ceil(iterations / rounds); i++) {
          const t0 = performance.now();
          await v.call();
          samples.get(v.key)!.push((performance.now() - t0) * 1000);
        }
      }
    }
    return Object.fromEntries([...samples].map(([k, v]) => [k, summarize(v)])) as Record<string, Summary>;
  } finally {
    for (const { app } of apps) await app.stop();
  }
}

export async function peers(ctx: BenchContext): Promise<ItemResult> {
  const n = ctx.quick ? 20 : 100;
  const coldCount = ctx.quick ? 10 : 30;
  const iterations = ctx.quick ? 500 : 2000;
  const qjs = await QuickJsPeer.create();

  ctx.note(`memory: 1 and ${n} functions in one host process (workerd, redlet worker process, QuickJS)`);
  const wdMem = await workerdDensity(n);
  const rlMem = await redletWorkerDensity(n);
  const qjMem = await quickjsDensity(n);

  ctx.note(`per-call over HTTP, ${iterations} calls each, interleaved`);
  const wd = await WorkerdPeer.start(1);
  let http: Record<string, Summary>;
  let cold: Awaited<ReturnType<typeof coldStarts>>;
  try {
    http = await httpCalls(ctx, wd, iterations);
    cold = await coldStarts(ctx, qjs, wd, coldCount);
  } finally {
    await wd.stop();
  }

  const mem = (d: Density) => `${fmt(d.perFunctionMb.rss, 'MB')} RSS / ${fmt(d.perFunctionMb.pss, 'MB')} PSS`;
  const wasm = (d: Density & { mallocMb: number }) =>
    `${fmt(d.mallocMb, 'MB')} allocated by QuickJS (wasm memory grew ${fmt(d.perFunctionMb.rss, 'MB')} each)`;
  const rows: Row[] = [
    { metric: `memory per function, ${n} in one process: workerd`, value: mem(wdMem.d) },
    { metric: `memory per function, ${n} in one process: redlet worker process`, value: mem(rlMem) },
    { metric: `memory per function, ${n} in one process: QuickJS (wasm)`, value: wasm(qjMem) },
    {
      metric: 'per call over loopback HTTP, median / p99: workerd',
      value: `${fmt(http.workerd!.median, 'µs')} / ${fmt(http.workerd!.p99, 'µs')}`,
    },
    {
      metric: 'per call over loopback HTTP, median / p99: redlet in-process',
      value: `${fmt(http.redletInProcess!.median, 'µs')} / ${fmt(http.redletInProcess!.p99, 'µs')}`,
    },
    {
      metric: 'per call over loopback HTTP, median / p99: redlet worker processes',
      value: `${fmt(http.redletWorkerProcess!.median, 'µs')} / ${fmt(http.redletWorkerProcess!.p99, 'µs')}`,
    },
    { metric: 'new function, code -> first answer, median: workerd (Worker Loader, over HTTP)', value: fmt(cold.workerd.median, 'ms') },
    { metric: 'new function, code -> first answer, median: QuickJS', value: fmt(cold.quickjs.median, 'ms') },
    {
      metric: 'new function, code -> first answer, median: redlet in-process / worker process (direct)',
      value: `${fmt(cold.redletInProcess.median, 'ms')} / ${fmt(cold.redletWorkerProcess.median, 'ms')}`,
    },
    {
      metric: `workerd process start -> answering, 1 / ${n} workers`,
      value: `${fmt(wdMem.startOneMs, 'ms')} / ${fmt(wdMem.startAllMs, 'ms')}`,
    },
  ];
  return {
    rows,
    data: {
      functions: n,
      memory: { workerd: wdMem.d, redletWorkerProcess: rlMem, quickjs: qjMem, unit: 'MB' },
      workerdStartMs: { one: wdMem.startOneMs, all: wdMem.startAllMs },
      httpCallUs: http,
      coldStartMs: cold,
    },
    notes: [
      "redlet's HTTP invoke is a dry run through its API (auth check, JSON check of the body, result wrapped in a JSON envelope); workerd's answer is the output itself.",
      "workerd's cold start goes through a loader worker (one extra in-process hop); redlet's is measured without HTTP (sandbox load + first invoke).",
      'QuickJS memory is what QuickJS reports in use per runtime+context (memory_used_size), beside the growth of its WebAssembly memory (a fresh instance, which starts with spare pages); redlet and workerd are measured as whole processes (RSS/PSS of one process hosting 1, then N functions, difference divided).',
    ],
  };
}
