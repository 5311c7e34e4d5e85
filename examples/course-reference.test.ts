/**
 * Tests for the course reference function, called directly (no sandbox): every
 * expected value below was worked out by hand, the arithmetic is written next to it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { handler } from './course-reference.js';

type Metrics = Record<string, unknown>;
type Context = { env: Record<string, unknown> };

const example = JSON.parse(
  readFileSync(fileURLToPath(new URL('../test/fixtures/metrics-example.json', import.meta.url)), 'utf8'),
) as Metrics;

/** The example snapshot with its own time and CPU values (`cpu[N]` -> `cpu_percent-N`). */
function snapshot(timestamp: string, cpu: number[], overrides: Metrics = {}): Metrics {
  const base: Metrics = {};
  for (const [key, value] of Object.entries(example)) {
    if (!key.startsWith('cpu_percent-')) base[key] = value;
  }
  base.timestamp = timestamp;
  cpu.forEach((v, n) => (base[`cpu_percent-${n}`] = v));
  return { ...base, ...overrides };
}

function newContext(): Context {
  return { env: {} };
}

function avgs(out: Record<string, number | null>): (number | null)[] {
  return Object.keys(out)
    .filter((k) => k.startsWith('avg-util-cpu'))
    .map((k) => out[k] ?? null);
}

describe('course reference: network and memory', () => {
  it('computes both percentages from the example snapshot', () => {
    const out = handler(example, newContext());
    // 9628190539 / (9628190539 + 440769386908) = 9628190539 / 450397577447 = 0.021377092198...
    expect(out['percent-network-egress']).toBeCloseTo(2.1377092198, 9);
    // (7704330240 + 2871980032) / 25202008064 = 10576310272 / 25202008064 = 0.419661411310...
    expect(out['percent-memory-cache']).toBeCloseTo(41.966141131, 8);
    // P + 2 keys, in a stable order: network, memory, then CPUs 0..3 (the example has 4).
    expect(Object.keys(out)).toEqual([
      'percent-network-egress',
      'percent-memory-cache',
      'avg-util-cpu0-60sec',
      'avg-util-cpu1-60sec',
      'avg-util-cpu2-60sec',
      'avg-util-cpu3-60sec',
    ]);
    // One sample so far: each mean is that sample's value.
    expect(avgs(out)).toEqual([3.4, 12.0, 0.8, 57.1]);
  });

  it('uses round numbers exactly', () => {
    const out = handler(
      snapshot('2024-11-20 14:03:00.000000', [0], {
        'net_io_counters_eth0-bytes_sent': 250,
        'net_io_counters_eth0-bytes_recv': 750, // 250 / 1000 = 25 %
        'virtual_memory-total': 1000,
        'virtual_memory-cached': 300,
        'virtual_memory-buffers': 100, // (300 + 100) / 1000 = 40 %
      }),
      newContext(),
    );
    expect(out['percent-network-egress']).toBe(25);
    expect(out['percent-memory-cache']).toBe(40);
  });

  it('gives null, never NaN, when a network field is missing', () => {
    const input = snapshot('2024-11-20 14:03:00.000000', [1]);
    delete input['net_io_counters_eth0-bytes_sent'];
    const out = handler(input, newContext());
    expect(out['percent-network-egress']).toBeNull();
    expect(out['percent-memory-cache']).not.toBeNull();
    expect(JSON.stringify(out)).toContain('"percent-network-egress":null');
  });

  it('gives null when a field is not a number', () => {
    const out = handler(
      snapshot('2024-11-20 14:03:00.000000', [1], { 'net_io_counters_eth0-bytes_recv': '750', 'virtual_memory-cached': null }),
      newContext(),
    );
    expect(out['percent-network-egress']).toBeNull();
    expect(out['percent-memory-cache']).toBeNull();
  });

  it('gives null when there is no traffic at all or no memory total', () => {
    const out = handler(
      snapshot('2024-11-20 14:03:00.000000', [1], {
        'net_io_counters_eth0-bytes_sent': 0,
        'net_io_counters_eth0-bytes_recv': 0, // 0 / 0
        'virtual_memory-total': 0, // x / 0
      }),
      newContext(),
    );
    expect(out['percent-network-egress']).toBeNull();
    expect(out['percent-memory-cache']).toBeNull();
  });

  it('falls back to the typo keys with a trailing 1, preferring the real keys', () => {
    const typoOnly = snapshot('2024-11-20 14:03:00.000000', [1]);
    delete typoOnly['net_io_counters_eth0-bytes_sent'];
    delete typoOnly['net_io_counters_eth0-bytes_recv'];
    typoOnly['net_io_counters_eth0-bytes_sent1'] = 100;
    typoOnly['net_io_counters_eth0-bytes_recv1'] = 300; // 100 / 400 = 25 %
    expect(handler(typoOnly, newContext())['percent-network-egress']).toBe(25);

    const both = snapshot('2024-11-20 14:03:00.000000', [1], {
      'net_io_counters_eth0-bytes_sent': 1,
      'net_io_counters_eth0-bytes_recv': 1, // real keys: 1 / 2 = 50 %
      'net_io_counters_eth0-bytes_sent1': 100,
      'net_io_counters_eth0-bytes_recv1': 300,
    });
    expect(handler(both, newContext())['percent-network-egress']).toBe(50);
  });
});

