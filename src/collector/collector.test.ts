/**
 * Collector with a fake `write` that records calls, over a small fixture /proc. The
 * schedule runs on vitest's fake timers: the fixture reads are real I/O, and the
 * clock moves only once the collector waits on a timer again, so every write lands at
 * an exact time.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Collector, type CollectorOptions } from './collector.js';

const STAT = (cpu0: string): string => `cpu0 ${cpu0}\nintr 10 0\nctxt 20\nsoftirq 30 0\n`;

let proc: string;
const running: Collector[] = [];

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  proc = await mkdtemp(path.join(tmpdir(), 'redlet-collector-'));
  await mkdir(path.join(proc, 'net'));
  await mkdir(path.join(proc, '1'));
  // cpu0 since boot: busy 150 of 1000 -> 15.0
  await writeFile(path.join(proc, 'stat'), STAT('100 0 50 800 50 0 0 0 0 0'));
  await writeFile(path.join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemFree: 500 kB\nMemAvailable: 600 kB\n');
  await writeFile(
    path.join(proc, 'net/dev'),
    'header 1\nheader 2\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth0: 200 2 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n',
  );
  await writeFile(path.join(proc, 'cpuinfo'), 'cpu MHz\t\t: 2000.000\n');
});

afterEach(async () => {
  let stopped = false;
  const stopping = Promise.all(running.splice(0).map((c) => c.stop())).then(() => (stopped = true));
  await runUntil(() => stopped);
  await stopping;
  vi.useRealTimers();
  await rm(proc, { recursive: true, force: true });
});

/** Sleeps on the fake clock. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves the fake clock from timer to timer until `done()` holds. Between timers it
 * waits in real time until the collector has armed one again (its fixture reads are
 * real I/O), so time never passes while a read is pending.
 */
async function runUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the collector stopped arming timers');
    if (vi.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
    else await vi.advanceTimersToNextTimerAsync();
  }
}

/** A Collector over the fixture whose writes are recorded; `work` is how long (fake ms) each write takes. */
function setup(opts: Partial<CollectorOptions> & { work?: number; fail?: (call: number) => boolean } = {}) {
  const writes: { json: string; at: number }[] = [];
  let active = 0;
  let maxActive = 0;
  const log = { warn: vi.fn<(msg: string) => void>(), error: vi.fn<(msg: string, err?: unknown) => void>() };
  const t0 = performance.now();
  const collector = new Collector({
    intervalMs: 50,
    netInterface: 'eth0',
    procRoot: proc,
    log,
    write: async (json) => {
      const call = writes.length;
      writes.push({ json, at: performance.now() - t0 });
      if (opts.fail?.(call)) throw new Error(`write ${call} rejected`);
      active += 1;
      maxActive = Math.max(maxActive, active);
      if (opts.work) await sleep(opts.work);
      active -= 1;
    },
    ...opts,
  });
  running.push(collector);
  return { collector, writes, log, maxActive: () => maxActive };
}

