/**
 * Item 6, throughput: keyspace-triggered invocations per second sustained with 1, 10
 * and 100 functions, each on its own input key (`invokeOn: change`). A writer process
 * (bench/throughput-driver.mjs) drives the keys for a fixed window, two ways:
 * "absorbed" (a key is rewritten as soon as its output appears: nothing coalesced,
 * the rate redlet sustains) and "flood" (as fast as Redis takes SETs, 64 in flight:
 * writes that land during a run are coalesced into one look at the latest value).
 * Completed invocations are counted in the redlet process with `runtime.onInvocation`,
 * over the writer's window.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InvocationEvent } from '../src/function-runner.js';
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
import { fmt, sleep } from './stats.js';

/** The targets (absorbed): 100 functions in worker processes, and one function in either mode. */
const TARGET_PER_S = { hundredWorkers: 10_000, one: 5000 };
type Drive = 'absorbed' | 'flood';

function once<T>(child: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      const v = pick(m);
      if (v !== undefined) {
        child.off('message', onMessage);
        resolve(v);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`throughput driver exited with ${code}`)));
  });
}

export async function throughput(ctx: BenchContext): Promise<ItemResult> {
  const sizes = [1, 10, 100];
  const windowMs = ctx.quick ? 1000 : 4000;
  const modes: SandboxMode[] = ctx.quick ? ['inline'] : ['inline', 'process'];
  const drives: Drive[] = ctx.quick ? ['absorbed'] : ['absorbed', 'flood'];
  const driver = fileURLToPath(new URL('./throughput-driver.mjs', import.meta.url));
  const rows: Row[] = [];
  const data: Record<string, unknown> = { windowMs, unit: 'per second', sizes };
  for (const mode of modes) {
    const results: Record<string, unknown>[] = [];
    for (const n of sizes) {
      const prefix = `bench:tp:${mode}:${n}:`;
      const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
      try {
        const outs = Array.from({ length: n }, (_, i) => `${prefix}out:${i}`);
        for (let i = 0; i < n; i++) await ctx.redis.set(`${prefix}in:${i}`, input2k(0));
        await registerMany(app.runtime, n, (i) =>
          echoFunction(`tp-${i}`, {
            inputKey: `${prefix}in:${i}`,
            outputKey: outs[i]!,
            trigger: 'keyspace',
            invokeOn: 'change',
            period: 5,
          }),
        );
        await waitForKeys(ctx.redis, outs, 'the first outputs');
        await sleep(300);
        for (const drive of drives) {
          ctx.note(`${MODE_LABEL[mode]}: ${n} function(s), ${drive}`);
          let ok = 0;
          let failed = 0;
          let counting = false;
          const stop = app.runtime.onInvocation((e: InvocationEvent) => {
            if (!counting) return;
            if (e.ok) ok++;
            else failed++;
          });
          const child = fork(driver, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          try {
            child.send({ url: ctx.redisUrl, prefix, n, mode: drive, durationMs: windowMs, outstanding: 64 });
            await once(child, (m) => (m.ready ? true : undefined));
            const cpu0 = process.cpuUsage();
            counting = true;
            const t0 = performance.now();
            child.send({ go: true });
            const done = await once(child, (m) =>
              typeof m.writes === 'number' ? (m as { writes: number; elapsedMs: number }) : undefined,
            );
            counting = false;
            const seconds = (performance.now() - t0) / 1000;
            const cpu = process.cpuUsage(cpu0);
            const r = {
              mode,
              functions: n,
              drive,
              writesPerS: Math.round(done.writes / (done.elapsedMs / 1000)),
              invocationsPerS: Math.round(ok / seconds),
              failed,
              coalescedPercent: done.writes > 0 ? Math.max(0, Math.round((1 - ok / done.writes) * 1000) / 10) : 0,
              mainProcessCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 10,
              cluster: clusterOf(app),
            };
            results.push(r);
          } finally {
            stop();
            if (child.exitCode === null) child.kill('SIGKILL');
          }
          await sleep(300);
        }
      } finally {
        await app.stop();
      }
    }
    data[mode] = results;
    for (const drive of drives) {
      const rs = results.filter((r) => r.drive === drive) as Array<{
        functions: number;
        invocationsPerS: number;
        writesPerS: number;
        coalescedPercent: number;
      }>;
      const is100 = rs.find((r) => r.functions === 100);
      const is1 = rs.find((r) => r.functions === 1);
      // Absorbed: one function at 5,000/s in both modes; 100 at 10,000/s in worker processes.
      const target =
        drive !== 'absorbed' || !is1
          ? {}
          : mode === 'process' && is100
            ? {
                target: `≥ ${fmt(TARGET_PER_S.one)}/s with 1, ≥ ${fmt(TARGET_PER_S.hundredWorkers)}/s with 100`,
                met: is1.invocationsPerS >= TARGET_PER_S.one && is100.invocationsPerS >= TARGET_PER_S.hundredWorkers,
              }
            : { target: `≥ ${fmt(TARGET_PER_S.one)}/s with 1`, met: is1.invocationsPerS >= TARGET_PER_S.one };
      rows.push({
        metric: `${MODE_LABEL[mode]}, ${drive}: invocations/s with ${sizes.join(' / ')} functions`,
        value:
          rs.map((r) => fmt(r.invocationsPerS)).join(' / ') +
          (drive === 'flood' ? ` (writes/s ${rs.map((r) => fmt(r.writesPerS)).join(' / ')})` : ''),
        ...target,
      });
    }
  }
  const absorbed = (functions: number) =>
    Object.fromEntries(
      modes.map((m) => [
        m,
        ((data[m] as Array<{ functions: number; drive: string; invocationsPerS: number }>) ?? []).find(
          (r) => r.functions === functions && r.drive === 'absorbed',
        )?.invocationsPerS ?? 0,
      ]),
    );
  const one = absorbed(1);
  const hundredWorkers = absorbed(100).process;
  data.target = {
    one: {
      metric: 'invocations/s, one function (absorbed), each mode',
      min: TARGET_PER_S.one,
      value: one,
      met: Object.fromEntries(Object.entries(one).map(([m, v]) => [m, v >= TARGET_PER_S.one])),
    },
    ...(hundredWorkers === undefined
      ? {}
      : {
          hundredWorkers: {
            metric: 'invocations/s, 100 functions (absorbed), worker processes',
            min: TARGET_PER_S.hundredWorkers,
            value: hundredWorkers,
            met: hundredWorkers >= TARGET_PER_S.hundredWorkers,
          },
        }),
  };
  return { rows, data };
}