describe('course reference: 60-second CPU average', () => {
  it('averages over the window by the input timestamps, over more than 60 s', () => {
    const ctx = newContext();
    // t = 0 s, 20 s, 40 s: all inside the window.
    handler(snapshot('2024-11-20 14:03:00.000000', [10, 20, 30, 40]), ctx);
    handler(snapshot('2024-11-20 14:03:20.000000', [20, 40, 60, 80]), ctx);
    let out = handler(snapshot('2024-11-20 14:03:40.000000', [30, 0, 0, 100]), ctx);
    // cpu0 (10+20+30)/3 = 20; cpu1 (20+40+0)/3 = 20; cpu2 (30+60+0)/3 = 30; cpu3 (40+80+100)/3 = 73.333...
    expect(avgs(out).slice(0, 3)).toEqual([20, 20, 30]);
    expect(out['avg-util-cpu3-60sec']).toBeCloseTo(220 / 3, 12);

    // t = 65 s: the 0 s sample is 65 s old, out. Left: 20 s, 40 s, 65 s.
    out = handler(snapshot('2024-11-20 14:04:05.000000', [40, 20, 30, 60]), ctx);
    // cpu0 (20+30+40)/3 = 30; cpu1 (40+0+20)/3 = 20; cpu2 (60+0+30)/3 = 30; cpu3 (80+100+60)/3 = 80
    expect(avgs(out)).toEqual([30, 20, 30, 80]);

    // t = 130 s: 20 s and 40 s are out (110 s, 90 s old); 65 s is 65 s old, out too. Only itself.
    out = handler(snapshot('2024-11-20 14:05:10.000000', [1, 2, 3, 4]), ctx);
    expect(avgs(out)).toEqual([1, 2, 3, 4]);
  });

  it('drops a sample exactly 60 s old and keeps one 59.999999 s old (window is (t-60s, t])', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00.000000', [10]), ctx);
    handler(snapshot('2024-11-20 14:03:00.000001', [20]), ctx);
    // At 14:04:00.000000 the first sample is exactly 60 s old: out.
    // The second is 59.999999 s old: in. Mean (20 + 50) / 2 = 35.
    const out = handler(snapshot('2024-11-20 14:04:00.000000', [50]), ctx);
    expect(out['avg-util-cpu0-60sec']).toBe(35);
  });

  it('reads timestamps without a fraction, as Python prints them when microseconds are 0', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00', [10]), ctx);
    // 59.5 s later: both in, (10 + 30) / 2 = 20.
    expect(handler(snapshot('2024-11-20 14:03:59.5', [30]), ctx)['avg-util-cpu0-60sec']).toBe(20);
    // At 14:04:00 the first is exactly 60 s old: out; (30 + 50) / 2 = 40.
    expect(handler(snapshot('2024-11-20 14:04:00', [50]), ctx)['avg-util-cpu0-60sec']).toBe(40);
  });

  it('crosses midnight and month ends by calendar, not by string', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-30 23:59:30.000000', [10]), ctx);
    // 2024-12-01 00:00:20 is 50 s later: (10 + 20) / 2 = 15.
    expect(handler(snapshot('2024-12-01 00:00:20.000000', [20]), ctx)['avg-util-cpu0-60sec']).toBe(15);
  });

  it('does not count a repeated timestamp twice', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00.000000', [10]), ctx);
    const first = handler(snapshot('2024-11-20 14:03:05.000000', [30]), ctx);
    // The runtime calls again with the same snapshot: (10 + 30) / 2 = 20, not (10+30+30)/3.
    const again = handler(snapshot('2024-11-20 14:03:05.000000', [30]), ctx);
    expect(first['avg-util-cpu0-60sec']).toBe(20);
    expect(again['avg-util-cpu0-60sec']).toBe(20);
    expect(ctx.env.cpuHistory).toHaveLength(2);
  });

  it('resets the history when time goes backwards', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00.000000', [10]), ctx);
    handler(snapshot('2024-11-20 14:03:10.000000', [20]), ctx);
    // Agent restarted with a clock 1 s behind: only the new sample counts.
    let out = handler(snapshot('2024-11-20 14:03:09.000000', [90]), ctx);
    expect(out['avg-util-cpu0-60sec']).toBe(90);
    // And the history goes on from there: (90 + 70) / 2 = 80.
    out = handler(snapshot('2024-11-20 14:03:14.000000', [70]), ctx);
    expect(out['avg-util-cpu0-60sec']).toBe(80);
  });

  it('handles 8 CPUs', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00.000000', [0, 10, 20, 30, 40, 50, 60, 70]), ctx);
    const out = handler(snapshot('2024-11-20 14:03:30.000000', [100, 90, 80, 70, 60, 50, 40, 30]), ctx);
    expect(Object.keys(out)).toHaveLength(8 + 2);
    // Each pair sums to 100, 100, 100, 100, 100, 100, 100, 100 -> mean 50 for every CPU.
    expect(avgs(out)).toEqual([50, 50, 50, 50, 50, 50, 50, 50]);
    expect(out['avg-util-cpu7-60sec']).toBe(50);
  });

  it('averages each CPU over the samples that have it when the CPU count changes', () => {
    const ctx = newContext();
    handler(snapshot('2024-11-20 14:03:00.000000', [10, 20]), ctx);
    const out = handler(snapshot('2024-11-20 14:03:05.000000', [30, 40, 50, 60]), ctx);
    // cpu0 (10+30)/2 = 20; cpu1 (20+40)/2 = 30; cpu2 and cpu3 only have this sample.
    expect(avgs(out)).toEqual([20, 30, 50, 60]);
  });

  it('reports a CPU whose value is not a number as null', () => {
    const out = handler(snapshot('2024-11-20 14:03:00.000000', [10], { 'cpu_percent-1': null }), newContext());
    expect(out['avg-util-cpu0-60sec']).toBe(10);
    expect(out['avg-util-cpu1-60sec']).toBeNull();
  });

  it('rejects an input without a usable timestamp, with a message that says why', () => {
    expect(() => handler(snapshot('20/11/2024 14:03', [1]), newContext())).toThrow(/input\.timestamp must look like/);
    const noTime = snapshot('x', [1]);
    delete noTime.timestamp;
    expect(() => handler(noTime, newContext())).toThrow(/got undefined/);
  });
});

