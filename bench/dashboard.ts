/**
 * Item 7, dashboard: requests per second and latency of the functions partial
 * (`GET /ui/functions`, the table rows htmx polls every 3 s on every open dashboard)
 * with 100 registered functions that have run once, under a closed-loop load of 10
 * concurrent keep-alive connections from a separate process (bench/http-load.mjs).
 * Both sandbox modes: in worker mode every row asks its worker for heap statistics.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  MODES,
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
} from './harness.js';
import { fmt, sleep } from './stats.js';

const CONCURRENCY = 10;

interface LoadResult {
  requests: number;
  errors: number;
  bytes: number;
  elapsedMs: number;
  p50: number;
  p99: number;
  max: number;
}

function load(url: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  const client = fileURLToPath(new URL('./http-load.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [client, url, String(concurrency), String(durationMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim()) as LoadResult) : reject(new Error(`http-load exited with ${code}`)),
    );
  });
}

export async function dashboard(ctx: BenchContext): Promise<ItemResult> {
  const n = 100;
  const durationMs = ctx.quick ? 1500 : 5000;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { functions: n, concurrency: CONCURRENCY, durationMs, route: 'GET /ui/functions', unit: 'ms' };
  for (const mode of ctx.quick ? (['inline'] as const) : MODES) {
    const prefix = `bench:dash:${mode}:`;
    const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
    try {
      await ctx.redis.set(`${prefix}in`, input2k());
      const outs = Array.from({ length: n }, (_, i) => `${prefix}out:${i}`);
      await registerMany(app.runtime, n, (i) => echoFunction(`dash-${i}`, { inputKey: `${prefix}in`, outputKey: outs[i]!, period: 5 }));
      await waitForKeys(ctx.redis, outs, 'the first outputs');
      await sleep(500);
      const url = `http://127.0.0.1:${app.port}/ui/functions`;
      ctx.note(`${MODE_LABEL[mode]}: ${CONCURRENCY} connections for ${durationMs} ms`);
      await load(url, 2, 500); // warm-up: JIT, connections
      const cpu0 = process.cpuUsage();
      const r = await load(url, CONCURRENCY, durationMs);
      const cpu = process.cpuUsage(cpu0);
      const rps = r.requests / (r.elapsedMs / 1000);
      data[mode] = {
        requestsPerS: Math.round(rps),
        p50: Math.round(r.p50 * 100) / 100,
        p99: Math.round(r.p99 * 100) / 100,
        max: Math.round(r.max * 100) / 100,
        errors: r.errors,
        responseKb: Math.round(r.bytes / Math.max(1, r.requests) / 102.4) / 10,
        mainProcessCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / (r.elapsedMs / 1000)) * 1000) / 10,
        cluster: clusterOf(app),
      };
      rows.push({
        metric: `${MODE_LABEL[mode]}: req/s; latency p50 / p99 (${CONCURRENCY} connections)`,
        value: `${fmt(rps)} req/s; ${fmt(r.p50, 'ms')} / ${fmt(r.p99, 'ms')}${r.errors ? `; ${r.errors} errors` : ''}`,
      });
    } finally {
      await app.stop();
    }
  }
  return { rows, data };
}
