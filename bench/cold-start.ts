/**
 * Item 2, cold start, through the real HTTP API of a whole redlet:
 * - registration to first output: the input key is written first, then
 *   `POST /api/functions` registers a keyspace function on it; the start tick handles
 *   the waiting input, and the clock stops at the keyspace notification of the OUTPUT
 *   key (no poll wait is involved);
 * - redlet start to N functions ready: N stored functions, a fresh `startRedlet`,
 *   until every one is loaded and `/readyz` answers 200.
 * Both sandbox modes. The sandbox's own load timings (bundle, isolate, evaluate) are
 * recorded by wrapping `sandbox.load`, to show where the time goes.
 */
import { Redis } from 'ioredis';
import type { LoadInfo } from '../sandbox/types.js';
import type { RunningRedlet } from '../src/main.js';
import {
  ECHO_CODE,
  MODES,
  MODE_LABEL,
  clusterOf,
  echoFunction,
  input2k,
  registerMany,
  startBenchRedlet,
  type BenchContext,
  type ItemResult,
  type Row,
  type SandboxMode,
} from './harness.js';
import { fmt, summarize, waitFor } from './stats.js';

/** Issue #18: registration to first output, median, in both sandbox modes. */
const TARGET_MS = 5;

/** Keeps the sandbox's load timings of a running redlet. */
function recordLoads(app: RunningRedlet): { timings: LoadInfo['timings'][]; wallMs: number[] } {
  const rec = { timings: [] as LoadInfo['timings'][], wallMs: [] as number[] };
  const sandbox = app.runtime.sandbox;
  const load = sandbox.load.bind(sandbox);
  sandbox.load = async (id, req) => {
    const t0 = performance.now();
    const info = await load(id, req);
    rec.wallMs.push(performance.now() - t0);
    rec.timings.push(info.timings);
    return info;
  };
  return rec;
}

/** Resolves with the time of the next keyspace notification of `key`. */
class OutputWatcher {
  private readonly waiting = new Map<string, (t: number) => void>();
  constructor(private readonly sub: Redis) {
    sub.on('message', (channel: string) => {
      const t = performance.now();
      const resolve = this.waiting.get(channel);
      if (resolve) {
        this.waiting.delete(channel);
        resolve(t);
      }
    });
  }