describe('course reference: context.env', () => {
  it('gives the same results when env goes through JSON between every call', () => {
    const times = [
      '14:03:00.000000',
      '14:03:20.500000',
      '14:03:20.500000',
      '14:03:59.999999',
      '14:04:20.500000',
      '14:04:10.000000',
      '14:04:30.000000',
    ];
    const inputs = times.map((time, i) => snapshot(`2024-11-20 ${time}`, [i * 10, 100 - i * 7, 3.3 * i, 50]));

    const live = newContext();
    let persisted = newContext();
    for (const input of inputs) {
      const expected = handler(input, live);
      // What redlet does between calls: save env as JSON, load it back.
      persisted = { env: JSON.parse(JSON.stringify(persisted.env)) as Record<string, unknown> };
      expect(handler(input, persisted)).toEqual(expected);
    }
    expect(JSON.parse(JSON.stringify(persisted.env))).toEqual(live.env);
  });

  it('keeps the history bounded to the window', () => {
    const ctx = newContext();
    // Ten minutes of samples every 5 s.
    for (let s = 0; s < 600; s += 5) {
      const mm = String(Math.floor(s / 60)).padStart(2, '0');
      const ss = String(s % 60).padStart(2, '0');
      handler(snapshot(`2024-11-20 15:${mm}:${ss}.000000`, [s]), ctx);
    }
    // (t-60 s, t] holds 12 samples at a 5 s period.
    expect(ctx.env.cpuHistory).toHaveLength(12);
  });
});
