/**
 * Item 3, memory (density): RSS per idle registered function at N = 100, 500, 1000,
 * each N in a fresh child process (bench/memory-child.ts) so the numbers are clean,
 * in both sandbox modes (worker mode: the redlet process plus its sandbox workers).
 * Against that, the one-process-per-function model: K small Node processes, each
 * polling its input key with a Redis client (bench/process-per-function.mjs), and
 * K bare `node` processes as the floor; their average RSS is what one function costs
 * in that model (measured on K, extrapolated to N, and said so).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  MB,
  MODES,
  MODE_LABEL,
  input2k,
  processMemory,
  type BenchContext,
  type ItemResult,
  type Row,
  type SandboxMode,
} from './harness.js';
import { fmt, sleep } from './stats.js';

const TARGET_MB = 2;

interface ChildResult {
  mode: SandboxMode;
  cluster: boolean;
  n: number;
  loadMs: number;
  before: { rss: number; pss: number; mainRss: number; workersRss: number };
  after: { rss: number; pss: number; mainRss: number; workersRss: number };
  perFunction: { rss: number; pss: number; mainRss: number; workersRss: number };
}

function runChild(ctx: BenchContext, mode: SandboxMode, n: number): Promise<ChildResult> {
  const file = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const arg = JSON.stringify({ mode, n, cluster: ctx.cluster, redisUrl: ctx.redisUrl, prefix: `bench:mem:${mode}:${n}:` });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--expose-gc', '--import', 'tsx', file, arg], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`memory child (${mode}, ${n}) exited with ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/** Average RSS/PSS of `k` processes started with `args`, after they settle. */
async function processesRss(k: number, args: (i: number) => string[]): Promise<{ rss: number; pss: number }> {
  const children = Array.from({ length: k }, (_, i) => spawn(process.execPath, args(i), { stdio: 'ignore' }));
  try {
    await sleep(2500);
    const mem = children.map((c) => processMemory(c.pid!));
    return { rss: mem.reduce((a, m) => a + m.rss, 0) / k, pss: mem.reduce((a, m) => a + m.pss, 0) / k };
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGKILL');
          }),
      ),
    );
  }
}

export async function memory(ctx: BenchContext): Promise<ItemResult> {
  const sizes = ctx.quick ? [200] : [100, 500, 1000];
  const k = ctx.quick ? 3 : 10;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { unit: 'MB', sizes };
  const inlinePer: number[] = [];
  const worstBy: Record<string, number> = {};
  const modes: SandboxMode[] = ctx.quick ? ['inline'] : MODES;
  for (const mode of modes) {
    const results: ChildResult[] = [];
    for (const n of sizes) {
      ctx.note(`${MODE_LABEL[mode]}: ${n} functions`);
      results.push(await runChild(ctx, mode, n));
    }
    data[mode] = results.map((r) => ({
      n: r.n,
      cluster: r.cluster,
      loadMs: r.loadMs,
      baselineRssMb: round(r.before.rss / MB),
      rssMb: round(r.after.rss / MB),
      perFunctionRssMb: round(r.perFunction.rss / MB),
      perFunctionPssMb: round(r.perFunction.pss / MB),
      perFunctionMainRssMb: round(r.perFunction.mainRss / MB),
      perFunctionWorkersRssMb: round(r.perFunction.workersRss / MB),
    }));
    const per = results.map((r) => r.perFunction.rss / MB);
    if (mode === 'inline') inlinePer.push(...per);
    const worst = Math.max(...per);
    worstBy[mode] = round(worst);
    rows.push({
      metric: `${MODE_LABEL[mode]}: RSS per idle function at N = ${sizes.join(' / ')}`,
      value: per.map((v) => fmt(v)).join(' / ') + ' MB',
      target: `≤ ${TARGET_MB} MB`,
      met: worst <= TARGET_MB,
    });
    const last = results[results.length - 1]!;
    rows.push({
      metric: `${MODE_LABEL[mode]}: total RSS with ${last.n} functions (0 functions)`,
      value: `${fmt(last.after.rss / MB, 'MB')} (${fmt(last.before.rss / MB, 'MB')})`,
    });
  }

  ctx.note(`one Node process per function: ${k} processes`);
  const script = fileURLToPath(new URL('./process-per-function.mjs', import.meta.url));
  await ctx.redis.set('bench:mem:proc:in', input2k());
  const perProcess = await processesRss(k, (i) => [script, ctx.redisUrl, 'bench:mem:proc:in', `bench:mem:proc:out:${i}`]);
  const bare = await processesRss(k, () => ['-e', 'setInterval(() => {}, 1000)']);
  data.processPerFunction = {
    processes: k,
    rssMb: round(perProcess.rss / MB),
    pssMb: round(perProcess.pss / MB),
    bareNodeRssMb: round(bare.rss / MB),
    bareNodePssMb: round(bare.pss / MB),
    extrapolatedRssMbAt: Object.fromEntries(sizes.map((n) => [n, Math.round((n * perProcess.rss) / MB)])),
  };
  const worstInline = Math.max(...inlinePer);
  rows.push({
    metric: `one Node process per function (Redis client + poll loop), measured on ${k}`,
    value: `${fmt(perProcess.rss / MB, 'MB')} RSS each (bare node: ${fmt(bare.rss / MB, 'MB')}); ${fmt(perProcess.rss / MB / worstInline)}x redlet in-process`,
  });
  rows.push({
    metric: `one Node process per function, extrapolated to N = ${sizes[sizes.length - 1]}`,
    value: fmt((sizes[sizes.length - 1]! * perProcess.rss) / MB / 1024, 'GB'),
  });
  data.target = {
    metric: 'RSS per idle function (worst N)',
    max: TARGET_MB,
    unit: 'MB',
    value: worstBy,
    met: Object.fromEntries(Object.entries(worstBy).map(([m, v]) => [m, v <= TARGET_MB])),
  };
  return {
    rows,
    data,
    notes: [
      `RSS counts shared pages once per process; the per-process model's PSS (shared pages split) is ${fmt(perProcess.pss / MB, 'MB')} per process.`,
    ],
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
