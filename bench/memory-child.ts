/**
 * Child process of the memory item (bench/memory.ts): starts a whole redlet in one
 * sandbox mode, measures its RSS with no function (after a warm-up registration, so
 * code paths are paged in, and a GC), registers N functions that each run once on a
 * shared 2 KB input and then sit idle, waits, collects garbage and measures again.
 * RSS is summed over the redlet process and its sandbox worker processes. Prints one
 * JSON line.
 *
 * Run: node --no-node-snapshot --expose-gc --import tsx bench/memory-child.ts '{"mode":"inline","n":100,"redisUrl":"redis://...","prefix":"m:"}'
 */
import { Redis } from 'ioredis';
import type { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import type { RunningRedlet } from '../src/main.js';
import {
  clusterOf,
  echoFunction,
  input2k,
  processMemory,
  registerMany,
  startBenchRedlet,
  waitForKeys,
  type ClusterChoice,
  type SandboxMode,
} from './harness.js';
import { sleep } from './stats.js';

interface Args {
  mode: SandboxMode;
  cluster: ClusterChoice;
  n: number;
  redisUrl: string;
  prefix: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run me with --expose-gc');

function measure(app: RunningRedlet) {
  const main = processMemory(process.pid);
  const pids = args.mode === 'process' ? (app.runtime.sandbox as WorkerPoolSandbox).workerPids() : [];
  const workers = pids.map(processMemory);
  const sum = (k: 'rss' | 'pss') => main[k] + workers.reduce((a, w) => a + w[k], 0);
  return { mainRss: main.rss, workersRss: workers.reduce((a, w) => a + w.rss, 0), rss: sum('rss'), pss: sum('pss'), workers: pids.length };
}

async function settle(): Promise<void> {
  await sleep(500);
  gc!();
  await sleep(200);
  gc!();
  await sleep(300);
}

const inputKey = `${args.prefix}input`;
const app = await startBenchRedlet(args.redisUrl, args.mode, args.prefix, args.cluster);
const redis = new Redis(args.redisUrl);
try {
  const { store } = app.runtime;
  await store.set(inputKey, input2k());
  // Warm-up: the first registration pages in esbuild's client, isolated-vm, the runner.
  await registerMany(app.runtime, 2, (i) => echoFunction(`warm-${i}`, { inputKey, outputKey: `${args.prefix}out:warm-${i}`, period: 5 }));
  await waitForKeys(
    redis,
    [0, 1].map((i) => `${args.prefix}out:warm-${i}`),
    'warm-up outputs',
  );
  await app.runtime.remove('warm-0');
  await app.runtime.remove('warm-1');
  await settle();
  const before = measure(app);

  const names = Array.from({ length: args.n }, (_, i) => `f-${i}`);
  const loadMs = await registerMany(app.runtime, args.n, (i) =>
    echoFunction(names[i]!, { inputKey, outputKey: `${args.prefix}out:${i}`, period: 5 }),
  );
  await waitForKeys(
    redis,
    names.map((_, i) => `${args.prefix}out:${i}`),
    'every function to run once',
  );
  await sleep(1000);
  await settle();
  const after = measure(app);
  const per = (k: 'rss' | 'pss' | 'mainRss' | 'workersRss') => (after[k] - before[k]) / args.n;
  process.stdout.write(
    JSON.stringify({
      mode: args.mode,
      n: args.n,
      cluster: clusterOf(app),
      loadMs: Math.round(loadMs),
      before,
      after,
      perFunction: { rss: per('rss'), pss: per('pss'), mainRss: per('mainRss'), workersRss: per('workersRss') },
    }) + '\n',
  );
} finally {
  await app.stop();
  redis.disconnect();
}
process.exit(0);
