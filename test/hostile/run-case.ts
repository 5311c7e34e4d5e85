/**
 * Runs ONE hostile case in this process: a runtime on the test Redis with worker
 * processes (the production sandbox), a well-behaved neighbour at a 0.2 s period and
 * the offender, until the offender has misbehaved a few times and the neighbour has
 * run after it (at most a few seconds); then prints one JSON line describing what
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
/** Offender time in invocations after which the neighbour must have run during one, and the host's timers with it. */
const BUSY_ENOUGH_MS = 1000;

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

// What happened, in order: the offender's invocations (and their time), the neighbour's
// runs before and after the offender's first one ended.
const seen = { offenderRuns: 0, offenderBusyMs: 0, neighbourRuns: 0, neighbourAfterOffence: 0 };
rt.onInvocation((e) => {
  if (e.name === 'offender') {
    seen.offenderRuns++;
    seen.offenderBusyMs += e.durationMs;
  } else if (e.name === 'neighbour' && e.ok) {
    seen.neighbourRuns++;
    if (seen.offenderRuns > 0) seen.neighbourAfterOffence++;
  }
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
// The host while the offender runs: a timer of this process looks every 50 ms. Guest code
// that held the host's thread would keep it from ever seeing an invocation in flight, and
// the neighbour from finishing a run while one is.
const during = { hostBeats: 0, neighbourRuns: 0 };
let last: { offenderRuns: number; neighbourRuns: number } | null = null;
const beat = setInterval(() => {
  const now = { offenderRuns: seen.offenderRuns, neighbourRuns: seen.neighbourRuns };
  if (rt.runner('offender')?.status.running) {
    during.hostBeats++;
    // Both looks inside the same offender invocation: what the neighbour finished in between.
    if (last && last.offenderRuns === now.offenderRuns) during.neighbourRuns += now.neighbourRuns - last.neighbourRuns;
    last = now;
  } else {
    last = null;
  }
}, 50);
// Until the neighbour ran three times and the offender was refused, or misbehaved twice
// (three times, unless that took long enough for the checks on the host) with the
// neighbour running three times after; at most WINDOW_MS.
const done = () =>
  seen.neighbourRuns >= 3 &&
  (loadError !== null ||
    (seen.offenderRuns >= 2 && (seen.offenderBusyMs >= BUSY_ENOUGH_MS || seen.offenderRuns >= 3) && seen.neighbourAfterOffence >= 3));
const deadline = Date.now() + WINDOW_MS;
while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

const neighbour = await rt.view('neighbour');
const offender = rt.has('offender') ? await rt.view('offender') : null;
const report = {
  case: c.name,
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
    afterOffence: seen.neighbourAfterOffence,
    duringOffender: during.neighbourRuns,
    lastOutput: neighbour.status.lastOutput,
  },
  offenderRuns: { count: seen.offenderRuns, busyMs: Math.round(seen.offenderBusyMs), busyEnough: seen.offenderBusyMs >= BUSY_ENOUGH_MS },
  host: {
    envUnchanged: Object.keys(process.env).sort().join(',') === hostBefore.env,
    protoUnchanged:
      Object.getOwnPropertyNames(Object.prototype).sort().join(',') === hostBefore.proto &&
      ({} as { polluted?: unknown }).polluted === undefined,
    builtinsUnchanged: Array.prototype.push === hostBefore.push && JSON.stringify === hostBefore.stringify,
    globalsUnchanged: Object.getOwnPropertyNames(globalThis).length === hostBefore.globals,
    beatsDuringOffender: during.hostBeats,
  },
};
clearInterval(beat);
await rt.stop(2000);
await store.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
