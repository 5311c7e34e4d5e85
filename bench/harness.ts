/**
 * What the benchmark items share: the run's context, the shape of an item's result,
 * the function they register (a trivial handler and a ~2 KB JSON input), and a way to
 * start a whole redlet (HTTP, pages, Redis store) against the private Redis, exactly
 * as `npm start` builds it, with either sandbox mode.
 *
 * @example
 * const app = await startBenchRedlet(ctx.redisUrl, 'inline', 'bench:cold:');
 * await registerMany(app.runtime, 100, (i) => echoFunction(`f${i}`, { inputKey: `in:${i}` }));
 * await app.stop();
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import type { FunctionSettings } from '../src/function-definition.js';
import { silentLogger } from '../src/logger.js';
import { startRedlet, type RunningRedlet } from '../src/main.js';
import type { RegisterInput, Runtime } from '../src/runtime/runtime.js';
import { mountUi } from '../ui/index.js';

/** `inline`: isolates in the redlet process; `process`: in supervised worker processes (the default). */
export type SandboxMode = 'inline' | 'process';
export const MODES: SandboxMode[] = ['inline', 'process'];
export const MODE_LABEL: Record<SandboxMode, string> = { inline: 'in-process', process: 'worker processes' };

/**
 * Replicas sharing Redis (REDLET_CLUSTER): `default` leaves it to the configuration's
 * default, `on`/`off` force it.
 */
export type ClusterChoice = 'default' | 'on' | 'off';

export interface BenchContext {
  quick: boolean;
  cluster: ClusterChoice;
  /** `--functions=N`: how many functions the scale item registers (default 10,000; quick 1,000). */
  functions?: number;
  redisUrl: string;
  /** A command connection to the private Redis. */
  redis: Redis;
  /** Progress line on stderr. */
  note(msg: string): void;
}

/** One line of the results table. */
export interface Row {
  metric: string;
  value: string;
  /** The target for this line, in words; absent when the line is context. */
  target?: string;
  met?: boolean;
}

export interface ItemResult {
  rows: Row[];
  /** Everything measured, for bench/results.json. */
  data: Record<string, unknown>;
  notes?: string[];
}

export type BenchItem = (ctx: BenchContext) => Promise<ItemResult>;

/** The trivial handler every item uses: the output is the input (2 KB in, 2 KB out). */
export const ECHO_CODE = 'export function handler(input) { return input; }\n';

/** A flat JSON object of ~2 KB, shaped like the course's metrics snapshot. */
export function input2k(seq = 0): string {
  const fields: Record<string, number> = { seq };
  for (let i = 0; i < 73; i++) fields[`field_number_${i}`] = i * 1.5 + 0.123456;
  return JSON.stringify(fields);
}

export function echoFunction(name: string, settings: Partial<FunctionSettings>): RegisterInput {
  return { name, origin: 'api', source: { kind: 'file', filename: `${name}.js`, code: ECHO_CODE }, settings };
}

/**
 * Starts a complete redlet (HTTP on a free port, pages). redlet's own keys go under
 * `${prefix}redlet:`, so the items' input and output keys (`${prefix}...`) stay outside
 * its reserved namespace, as a user's would.
 */
export async function startBenchRedlet(
  redisUrl: string,
  mode: SandboxMode,
  prefix: string,
  cluster: ClusterChoice = 'default',
): Promise<RunningRedlet> {
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    REDLET_PREFIX: ownPrefix(prefix),
    REDLET_SANDBOX: mode,
    REDLET_DEMO: '0',
    REDLET_COLLECT: '0',
    LOG_LEVEL: 'silent',
    REDLET_DRAIN_MS: '2000',
  };
  if (cluster !== 'default') env.REDLET_CLUSTER = cluster === 'on' ? '1' : '0';
  // No compat function, even on a machine that has /opt/usermodule.js.
  const config = loadConfig(env, () => false);
  return startRedlet(config, silentLogger(), { mountUi });
}

/** The prefix of redlet's own keys for a bench item whose keys live under `prefix`. */
export function ownPrefix(prefix: string): string {
  return `${prefix}redlet:`;
}

/** Registers `count` functions, `concurrency` at a time; returns the wall time in ms. */
export async function registerMany(runtime: Runtime, count: number, make: (i: number) => RegisterInput, concurrency = 8): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      await runtime.register(make(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return performance.now() - t0;
}

/** Whether a running redlet shares its functions with other replicas (leases), as configured. */
export function clusterOf(app: RunningRedlet): boolean {
  return Boolean((app.runtime.config as { cluster?: unknown }).cluster);
}

/**
 * Resolves once every key exists: the functions' first outputs. Redis is the truth
 * here, not in-memory counters, which restart when a runner is replaced.
 */
export async function waitForKeys(redis: Redis, keys: string[], what: string, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    // EXISTS, not MGET: polling 10,000 outputs of 2 KB moved 20 MB a time into this
    // process, which is also the measured redlet's.
    let missing = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      missing += chunk.length - (await redis.exists(...chunk));
    }
    if (missing === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${missing} of ${keys.length} missing)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resident and proportional set sizes of a process, in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; pss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  let pss = NaN;
  try {
    pss = Number(/Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    // Older kernels have no smaps_rollup: RSS only.
  }
  return { rss, pss };
}

export const MB = 1024 * 1024;
