/**
 * Item 1, overhead: what one invocation with a ~2 KB JSON input and output costs
 * through redlet's sandbox (in-process isolates, and isolates in a worker process),
 * against the same trivial handler called plainly, in a `node:vm` context, and in a
 * `worker_threads` worker (the one-worker-per-function model), and in a QuickJS-wasm
 * context (a peer: quickjs-emscripten). Every variant parses
 * the input text and serializes the result, since redlet does too. The variants run
 * interleaved in rounds so that machine noise hits them alike.
 */
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { InProcessSandbox } from '../sandbox/in-process.js';
import type { ContextFields, InvokeRequest, Sandbox } from '../sandbox/types.js';
import { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import { QUICKJS_ECHO, QuickJsPeer } from './peers/quickjs.js';
import { ECHO_CODE, input2k, type BenchContext, type ItemResult } from './harness.js';
import { fmt, summarize, type Summary } from './stats.js';

const TARGET_US = 50;
/** Worker processes (the default) against in-process, median to median. */
const WORKER_TARGET_RATIO = 1.5;

interface Variant {
  key: string;
  label: string;
  call: () => number | Promise<number>;
  /** Calls made by one `call` (concurrently): a sample is its time divided by this. */
  batch?: number;
}

/** Calls in flight at once for the pipelined rows: what a burst of triggers looks like. */
const IN_FLIGHT = 16;

const CONTEXT: ContextFields = {
  host: '127.0.0.1',
  port: 6379,
  input_key: 'bench:in',
  output_key: 'bench:out',
  function_getmtime: '2024-01-01 00:00:00',
  last_execution: null,
  function_name: 'echo',
};

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const handler = (input) => input;
parentPort.on('message', (s) => parentPort.postMessage(JSON.stringify(handler(JSON.parse(s)))));
`;

export async function overhead(ctx: BenchContext): Promise<ItemResult> {
  const iterations = ctx.quick ? 1000 : 5000;
  const warmup = ctx.quick ? 200 : 500;
  const rounds = 5;
  const input = input2k();

  // Plain call: what any runtime must do at least.
  const handler = (x: unknown) => x;
  const plain = () => JSON.stringify(handler(JSON.parse(input))).length;

  // node:vm: a context of its own, the handler and the JSON work inside it.
  const context = vm.createContext({});
  const vmCall = vm.runInContext('function handler(input) { return input; }\n(s) => JSON.stringify(handler(JSON.parse(s)))', context) as (
    s: string,
  ) => string;

  // worker_threads: one worker, a postMessage round trip per call.
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  let pending: ((s: string) => void) | null = null;
  worker.on('message', (s: string) => {
    const p = pending;
    pending = null;
    p?.(s);
  });
  const workerCall = () =>
    new Promise<number>((resolve) => {
      pending = (s) => resolve(s.length);
      worker.postMessage(input);
    });

  // QuickJS in WebAssembly: its own runtime and context, the JSON work inside it.
  const qjs = (await QuickJsPeer.create()).load(QUICKJS_ECHO, 64);

  const inline = new InProcessSandbox();
  const pool = new WorkerPoolSandbox({ workers: 1 });
  const load = {
    source: { kind: 'file' as const, filename: 'echo.js', code: ECHO_CODE },
    handler: 'handler',
    memoryMb: 64,
    timeoutMs: 5000,
    env: '{}',
    name: 'echo',
  };
  await Promise.all([inline.load('echo', load), pool.load('echo', load)]);
  const req: InvokeRequest = { input, context: CONTEXT, maxOutputBytes: 1 << 20 };
  const invoke = (box: Sandbox) => async () => {
    const r = await box.invoke('echo', req);
    if (!r.ok || r.output === null) throw new Error(`echo failed: ${r.error?.message}`);
    return r.output.length;
  };

  // Sixteen functions called at once, as a burst of keyspace events does.
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => Promise.all([inline.load(`echo${i}`, load), pool.load(`echo${i}`, load)])));
  const pipelined = (box: Sandbox) => async () => {
    const results = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => box.invoke(`echo${i}`, req)));
    if (results.some((r) => !r.ok)) throw new Error('echo failed');
    return results.length;
  };

  const variants: Variant[] = [
    { key: 'plain', label: 'plain function call', call: plain },
    { key: 'nodeVm', label: 'node:vm context', call: () => vmCall(input).length },
    { key: 'workerThread', label: 'worker_threads worker', call: workerCall },
    { key: 'quickjs', label: 'QuickJS-wasm context (quickjs-emscripten)', call: () => qjs.call(input).length },
    { key: 'redletInProcess', label: 'redlet in-process (InProcessSandbox)', call: invoke(inline) },
    { key: 'redletWorkerProcess', label: 'redlet worker process (WorkerPoolSandbox)', call: invoke(pool) },
    {
      key: 'redletInProcessPipelined',
      label: `redlet in-process, ${IN_FLIGHT} calls in flight, per call`,
      call: pipelined(inline),
      batch: IN_FLIGHT,
    },
    {
      key: 'redletWorkerProcessPipelined',
      label: `redlet worker process, ${IN_FLIGHT} calls in flight, per call`,
      call: pipelined(pool),
      batch: IN_FLIGHT,
    },
  ];

  const samples = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  try {
    for (const v of variants) for (let i = 0; i < warmup / (v.batch ?? 1); i++) await v.call();
    const perRound = Math.ceil(iterations / rounds);
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const out = samples.get(v.key)!;
        for (let i = 0; i < perRound / (v.batch ?? 1); i++) {
          const t0 = performance.now();
          await v.call();
          out.push(((performance.now() - t0) * 1000) / (v.batch ?? 1));
        }
      }
    }
  } finally {
    await worker.terminate();
    qjs.dispose();
    await inline.close();
    await pool.close();
  }

  const stats: Record<string, Summary & { ratioToPlain: number; label: string }> = {};
  const base = summarize(samples.get('plain')!).median;
  for (const v of variants) {
    const s = summarize(samples.get(v.key)!);
    stats[v.key] = { label: v.label, ...s, ratioToPlain: Math.round((s.median / base) * 10) / 10 };
  }
  const ip = stats.redletInProcess!;
  const rows = variants.map((v) => {
    const s = stats[v.key]!;
    const row = {
      metric: `${v.label}: median / p99`,
      value: `${fmt(s.median, 'µs')} / ${fmt(s.p99, 'µs')} (${fmt(s.ratioToPlain)}x plain)`,
    };
    if (v.key === 'redletWorkerProcess')
      return {
        ...row,
        value: `${row.value}; ${fmt(s.median / ip.median)}x in-process`,
        target: `median ≤ ${WORKER_TARGET_RATIO}x in-process`,
        met: s.median <= WORKER_TARGET_RATIO * ip.median,
      };
    return v.key === 'redletInProcess' ? { ...row, target: `median ≤ ${TARGET_US} µs`, met: ip.median <= TARGET_US } : row;
  });
  return {
    rows,
    data: {
      inputBytes: input.length,
      iterations,
      warmup,
      unit: 'µs',
      variants: stats,
      target: { metric: 'redletInProcess.median', max: TARGET_US, unit: 'µs', value: ip.median, met: ip.median <= TARGET_US },
      workerTarget: {
        metric: 'redletWorkerProcess.median / redletInProcess.median',
        max: WORKER_TARGET_RATIO,
        value: Math.round((stats.redletWorkerProcess!.median / ip.median) * 100) / 100,
        met: stats.redletWorkerProcess!.median <= WORKER_TARGET_RATIO * ip.median,
      },
    },
  };
}