  async arm(key: string): Promise<{ written: Promise<number> }> {
    const channel = `__keyspace@0__:${key}`;
    await this.sub.subscribe(channel);
    // Wrapped: an async function returning a bare promise would wait for it.
    const written = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no output on ${key} within 10 s`)), 10_000);
      this.waiting.set(channel, (t) => {
        clearTimeout(timer);
        void this.sub.unsubscribe(channel);
        resolve(t);
      });
    });
    // Awaited later; a registration that failed first must not leave it unhandled (that ends the whole run).
    written.catch(() => {});
    return { written };
  }
}

async function post(base: string, body: unknown): Promise<Response> {
  return fetch(`${base}/api/functions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function registrationToOutput(ctx: BenchContext, mode: SandboxMode, app: RunningRedlet, count: number) {
  const base = `http://127.0.0.1:${app.port}`;
  const sub = new Redis(ctx.redisUrl);
  const watcher = new OutputWatcher(sub);
  const rec = recordLoads(app);
  const toOutput: number[] = [];
  const postMs: number[] = [];
  try {
    for (let i = -3; i < count; i++) {
      // Three warm-up registrations: the first esbuild call and the first fetch are not cold starts of a function.
      const name = `cold-${i < 0 ? `warm${-i}` : i}`;
      const inputKey = `bench:cold:${mode}:in:${name}`;
      const outputKey = `bench:cold:${mode}:out:${name}`;
      const value = input2k(i);
      await ctx.redis.set(inputKey, value);
      const { written } = await watcher.arm(outputKey);
      const t0 = performance.now();
      const res = await post(base, { name, source: ECHO_CODE, filename: `${name}.js`, inputKey, outputKey, trigger: 'keyspace' });
      const t1 = performance.now();
      if (res.status !== 201) throw new Error(`POST /api/functions answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
      const t2 = await written;
      if ((await ctx.redis.get(outputKey)) !== value) throw new Error(`unexpected output on ${outputKey}`);
      if (i >= 0) {
        postMs.push(t1 - t0);
        toOutput.push(t2 - t0);
      }
    }
  } finally {
    sub.disconnect();
  }
  const t = rec.timings.slice(3);
  return {
    toFirstOutputMs: summarize(toOutput),
    postResponseMs: summarize(postMs),
    sandboxLoadMs: summarize(rec.wallMs.slice(3)),
    bundleMs: summarize(t.map((x) => x.bundleMs)),
    isolateMs: summarize(t.map((x) => x.isolateMs)),
    evaluateMs: summarize(t.map((x) => x.evaluateMs)),
  };
}

async function startToReady(ctx: BenchContext, mode: SandboxMode, prefix: string, n: number) {
  const t0 = performance.now();
  const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
  const tStarted = performance.now();
  try {
    await waitFor(() => app.runtime.names().length === n, `${n} functions known`, 60_000, 1);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${app.port}/readyz`)).status === 200, '/readyz 200', 10_000, 1);
    const tReady = performance.now();
    // With replica leases a function is loaded and ticking only once this replica took it over.
    const rt = app.runtime as typeof app.runtime & { runsHere?: (name: string) => boolean };
    await waitFor(() => rt.names().every((x) => rt.runsHere?.(x) ?? true), `${n} functions running`, 120_000, 1);
    const tRunning = performance.now();
    const r1 = (v: number) => Math.round(v * 10) / 10;
    return {
      functions: n,
      startRedletMs: r1(tStarted - t0),
      readyzMs: r1(tReady - t0),
      allRunningMs: r1(tRunning - t0),
      perFunctionMs: Math.round(((tRunning - t0) / n) * 100) / 100,
    };
  } finally {
    await app.stop();
  }
}

export async function coldStart(ctx: BenchContext): Promise<ItemResult> {
  const count = ctx.quick ? 10 : 40;
  const n = ctx.quick ? 50 : 200;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { registrations: count, functionsAtStart: n, unit: 'ms' };
  for (const mode of MODES) {
    const prefix = `bench:cold:${mode}:`;
    ctx.note(`${MODE_LABEL[mode]}: ${count} registrations through the API`);
    const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
    let reg;
    const clusterOnRun = clusterOf(app);
    try {
      reg = await registrationToOutput(ctx, mode, app, count);
      const have = app.runtime.names().length;
      await registerMany(app.runtime, n - have, (i) =>
        echoFunction(`idle-${i}`, { inputKey: `bench:cold:${mode}:idle:${i}`, trigger: 'poll', period: 5 }),
      );
    } finally {
      await app.stop();
    }
    ctx.note(`${MODE_LABEL[mode]}: start with ${n} stored functions`);
    const ready = await startToReady(ctx, mode, prefix, n);
    data[mode] = { ...reg, startToReady: ready, cluster: clusterOnRun };
    const m = reg.toFirstOutputMs.median;
    rows.push({
      metric: `${MODE_LABEL[mode]}: POST -> first output, median / p99`,
      value: `${fmt(m, 'ms')} / ${fmt(reg.toFirstOutputMs.p99, 'ms')}`,
      target: `median ≤ ${TARGET_MS} ms`,
      met: m <= TARGET_MS,
    });
    rows.push({
      metric: `${MODE_LABEL[mode]}: of which sandbox load (bundle + isolate + evaluate)`,
      value: `${fmt(reg.sandboxLoadMs.median, 'ms')} (${fmt(reg.bundleMs.median)} + ${fmt(reg.isolateMs.median)} + ${fmt(reg.evaluateMs.median)})`,
    });
    rows.push({
      metric: `${MODE_LABEL[mode]}: redlet start -> /readyz 200 / all ${n} functions running`,
      value: `${fmt(ready.readyzMs, 'ms')} / ${fmt(ready.allRunningMs, 'ms')} (${fmt(ready.perFunctionMs, 'ms')}/function)`,
    });
  }
  const inlineMedian = (data.inline as { toFirstOutputMs: { median: number } }).toFirstOutputMs.median;
  const processMedian = (data.process as { toFirstOutputMs: { median: number } }).toFirstOutputMs.median;
  data.target = {
    metric: 'median registration -> first output',
    max: TARGET_MS,
    unit: 'ms',
    inline: inlineMedian,
    process: processMedian,
    met: { inline: inlineMedian <= TARGET_MS, process: processMedian <= TARGET_MS },
  };
  return { rows, data };
}