describe('Collector', () => {
  it('writes at start, without waiting for the first interval', async () => {
    const { collector, writes } = setup({ intervalMs: 10_000 });
    collector.start();
    await runUntil(() => writes.length === 1);
    expect(writes[0]?.at).toBe(0);
    const metrics = JSON.parse(writes[0]?.json ?? '{}') as Record<string, unknown>;
    expect(metrics['cpu_percent-0']).toBe(15);
    expect(metrics['net_io_counters_eth0-bytes_sent']).toBe(100);
  });

  it('keeps to start + k * interval instead of sleeping after each write', async () => {
    const { collector, writes } = setup({ work: 30 });
    collector.start();
    await runUntil(() => writes.length >= 6);
    // Sleep-after-work would write at 0, 80, 160, ...
    expect(writes.map((w) => w.at)).toEqual([0, 50, 100, 150, 200, 250]);
  });

  it('never runs two writes at once, skipping the ticks a slow write overran', async () => {
    const { collector, writes, maxActive } = setup({ work: 80 });
    collector.start();
    await runUntil(() => writes.length >= 3);
    // Ticks at 0, 100, 200, ...: the one at 50 fell inside the first write and was skipped, not made up for.
    expect(writes.slice(0, 3).map((w) => w.at)).toEqual([0, 100, 200]);
    // A direct call while the loop runs waits its turn.
    const direct = [collector.collectOnce(), collector.collectOnce()];
    await runUntil(() => writes.length >= 7);
    await Promise.all(direct);
    expect(maxActive()).toBe(1);
    for (let k = 1; k < writes.length; k++) {
      expect((writes[k]?.at ?? 0) - (writes[k - 1]?.at ?? 0)).toBeGreaterThanOrEqual(80);
    }
  });

  it('logs a failed write and goes on', async () => {
    const { collector, writes, log } = setup({ fail: (call) => call < 2 });
    collector.start();
    await runUntil(() => writes.length >= 5);
    expect(writes.map((w) => w.at)).toEqual([0, 50, 100, 150, 200]);
    expect(log.error).toHaveBeenCalledTimes(2);
    expect(log.error.mock.calls[0]?.[1]).toEqual(new Error('write 0 rejected'));
  });

  it('keeps going when a write throws synchronously', async () => {
    let calls = 0;
    const log = { warn: vi.fn(), error: vi.fn() };
    const collector = new Collector({
      intervalMs: 50,
      netInterface: 'eth0',
      procRoot: proc,
      log,
      write: (() => {
        calls += 1;
        if (calls === 1) throw new Error('not even a promise');
        return Promise.resolve();
      }) as CollectorOptions['write'],
    });
    running.push(collector);
    collector.start();
    await runUntil(() => calls >= 3);
    expect(log.error).toHaveBeenCalledTimes(1);
  });

  it('logs a failed read and goes on', async () => {
    await rm(path.join(proc, 'meminfo'));
    const { collector, writes, log } = setup();
    collector.start();
    await runUntil(() => log.error.mock.calls.length >= 2);
    expect(writes).toHaveLength(0);
    await writeFile(path.join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemFree: 500 kB\n');
    await runUntil(() => writes.length >= 1);
  });

  it('stop() waits for the write in flight, and nothing is written after it', async () => {
    let finished = false;
    const write = vi.fn(async () => {
      await sleep(100);
      finished = true;
    });
    const slow = new Collector({ intervalMs: 50, netInterface: 'eth0', procRoot: proc, write });
    running.push(slow);
    slow.start();
    await runUntil(() => write.mock.calls.length === 1);
    let stopped = false;
    const stopping = slow.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(vi.getTimerCount()).toBe(0);
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('collectOnce returns the JSON it wrote, and the next one covers the time since', async () => {
    const { collector, writes } = setup();
    const first = await collector.collectOnce();
    expect(writes[0]?.json).toBe(first);
    expect(JSON.parse(first)['cpu_percent-0']).toBe(15);
    // +30 user +10 system +150 idle +10 iowait: busy 40 of 200 -> 20.0
    await writeFile(path.join(proc, 'stat'), STAT('130 0 60 950 60 0 0 0 0 0'));
    expect(JSON.parse(await collector.collectOnce())['cpu_percent-0']).toBe(20);
  });

  it('collectOnce rejects when the write fails', async () => {
    const { collector } = setup({ fail: () => true });
    await expect(collector.collectOnce()).rejects.toThrow('write 0 rejected');
  });

  it('logs the interface fallback once, not on every write', async () => {
    const { collector, log } = setup({ netInterface: 'wlan9' });
    await collector.collectOnce();
    await collector.collectOnce();
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0]?.[0]).toMatch(/"wlan9" not found; reporting "eth0"/);
  });

  it('rejects a non-positive interval', () => {
    expect(() => new Collector({ intervalMs: 0, netInterface: 'eth0', write: async () => {} })).toThrow(RangeError);
  });
});
