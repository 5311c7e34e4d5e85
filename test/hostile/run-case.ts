/**
 * Runs ONE hostile case in this process: a runtime on the test Redis with worker
 * processes (the production sandbox), a well-behaved neighbour at a 0.2 s period and
 * the offender, for a few seconds; then prints one JSON line describing what
 * happened, including whether anything reached this (host) process.
 *
 * Usage: node --no-node-snapshot --import tsx test/hostile/run-case.ts <case> <prefix>
 */
import { InProcessSandbox } from '../../sandbox/in-process.js';
import { WorkerPoolSandbox } from '../../sandbox/worker-pool.js';
import { loadConfig } from '../../src/config.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { ownPrefix } from '../helpers/redis.js';
import { HOSTILE_CASES } from './cases.js';

const [name, prefix] = process.argv.slice(2);
const c = HOSTILE_CASES.find((x) => x.name === name);
if (!c || !prefix) throw new Error(`usage: run-case.ts <case> <prefix> (unknown case '${name}')`);
const url = process.env.REDLET_TEST_REDIS_URL!;
const WINDOW_MS = Number(process.env.HOSTILE_WINDOW_MS ?? 2500);
const NEIGHBOUR_PERIOD = 0.2;

const hostBefore = {
  env: Object.keys(process.env).sort().join(','),
  proto: Object.getOwnPropertyNames(Object.prototype).sort().join(','),
  push: Array.prototype.push,
  stringify: JSON.stringify,
  globals: Object.getOwnPropertyNames(globalThis).length,
};

const config = { ...loadConfig({ REDLET_PREFIX: ownPrefix(prefix) }), redis: { url, host: '127.0.0.1', port: 6379 } };
const store = new RedisStore({ url });
// HOSTILE_SANDBOX=inline runs the isolates in this process (REDLET_SANDBOX=inline).
const sandbox =
  process.env.HOSTILE_SANDBOX === 'inline' ? new InProcessSandbox() : new WorkerPoolSandbox({ workers: 2, baseBackoffMs: 500 });
const rt = new Runtime({ config, store, sandbox });
await rt.start();
await store.set(`${prefix}in`, '{"v":1}');

const completions: number[] = [];
rt.onInvocation((e) => {
  if (e.name === 'neighbour' && e.ok) completions.push(e.at);
});
const base = { inputKey: `${prefix}in`, invokeOn: 'always' as const, memoryMb: c.memoryMb ?? 32 };
await rt.register({
  name: 'neighbour',
  origin: 'api',
  source: {
    kind: 'file',
    filename: 'neighbour.js',
    code: `export function handler(i, ctx) { ctx.env.n = (ctx.env.n || 0) + 1; return { n: ctx.env.n, polluted: ({}).polluted ?? null, t: Date.now() } }`,
  },
  settings: { ...base, outputKey: `${prefix}out-neighbour`, period: NEIGHBOUR_PERIOD, memoryMb: 32, timeoutMs: 1000 },
});

let loadError: { code: string; message: string } | null = null;
const started = Date.now();
try {
  await rt.register({
    name: 'offender',
    origin: 'api',
    source: { kind: 'file', filename: 'offender.js', code: c.code },
    settings: {
      ...base,
      outputKey: c.reservedOutputKey ? c.reservedOutputKey(ownPrefix(prefix)) : c.selfTrigger ? base.inputKey : `${prefix}out-offender`,
      trigger: c.trigger ?? 'poll',
      period: c.period ?? 0.5,
      timeoutMs: c.timeoutMs ?? 500,
    },
  });
} catch (err) {
  const e = err as { code?: string; message: string };
  loadError = { code: e.code ?? 'UNKNOWN', message: e.message };
}
// The host's responsiveness while the offender runs: how late a 50 ms timer fires.
let lagMax = 0;
let lastBeat = performance.now();
const beat = setInterval(() => {
  const now = performance.now();
  lagMax = Math.max(lagMax, now - lastBeat - 50);
  lastBeat = now;
}, 50);
await new Promise((r) => setTimeout(r, WINDOW_MS));
const elapsed = Date.now() - started;

const neighbour = await rt.view('neighbour');
const offender = rt.has('offender') ? await rt.view('offender') : null;
const gaps = completions.slice(1).map((t, i) => t - completions[i]!);
const report = {
  case: c.name,
  elapsedMs: elapsed,
  loadError,
  offender: offender && {
    state: offender.status.state,
    detail: offender.status.detail,
    invocations: offender.status.invocations,
    errors: offender.status.errors,
    lastError: offender.status.lastError && {
      code: offender.status.lastError.code,
      name: offender.status.lastError.name,
      message: offender.status.lastError.message.slice(0, 500),
    },
    lastOutput: offender.status.lastOutput?.slice(0, 200) ?? null,
    logLines: rt.runner('offender')?.status.recentLogs().length ?? 0,
    maxLogChars: Math.max(0, ...(rt.runner('offender')?.status.recentLogs() ?? []).map((l) => l.msg.length)),
    droppedLogs: rt.runner('offender')?.status.droppedLogs ?? 0,
    sandbox: offender.sandbox,
  },
  neighbour: {
    invocations: neighbour.status.invocations,
    errors: neighbour.status.errors,
    expected: Math.floor(elapsed / 1000 / NEIGHBOUR_PERIOD),
    maxGapMs: gaps.length ? Math.max(...gaps) : null,
    lastOutput: neighbour.status.lastOutput,
  },
  host: {
    envUnchanged: Object.keys(process.env).sort().join(',') === hostBefore.env,
    protoUnchanged:
      Object.getOwnPropertyNames(Object.prototype).sort().join(',') === hostBefore.proto &&
      ({} as { polluted?: unknown }).polluted === undefined,
    builtinsUnchanged: Array.prototype.push === hostBefore.push && JSON.stringify === hostBefore.stringify,
    globalsUnchanged: Object.getOwnPropertyNames(globalThis).length === hostBefore.globals,
    lagMaxMs: Math.round(lagMax),
  },
};
clearInterval(beat);
await rt.stop(2000);
await store.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
