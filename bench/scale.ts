/**
 * Item 9, scale: 10,000 functions in one redlet process (`--functions=N` for a smaller
 * run; quick: 1,000): poll functions at a 10 s period, `invokeOn: change`, on one
 * static 2 KB input. Measured: the time to register them all, until each ran once,
 * resident memory per function (the redlet process plus its sandbox workers, against
 * the same redlet with no functions), and over a window of two periods the timers'
 * lateness, missed ticks and the main process's CPU. In-process mode, and worker
 * processes in a full run.
 */
import type { RunningRedlet } from '../src/main.js';
import { RedletError } from '../src/errors.js';
import {
  MB,
  MODE_LABEL,
  clusterOf,
  echoFunction,
  input2k,
  processMemory,
  registerMany,
  startBenchRedlet,
  waitForKeys,
  type BenchContext,
  type ItemResult,
  type Row,
  type SandboxMode,
} from './harness.js';
import { fmt, sleep, summarize } from './stats.js';

const TARGET = { p99LagMs: 100, perFunctionMb: 1.2, registerAllS: 30 };
const PERIOD_S = 10;

/** RSS of the redlet process (this one) plus its sandbox workers. */
function redletRss(app: RunningRedlet): number {
  const pool = app.runtime.sandbox as { workerPids?: () => number[] };
  const workers = pool.workerPids?.() ?? [];
  return processMemory(process.pid).rss + workers.reduce((a, pid) => a + processMemory(pid).rss, 0);
}

export async function scale(ctx: BenchContext): Promise<ItemResult> {
  const n = ctx.functions ?? (ctx.quick ? 1000 : 10_000);
  const windowS = ctx.quick ? PERIOD_S : 2 * PERIOD_S;
  // Worker processes first: the in-process run leaves this process gigabytes larger
  // (freed isolates' memory is not all returned), which a later run's "before" would count.
  const modes: SandboxMode[] = ctx.quick ? ['inline'] : ['process', 'inline'];
  const rows: Row[] = [];
  const data: Record<string, unknown> = { functions: n, periodS: PERIOD_S, windowS, targets: TARGET };
  for (const mode of modes) {
    const prefix = `bench:scale:${mode}:`;
    const inputKey = `${prefix}input`;
    const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
    try {
      const rt = app.runtime;
      await ctx.redis.set(inputKey, input2k());
      await sleep(1000);
      const rss0 = redletRss(app);
      ctx.note(`${MODE_LABEL[mode]}: registering ${n} functions`);
      let names = Array.from({ length: n }, (_, i) => `n-${i}`);
      let outputs = names.map((_, i) => `${prefix}out:${i}`);
      const t0Register = performance.now();
      let full: string | null = null;
      try {
        await registerMany(rt, n, (i) =>
          echoFunction(names[i]!, { inputKey, outputKey: outputs[i]!, period: PERIOD_S, invokeOn: 'change' }),
        );
      } catch (err) {
        // One process holds only so many isolates (the kernel's vm.max_map_count): measure those.
        if (!(err instanceof RedletError && err.code === 'SANDBOX_FULL')) throw err;
        full = err.message;
        await sleep(500); // the lanes still registering finish
        const fitted = new Set(rt.names());
        ctx.note(`${MODE_LABEL[mode]}: the process was full at ${fitted.size} functions (SANDBOX_FULL)`);
        outputs = outputs.filter((_, i) => fitted.has(names[i]!));
        names = names.filter((x) => fitted.has(x));
      }
      const registerMs = performance.now() - t0Register;
      const allRanMs = registerMs + (await waitForKeys(ctx.redis, outputs, 'every function to run once', 600_000));
      await sleep(2000);
      const rss1 = redletRss(app);
      ctx.note(`${MODE_LABEL[mode]}: ${windowS} s window`);
      rt.drainLag();
      const missed0 = names.reduce((a, x) => a + (rt.runner(x)?.status.missedTicks ?? 0), 0);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const lag = summarize(rt.drainLag());
      const missed = names.reduce((a, x) => a + (rt.runner(x)?.status.missedTicks ?? 0), 0) - missed0;
      const perFunctionMb = (rss1 - rss0) / names.length / MB;
      const result = {
        cluster: clusterOf(app),
        registered: names.length,
        full,
        registerS: Math.round(registerMs) / 1000,
        allRanS: Math.round(allRanMs) / 1000,
        rssMb: { before: Math.round(rss0 / MB), after: Math.round(rss1 / MB) },
        perFunctionMb: Math.round(perFunctionMb * 1000) / 1000,
        lagMs: lag,
        missedTicks: missed,
        mainProcessCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 10,
      };
      data[mode] = result;
      rows.push({
        metric: `${MODE_LABEL[mode]}: ${n} functions, register all / all ran once`,
        value: full
          ? `only ${names.length} fit in one process (SANDBOX_FULL: vm.max_map_count); ${fmt(result.registerS, 's')} / ${fmt(result.allRanS, 's')}`
          : `${fmt(result.registerS, 's')} / ${fmt(result.allRanS, 's')}`,
        target: `${n} functions, register ≤ ${TARGET.registerAllS} s`,
        met: !full && result.registerS <= TARGET.registerAllS,
      });
      rows.push({
        metric: `${MODE_LABEL[mode]}: RSS per function (main + workers)`,
        value: fmt(perFunctionMb, 'MB'),
        target: `≤ ${TARGET.perFunctionMb} MB`,
        met: perFunctionMb <= TARGET.perFunctionMb,
      });
      rows.push({
        metric: `${MODE_LABEL[mode]}: lag p50 / p99 at ${PERIOD_S} s; missed; main CPU`,
        value: `${fmt(lag.median, 'ms')} / ${fmt(lag.p99, 'ms')}; ${missed} missed; ${fmt(result.mainProcessCpuPercent)} % of a core`,
        target: `p99 ≤ ${TARGET.p99LagMs} ms`,
        met: lag.p99 <= TARGET.p99LagMs && missed === 0,
      });
    } finally {
      await app.stop();
    }
  }
  return { rows, data };
}
