/**
 * `npm run bench`: runs the benchmark items one after the other against a private
 * redis-server it starts, prints one table (machine first) and writes the results as
 * JSON. A full run writes bench/results.json (committed); `--quick` or `--only` runs
 * write bench/results-partial.json so a partial run never replaces a full one.
 *
 *   npm run bench                       # every item, a few minutes on 2 cores
 *   npm run bench -- --quick            # fewer samples, shorter windows, fewer variants: ~40 s
 *   npm run bench -- --only=latency,throughput
 *   npm run bench -- --cluster=off      # force REDLET_CLUSTER (default: the configuration's default)
 *   npm run bench -- --out=/tmp/r.json  # write the JSON elsewhere
 *   npm run bench -- --only=scale --functions=2000  # the scale item with fewer functions
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { coldStart } from './cold-start.js';
import { dashboard } from './dashboard.js';
import { dashboardSize } from './dashboard-size.js';
import type { BenchContext, BenchItem, ClusterChoice, ItemResult, Row } from './harness.js';
import { latency } from './latency.js';
import { memory } from './memory.js';
import { overhead } from './overhead.js';
import { peers } from './peers.js';
import { python } from './python.js';
import { redisTopologies } from './redis-topologies.js';
import { startPrivateRedis } from './private-redis.js';
import { scale } from './scale.js';
import { schedule } from './schedule.js';
import { throughput } from './throughput.js';

const ITEMS: Array<{ key: string; title: string; run: BenchItem }> = [
  { key: 'overhead', title: '1. overhead (2 KB in/out, trivial handler)', run: overhead },
  { key: 'coldStart', title: '2. cold start', run: coldStart },
  { key: 'memory', title: '3. memory (RSS per idle function)', run: memory },
  { key: 'schedule', title: '4. schedule (1,000 functions at 1 s; quick: 300)', run: schedule },
  { key: 'latency', title: '5. latency (SET input -> output written)', run: latency },
  { key: 'throughput', title: '6. throughput (keyspace-triggered)', run: throughput },
  { key: 'dashboard', title: '7. dashboard (GET /ui/functions, 100 functions)', run: dashboard },
  { key: 'python', title: '8. Python functions (Pyodide in isolates)', run: python },
  { key: 'dashboardSize', title: '9. dashboard size (the polled functions partial, 1,000 functions)', run: dashboardSize },
  {
    key: 'redisTopologies',
    title: '10. Redis Cluster vs a single Redis (latency, invocations/s, 300 functions, failover)',
    run: redisTopologies,
  },
  { key: 'peers', title: '11. peers (workerd, QuickJS-wasm) beside redlet', run: peers },
  { key: 'scale', title: '12. scale (10,000 functions at 10 s; quick: 1,000; --functions=N)', run: scale },
];

interface Args {
  quick: boolean;
  cluster: ClusterChoice;
  only: string[] | null;
  out: string | null;
  functions: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, cluster: 'default', only: null, out: null, functions: undefined };
  const camel = (s: string) => s.trim().replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  for (const a of argv) {
    if (a === '--quick') args.quick = true;
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').filter(Boolean).map(camel);
    else if (a.startsWith('--out=')) args.out = a.slice(6);
    else if (a.startsWith('--functions=')) args.functions = Math.max(2, Number(a.slice(12)) || 0);
    else if (a === '--cluster=on' || a === '--cluster=off') args.cluster = a.endsWith('on') ? 'on' : 'off';
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--quick] [--cluster=on|off] [--only=overhead,cold-start,memory,schedule,latency,throughput,dashboard,python,dashboard-size,redis-topologies,peers,scale] [--functions=N] [--out=file.json]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  const unknown = args.only?.filter((k) => !ITEMS.some((i) => i.key === k)) ?? [];
  if (unknown.length) throw new Error(`unknown item(s) ${unknown.join(', ')}; items: ${ITEMS.map((i) => i.key).join(', ')}`);
  return args;
}

/** The commit measured, and which parts of the tree had uncommitted changes. */
function gitState(): { head: string; dirty: string[] } {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, {
        cwd: new URL('..', import.meta.url).pathname,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      return '';
    }
  };
  const head = git(['rev-parse', '--short', 'HEAD']).trim() || 'unknown';
  const dirty = new Set<string>();
  for (const line of git(['status', '--porcelain', '--', 'src', 'sandbox', 'ui']).split('\n')) {
    const path = line.slice(3).trim();
    if (path) dirty.add(path.split('/')[0]!);
  }
  return { head, dirty: [...dirty].sort() };
}

