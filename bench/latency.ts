/**
 * Item 5, latency end to end: from the SET of an input key to the output key being
 * written, seen as the keyspace notification of the output key by a separate client.
 * - keyspace trigger, both sandbox modes: one function, sequential SETs of distinct
 *   2 KB values; nothing is subtracted. For context, Redis alone: SET of a key to
 *   its own keyspace notification.
 * - poll trigger at a 1 s period: several functions with their own keys, all inputs
 *   SET at once at a random moment, each output timed: about half a period on average
 *   plus the same overhead.
 */
import { Redis } from 'ioredis';
import type { RunningRedlet } from '../src/main.js';
import {
  MODES,
  MODE_LABEL,
  clusterOf,
  echoFunction,
  input2k,
  startBenchRedlet,
  waitForKeys,
  type BenchContext,
  type ItemResult,
  type Row,
} from './harness.js';
import { fmt, sleep, summarize } from './stats.js';

const TARGET_P50_MS = 1;

/** One subscriber; `next(key)` resolves at the next keyspace notification of `key`. */
class Notifications {
  private readonly waiting = new Map<string, (t: number) => void>();
  readonly sub: Redis;
  constructor(url: string) {
    this.sub = new Redis(url);
    const on = (channel: string) => {
      const t = performance.now();
      const key = channel.slice(channel.indexOf(':') + 1);
      const resolve = this.waiting.get(key);
      if (resolve) {
        this.waiting.delete(key);
        resolve(t);
      }
    };
    this.sub.on('message', on);
    this.sub.on('pmessage', (_pattern: string, channel: string) => on(channel));
  }

  next(key: string, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`no write to ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }
}

/** Sequential SET -> notification of `outKey`, `count` times after `warmup`. */
async function roundTrips(
  ctx: BenchContext,
  notes: Notifications,
  inKey: string,
  outKey: string,
  count: number,
  warmup: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const value = input2k(i + 1);
    const seen = notes.next(outKey);
    const t0 = performance.now();
    await ctx.redis.set(inKey, value);
    const t1 = await seen;
    if (i >= warmup) samples.push(t1 - t0);
  }
  return samples;
}

async function keyspace(ctx: BenchContext, notes: Notifications, app: RunningRedlet, prefix: string, count: number) {
  const inKey = `${prefix}in`;
  const outKey = `${prefix}out`;
  await notes.sub.subscribe(`__keyspace@0__:${outKey}`);
  await ctx.redis.set(inKey, input2k(0));
  await app.runtime.register(echoFunction('lat', { inputKey: inKey, outputKey: outKey, trigger: 'keyspace' }));
  await waitForKeys(ctx.redis, [outKey], 'the first output');
  await sleep(200);
  return roundTrips(ctx, notes, inKey, outKey, count, Math.min(200, count));
}

async function poll(ctx: BenchContext, notes: Notifications, app: RunningRedlet, prefix: string, functions: number, rounds: number) {
  await notes.sub.psubscribe(`__keyspace@0__:${prefix}out:*`);
  const ins = Array.from({ length: functions }, (_, i) => `${prefix}in:${i}`);
  const outs = Array.from({ length: functions }, (_, i) => `${prefix}out:${i}`);
  for (const k of ins) await ctx.redis.set(k, input2k(0));
  for (let i = 0; i < functions; i++) {
    await app.runtime.register(echoFunction(`poll-${i}`, { inputKey: ins[i]!, outputKey: outs[i]!, trigger: 'poll', period: 1 }));
    await sleep(Math.random() * 50); // spread the timers' phases
  }
  await waitForKeys(ctx.redis, outs, 'the first outputs');
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await sleep(1000 + Math.random() * 1000);
    const seen = outs.map((k) => notes.next(k, 5000));
    const t0 = performance.now();
    const multi = ctx.redis.pipeline();
    ins.forEach((k) => multi.set(k, input2k(r + 1)));
    await multi.exec();
    for (const t of await Promise.all(seen)) samples.push(t - t0);
  }
  return samples;
}

export async function latency(ctx: BenchContext): Promise<ItemResult> {
  const count = ctx.quick ? 300 : 2000;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { unit: 'ms', samples: count };
  const notes = new Notifications(ctx.redisUrl);
  try {
    // Redis alone: SET -> keyspace notification of the same key.
    await notes.sub.subscribe('__keyspace@0__:bench:lat:probe');
    const base = summarize(await roundTrips(ctx, notes, 'bench:lat:probe', 'bench:lat:probe', count, 100));
    data.redisAlone = base;

    const p50By: Record<string, number> = {};
    for (const mode of MODES) {
      const prefix = `bench:lat:${mode}:`;
      ctx.note(`${MODE_LABEL[mode]}: keyspace, ${count} sequential writes`);
      const app = await startBenchRedlet(ctx.redisUrl, mode, prefix, ctx.cluster);
      try {
        const s = summarize(await keyspace(ctx, notes, app, prefix, count));
        data[`keyspace_${mode}`] = { ...s, cluster: clusterOf(app) };
        p50By[mode] = s.median;
        rows.push({
          metric: `keyspace, ${MODE_LABEL[mode]}: p50 / p99`,
          value: `${fmt(s.median, 'ms')} / ${fmt(s.p99, 'ms')}`,
          target: `p50 ≤ ${TARGET_P50_MS} ms`,
          met: s.median <= TARGET_P50_MS,
        });
      } finally {
        await app.stop();
      }
    }

    const functions = ctx.quick ? 10 : 20;
    const rounds = ctx.quick ? 2 : 4;
    ctx.note(`poll at 1 s: ${functions} functions x ${rounds} rounds`);
    const prefix = 'bench:lat:poll:';
    const app = await startBenchRedlet(ctx.redisUrl, 'inline', prefix, ctx.cluster);
    try {
      const s = summarize(await poll(ctx, notes, app, prefix, functions, rounds));
      data.poll1s_inline = s;
      rows.push({
        metric: `poll every 1 s, ${MODE_LABEL.inline}: p50 / p99 (${s.n} samples)`,
        value: `${fmt(s.median, 'ms')} / ${fmt(s.p99, 'ms')}`,
      });
    } finally {
      await app.stop();
    }
    rows.push({
      metric: 'context: Redis alone, SET -> keyspace notification p50 / p99',
      value: `${fmt(base.median, 'ms')} / ${fmt(base.p99, 'ms')}`,
    });
    data.target = {
      metric: 'keyspace p50',
      max: TARGET_P50_MS,
      unit: 'ms',
      value: p50By,
      met: Object.fromEntries(Object.entries(p50By).map(([m, v]) => [m, v <= TARGET_P50_MS])),
    };
  } finally {
    notes.sub.disconnect();
  }
  return { rows, data };
}
