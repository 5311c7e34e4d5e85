/**
 * Item 4, schedule: 1,000 poll functions at a 1 s period, `invokeOn: change`, all on
 * one static input, so after their first run every tick reads the input, sees it
 * unchanged and skips the call. Over a fixed window: the timers' lateness
 * (`runtime.drainLag()`, ms), ticks missed (a whole period late) and skipped (the
 * previous tick still going), timer fires against the ticks expected, the event
 * loop's delay and the main process's CPU. In-process mode, and worker-process mode
 * in a full run (1,000 isolates in 2 workers). Counters are read from the runners
 * that existed when the window opened; a runner replaced during the window (a
 * cluster lease changing hands) is counted and reported. Then one function on a
 * large input (10 MB; full run also 50 MB) that never changes: what Redis still sends
 * (all its clients, INFO total_net_output_bytes) and the CPU it costs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FunctionRunner } from '../src/function-runner.js';
import {
  MODE_LABEL,
  clusterOf,
  echoFunction,
  input2k,
  registerMany,
  startBenchRedlet,
  waitForKeys,
  type BenchContext,
  type ItemResult,
  type Row,
  type SandboxMode,
} from './harness.js';
import { fmt, sleep, summarize } from './stats.js';

const TARGET_P99_MS = 100;
const TARGET_CPU_PERCENT = 5;

/**
 * Bytes the server has sent to all its clients so far (INFO stats). GET calls would
 * also count the GETs inside lease scripts; the bytes say whether the input moved.
 */