/** A collectable heap between items, so one item's garbage is not the next one's pause. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function table(results: Array<{ title: string; result: ItemResult | null; error?: string }>): string {
  const lines: string[][] = [['item', 'measure', 'result', 'target', 'met']];
  for (const { title, result, error } of results) {
    const rows: Row[] = result?.rows ?? [{ metric: 'error', value: error ?? 'failed' }];
    rows.forEach((r, i) =>
      lines.push([i === 0 ? title : '', r.metric, r.value, r.target ?? '', r.met === undefined ? '' : r.met ? 'yes' : 'NO']),
    );
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const fmtLine = (l: string[]) => `| ${l.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [fmtLine(lines[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.slice(1).map(fmtLine)].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const gc = gcFunction();
  const started = performance.now();
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url);
  const machine = {
    cores: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    redis: redis.version,
    date: new Date().toISOString(),
    git: gitState(),
    /** 1-minute load average before and after: other work on the machine skews every number. */
    loadAverage: { before: Math.round(loadavg()[0]! * 100) / 100, after: NaN },
  };
  if (machine.loadAverage.before > 0.7) {
    process.stderr.write(
      `warning: load average ${machine.loadAverage.before} before starting: other processes are busy on this machine; numbers will be noisy\n`,
    );
  }
  // What REDLET_CLUSTER resolves to for a redlet on Redis (the configuration's default unless forced).
  const clusterEnv: Record<string, string> = { REDIS_URL: redis.url, REDLET_DEMO: '0' };
  if (args.cluster !== 'default') clusterEnv.REDLET_CLUSTER = args.cluster === 'on' ? '1' : '0';
  const clusterOn = Boolean((loadConfig(clusterEnv, () => false) as { cluster?: unknown }).cluster);
  const ctx: BenchContext = {
    quick: args.quick,
    cluster: args.cluster,
    ...(args.functions ? { functions: args.functions } : {}),
    redisUrl: redis.url,
    redis: client,
    note: (msg) => process.stderr.write(`  ${msg}\n`),
  };
  process.stderr.write(
    `redlet bench${args.quick ? ' (quick)' : ''}: ${machine.cores} cores (${machine.model}), Node ${machine.node}, redis ${machine.redis} on ${redis.url}\n`,
  );

  const results: Result[] = [];
  const partial = args.quick || args.only !== null || args.cluster !== 'default' || args.functions !== undefined;
  const out = args.out ?? new URL(partial ? './results-partial.json' : './results.json', import.meta.url).pathname;
  try {
    for (const item of ITEMS) {
      if (args.only && !args.only.includes(item.key)) continue;
      process.stderr.write(`${item.title}\n`);
      await emptyPrivateRedis(client);
      gc();
      const t0 = performance.now();
      try {
        const result = await item.run(ctx);
        results.push({ key: item.key, title: item.title, result, seconds: (performance.now() - t0) / 1000 });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`  FAILED: ${err instanceof Error ? err.stack : message}\n`);
        results.push({ key: item.key, title: item.title, result: null, error: message, seconds: (performance.now() - t0) / 1000 });
      }
      process.stderr.write(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      // Written after every item: a later item that takes the process down loses only itself.
      writeResults(out, resultsJson(machine, args, clusterOn, started, results));
    }
  } finally {
    client.disconnect();
    await redis.close();
  }

  const totalSeconds = (performance.now() - started) / 1000;
  machine.loadAverage.after = Math.round(loadavg()[0]! * 100) / 100;
  writeResults(out, resultsJson(machine, args, clusterOn, started, results));

  process.stdout.write(
    `\nredlet bench${args.quick ? ' --quick' : ''}: ${machine.cores} cores (${machine.model}), ${machine.memoryGb} GB, Node ${machine.node}, Redis ${machine.redis}, ${machine.platform}, ${machine.date}\n` +
      `git ${machine.git.head}${machine.git.dirty.length ? ` + uncommitted changes in ${machine.git.dirty.join(', ')}` : ''}; load average ${machine.loadAverage.before} before, ${machine.loadAverage.after} after; ` +
      `replica leases (REDLET_CLUSTER) ${clusterOn ? 'on' : 'off'}${args.cluster === 'default' ? ' (default)' : ' (forced)'}\n\n`,
  );
  process.stdout.write(table(results) + '\n');
  const notes = results.flatMap((r) => (r.result?.notes ?? []).map((n) => `- ${r.key}: ${n}`));
  if (notes.length) process.stdout.write(`\n${notes.join('\n')}\n`);
  process.stdout.write(`\n${results.length} item(s) in ${totalSeconds.toFixed(0)} s; results in ${out}\n`);
  if (results.some((r) => !r.result)) process.exitCode = 1;
}

await main();
// Whatever a failed item left running (a timer, a socket) must not keep the run alive.
process.exit(process.exitCode ?? 0);

/**
 * Empties the bench's own redis-server (started above on a free port, never a user's)
 * between items, key by key, so no item sees another's data.
 */
type Machine = Record<string, unknown> & { loadAverage: { before: number; after: number } };
type Result = { key: string; title: string; result: ItemResult | null; error?: string; seconds: number };

/** The JSON document of a run: the machine, the options, each item's rows and data. */
function resultsJson(machine: Machine, args: Args, clusterOn: boolean, started: number, results: Result[]) {
  return {
    machine,
    quick: args.quick,
    cluster: args.cluster,
    /** Whether the redlets measured ran with replica leases (REDLET_CLUSTER). */
    clusterMode: clusterOn,
    only: args.only,
    totalSeconds: Math.round((performance.now() - started) / 1000),
    items: Object.fromEntries(
      results.map((r) => [
        r.key,
        r.result
          ? {
              title: r.title,
              seconds: Math.round(r.seconds * 10) / 10,
              rows: r.result.rows,
              ...r.result.data,
              ...(r.result.notes ? { notes: r.result.notes } : {}),
            }
          : { title: r.title, error: r.error },
      ]),
    ),
  };
}

function writeResults(out: string, json: unknown): void {
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
}

async function emptyPrivateRedis(client: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== '0');
}