async function bytesSent(ctx: BenchContext): Promise<number> {
  const info = await ctx.redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * One poll function at 1 s on a large input that never changes: the main process's
 * CPU and the GETs of the input over a window, once the function has run.
 */
async function largeInput(ctx: BenchContext, mb: number, windowS: number) {
  const prefix = `bench:sched:large${mb}:`;
  const inputKey = `${prefix}input`;
  const value = JSON.stringify({ data: 'x'.repeat(mb * 1024 * 1024 - 12) });
  await ctx.redis.set(inputKey, value);
  const app = await startBenchRedlet(ctx.redisUrl, 'inline', prefix, ctx.cluster);
  try {
    await registerMany(app.runtime, 1, () => echoFunction('large', { inputKey, outputKey: null, period: 1, invokeOn: 'change' }));
    await sleep(3500);
    const sent0 = await bytesSent(ctx);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const sent = (await bytesSent(ctx)) - sent0;
    return {
      mb,
      windowS: Math.round(elapsed * 10) / 10,
      redisSentMb: Math.round((sent / 2 ** 20) * 1000) / 1000,
      mainProcessCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 10,
    };
  } finally {
    await app.stop();
    await ctx.redis.unlink(inputKey);
  }
}

export async function schedule(ctx: BenchContext): Promise<ItemResult> {
  const n = ctx.quick ? 300 : 1000;
  const windowS = ctx.quick ? 3 : 10;
  const modes: SandboxMode[] = ctx.quick ? ['inline'] : ['inline', 'process'];
  const rows: Row[] = [];
  const notes: string[] = [];
  const data: Record<string, unknown> = { functions: n, periodS: 1, windowS, unit: 'ms' };
  const metBy: Record<string, boolean> = {};
  for (const mode of modes) {
    const prefix = `bench:sched:${mode}:`;
    const inputKey = `${prefix}input`;
    const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
    try {
      const rt = app.runtime;
      await ctx.redis.set(inputKey, input2k());
      ctx.note(`${MODE_LABEL[mode]}: registering ${n} functions`);
      const names = Array.from({ length: n }, (_, i) => `s-${i}`);
      const outputs = names.map((_, i) => `${prefix}out:${i}`);
      const loadMs = await registerMany(rt, n, (i) =>
        echoFunction(names[i]!, { inputKey, outputKey: outputs[i]!, period: 1, invokeOn: 'change' }),
      );
      const allRanMs = loadMs + (await waitForKeys(ctx.redis, outputs, 'every function to run once'));
      await sleep(1500);

      const runners = new Map<string, FunctionRunner>(names.map((x) => [x, rt.runner(x)!]));
      const counters = () => {
        let missed = 0;
        let skipped = 0;
        let unchanged = 0;
        let invocations = 0;
        for (const r of runners.values()) {
          missed += r.status.missedTicks;
          skipped += r.status.skippedTicks;
          unchanged += r.status.unchangedTicks;
          invocations += r.status.invocations;
        }
        return { missed, skipped, unchanged, invocations };
      };
      ctx.note(`${MODE_LABEL[mode]}: ${windowS} s window`);
      rt.drainLag();
      const c0 = counters();
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      loop.disable();
      const lag = rt.drainLag();
      const c1 = counters();
      const replaced = names.filter((x) => rt.runner(x) !== runners.get(x)).length;
      const lagStats = summarize(lag);
      const result = {
        cluster: clusterOf(app),
        loadMs: Math.round(loadMs),
        allRanMs: Math.round(allRanMs),
        lagMs: lagStats,
        timerFires: lag.length,
        expectedTicks: Math.round(n * elapsed),
        missedTicks: c1.missed - c0.missed,
        skippedTicks: c1.skipped - c0.skipped,
        unchangedTicks: c1.unchanged - c0.unchanged,
        invocations: c1.invocations - c0.invocations,
        runnersReplaced: replaced,
        eventLoopDelayMs: { p50: round(loop.percentile(50) / 1e6), p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) },
        mainProcessCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 10,
      };
      data[mode] = result;
      const met = lagStats.p99 <= TARGET_P99_MS && result.missedTicks === 0;
      metBy[mode] = met;
      rows.push({
        metric: `${MODE_LABEL[mode]}: lag p50 / p99 / max; missed ticks`,
        value: `${fmt(lagStats.median, 'ms')} / ${fmt(lagStats.p99, 'ms')} / ${fmt(lagStats.max, 'ms')}; ${result.missedTicks} missed`,
        target: `p99 ≤ ${TARGET_P99_MS} ms, 0 missed`,
        met,
      });
      rows.push({
        metric: `${MODE_LABEL[mode]}: timer fires / ticks expected; skipped`,
        value: `${result.timerFires} / ${result.expectedTicks}; ${result.skippedTicks} skipped${replaced ? `; ${replaced} runners replaced` : ''}`,
      });
      rows.push({
        metric: `${MODE_LABEL[mode]}: register ${n} / all ran once; main CPU when idle`,
        value: `${fmt(loadMs / 1000, 's')} / ${fmt(allRanMs / 1000, 's')}; ${fmt(result.mainProcessCpuPercent)} % of a core`,
        target: `CPU ≤ ${TARGET_CPU_PERCENT} %`,
        met: result.mainProcessCpuPercent <= TARGET_CPU_PERCENT,
      });
      if (result.timerFires > result.expectedTicks * 1.1) {
        notes.push(
          `${MODE_LABEL[mode]}: ${result.timerFires} timer fires for ${result.expectedTicks} expected ticks: PollTrigger fires a tick twice when Node runs its timer up to 1 ms before performance.now() reaches the due time (late < 0 gives missed = -1).`,
        );
      }
    } finally {
      await app.stop();
    }
  }
  const large = [];
  for (const mb of ctx.quick ? [10] : [10, 50]) {
    ctx.note(`one function on an unchanged ${mb} MB input`);
    const r = await largeInput(ctx, mb, windowS);
    large.push(r);
    rows.push({
      metric: `unchanged ${mb} MB input, poll at 1 s: bytes Redis sent in ${r.windowS} s; main CPU`,
      value: `${fmt(r.redisSentMb, 'MB')}; ${fmt(r.mainProcessCpuPercent)} % of a core`,
      target: 'no transfer, no re-hash while unchanged',
      // One full verification read per minute at most.
      met: r.redisSentMb < mb * (Math.floor(r.windowS / 60) + 0.5),
    });
  }
  data.largeInput = large;
  data.target = { metric: 'lag p99 and missed ticks', maxP99: TARGET_P99_MS, maxMissed: 0, met: metBy };
  return { rows, data, notes };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
