/**
 * readHostMetrics against a hand-written /proc in a temp folder (every expected
 * number worked out by hand next to it), then once against the real /proc to pin
 * the key set, order and types to the course agent's example.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readHostMetrics, type CpuSample } from './host-metrics.js';

const exampleFile = fileURLToPath(new URL('../../test/fixtures/metrics-example.json', import.meta.url));

// Columns: user nice system idle iowait irq softirq steal guest guest_nice.
const STAT_1 = `cpu  500 20 130 2000 150 0 0 0 40 0
cpu0 100 0 50 800 50 0 0 0 0 0
cpu1 300 20 80 500 100 0 0 0 40 0
cpu2 49 0 0 351 0 0 0 0 0 0
cpu3 51 0 0 349 0 0 0 0 0 0
intr 123456 1 2 3
ctxt 987654321
btime 1700000000
processes 4242
procs_running 2
procs_blocked 0
softirq 55555 1 2 3
`;
// Since STAT_1: cpu0 +30 user +10 system +150 idle +10 iowait; cpu1 +60 user (20 of
// it guest) +20 nice +20 system +180 idle +20 iowait; cpu2 unchanged; cpu3 idle only.
const STAT_2 = STAT_1.replace('cpu0 100 0 50 800 50', 'cpu0 130 0 60 950 60')
  .replace('cpu1 300 20 80 500 100 0 0 0 40', 'cpu1 360 40 100 680 120 0 0 0 60')
  .replace('cpu3 51 0 0 349', 'cpu3 51 0 0 449');

const MEMINFO = `MemTotal:       16000000 kB
MemFree:         4000000 kB
MemAvailable:    9000000 kB
Buffers:          500000 kB
Cached:          3000000 kB
SwapCached:         1111 kB
Active:          6000000 kB
Inactive:        2500000 kB
Active(anon):       2222 kB
Shmem:             12345 kB
Slab:             400000 kB
SReclaimable:     250000 kB
HugePages_Total:       0
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  ens5: 5000000    4000    1    2    0     0          0         0  3000000    2500    3    4    0     0       0          0
  eth0:123456789  98765    5    6    0     0          0         0 987654321   54321    7    8    0     0       0          0
`;

const CPUINFO = `processor\t: 0
cpu MHz\t\t: 2400.000

processor\t: 1
cpu MHz\t\t: 2600.500
`;

const NOV_20 = (): Date => new Date(2024, 10, 20, 14, 3, 15, 512);

let root: string;
let proc: string;
let sys: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'redlet-proc-'));
  proc = path.join(root, 'proc');
  sys = path.join(root, 'sys');
  await mkdir(path.join(proc, 'net'), { recursive: true });
  await mkdir(sys);
  await writeFile(path.join(proc, 'stat'), STAT_1);
  await writeFile(path.join(proc, 'meminfo'), MEMINFO);
  await writeFile(path.join(proc, 'net/dev'), NET_DEV);
  await writeFile(path.join(proc, 'cpuinfo'), CPUINFO);
  // Three processes; "sys" is not a pid and "self" is a link, as in the real /proc.
  for (const pid of ['1', '42', '1337', 'sys']) await mkdir(path.join(proc, pid));
  await symlink('42', path.join(proc, 'self'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function read(prev: CpuSample | null, netInterface = 'eth0') {
  return readHostMetrics(prev, { netInterface, procRoot: proc, sysRoot: sys, now: NOV_20 });
}

describe('readHostMetrics on a fixture /proc', () => {
  it('writes the agent JSON exactly: keys, order, values, integer/float', async () => {
    const { metrics, warnings } = await read(null);
    expect(warnings).toEqual([]);
    // Since boot (no prev):
    //   cpu0 total 100+50+800+50 = 1000, busy 1000-800-50 = 150       -> 15.0
    //   cpu1 total 300+20+80+500+100+40 - 40 guest = 1000, busy 400     -> 40.0
    //   cpu2 total 400, busy 49 -> 12.25, an exact tie: Python rounds to even -> 12.2
    //   cpu3 total 400, busy 51 -> 12.75, a tie again, to even             -> 12.8
    // freq (2400 + 2600.5) / 2 = 2500.25
    // memory, kB x 1024: total 16000000 -> 16384000000; available 9000000 -> 9216000000;
    //   percent (16000000-9000000)/16000000 = 43.75 -> 43.8; cached 3000000+250000 = 3250000
    //   -> 3328000000; used 16000000-4000000-500000-3250000 = 8250000 -> 8448000000;
    //   free 4096000000; active 6144000000; inactive 2560000000; buffers 512000000;
    //   shared 12345 -> 12641280; slab 400000 -> 409600000
    // net: eth0's transmit columns 8..11 and receive columns 0..3.
    expect(JSON.stringify(metrics)).toBe(
      '{"timestamp":"2024-11-20 14:03:15.512000",' +
        '"cpu_percent-0":15,"cpu_percent-1":40,"cpu_percent-2":12.2,"cpu_percent-3":12.8,' +
        '"cpu_freq_current":2500.25,' +
        '"cpu_stats-ctx_switches":987654321,"cpu_stats-interrupts":123456,"cpu_stats-soft_interrupts":55555,"cpu_stats-syscalls":0,' +
        '"virtual_memory-total":16384000000,"virtual_memory-available":9216000000,"virtual_memory-percent":43.8,' +
        '"virtual_memory-used":8448000000,"virtual_memory-free":4096000000,"virtual_memory-active":6144000000,' +
        '"virtual_memory-inactive":2560000000,"virtual_memory-buffers":512000000,"virtual_memory-cached":3328000000,' +
        '"virtual_memory-shared":12641280,"virtual_memory-slab":409600000,' +
        '"n_pids":3,' +
        '"net_io_counters_eth0-bytes_sent":987654321,"net_io_counters_eth0-bytes_recv":123456789,' +
        '"net_io_counters_eth0-packets_sent":54321,"net_io_counters_eth0-packets_recv":98765,' +
        '"net_io_counters_eth0-errin":5,"net_io_counters_eth0-errout":7,' +
        '"net_io_counters_eth0-dropin":6,"net_io_counters_eth0-dropout":8}',
    );
  });

  it('computes cpu_percent over the interval since prev', async () => {
    const first = await read(null);
    await writeFile(path.join(proc, 'stat'), STAT_2);
    const { metrics } = await read(first.sample);
    // cpu0: total +30+10+150+10 = 200, busy +40                 -> 20.0
    // cpu1: total +60+20+20+180+20 = 300 (guest +20 left out), busy +100 -> 33.33 -> 33.3
    // cpu2: nothing moved -> 0.0; cpu3: only idle moved -> 0.0
    expect([0, 1, 2, 3].map((n) => metrics[`cpu_percent-${n}`])).toEqual([20, 33.3, 0, 0]);
  });

  it('numbers CPUs by position and matches prev by kernel id when one goes offline', async () => {
    const first = await read(null);
    // cpu1 and cpu3 offline; cpu2 +100 user +100 idle: busy 100 of 200 -> 50.0
    await writeFile(path.join(proc, 'stat'), STAT_1.replace(/^cpu[13] .*\n/gm, '').replace('cpu2 49 0 0 351', 'cpu2 149 0 0 451'));
    const { metrics } = await read(first.sample);
    expect(Object.keys(metrics).filter((k) => k.startsWith('cpu_percent-'))).toEqual(['cpu_percent-0', 'cpu_percent-1']);
    expect(metrics['cpu_percent-0']).toBe(0);
    expect(metrics['cpu_percent-1']).toBe(50);
  });

  it('reports another interface under the eth0 keys', async () => {
    const { metrics, warnings } = await read(null, 'ens5');
    expect(warnings).toEqual([]);
    expect(metrics['net_io_counters_eth0-bytes_sent']).toBe(3000000);
    expect(metrics['net_io_counters_eth0-bytes_recv']).toBe(5000000);
    expect(metrics['net_io_counters_eth0-dropout']).toBe(4);
  });

  it('falls back to the first non-loopback interface, with a warning', async () => {
    const { metrics, warnings } = await read(null, 'wlan9');
    expect(metrics['net_io_counters_eth0-bytes_recv']).toBe(5000000); // ens5, listed before eth0
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"wlan9" not found; reporting "ens5"/);
  });

  it('reports zeros, with a warning, when there is only loopback or no net/dev', async () => {
    await writeFile(path.join(proc, 'net/dev'), NET_DEV.split('\n').slice(0, 3).join('\n'));
    const onlyLo = await read(null, 'wlan9');
    expect(onlyLo.metrics['net_io_counters_eth0-bytes_sent']).toBe(0);
    expect(onlyLo.warnings[0]).toMatch(/no other non-loopback interface/);

    await rm(path.join(proc, 'net/dev'));
    const none = await read(null);
    expect(none.metrics['net_io_counters_eth0-packets_recv']).toBe(0);
    expect(none.warnings).toHaveLength(1);
  });

  it('follows psutil without MemAvailable and when used would be negative (containers)', async () => {
    await writeFile(path.join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemFree: 600 kB\nBuffers: 300 kB\nCached: 200 kB\n');
    const { metrics } = await read(null);
    // used 1000-600-300-200 = -100 < 0 -> total - free = 400 kB = 409600
    expect(metrics['virtual_memory-used']).toBe(409600);
    // available: free + cached = 800 kB = 819200; percent (1000-800)/1000 = 20.0
    expect(metrics['virtual_memory-available']).toBe(819200);
    expect(metrics['virtual_memory-percent']).toBe(20);
    expect(metrics['virtual_memory-shared']).toBe(0);
    expect(metrics['virtual_memory-slab']).toBe(0);
  });

  it('takes the clock from sysfs when cpuinfo has no MHz, else reports 0', async () => {
    await writeFile(path.join(proc, 'cpuinfo'), 'processor\t: 0\nBogoMIPS\t: 50.00\n');
    await mkdir(path.join(sys, 'devices/system/cpu/cpu0/cpufreq'), { recursive: true });
    await writeFile(path.join(sys, 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq'), '1800000\n');
    expect((await read(null)).metrics['cpu_freq_current']).toBe(1800); // kHz / 1000

    await rm(path.join(sys, 'devices'), { recursive: true });
    await rm(path.join(proc, 'cpuinfo'));
    expect((await read(null)).metrics['cpu_freq_current']).toBe(0);
  });

  it('pads every timestamp field like Python', async () => {
    const { metrics } = await readHostMetrics(null, {
      netInterface: 'eth0',
      procRoot: proc,
      sysRoot: sys,
      now: () => new Date(2024, 0, 2, 3, 4, 5, 6),
    });
    expect(metrics['timestamp']).toBe('2024-01-02 03:04:05.006000');
  });
});

describe.runIf(process.platform === 'linux')('readHostMetrics on the real /proc', () => {
  it('has the example agent keys, in order, with the same types', async () => {
    const exampleText = await readFile(exampleFile, 'utf8');
    const example = JSON.parse(exampleText) as Record<string, unknown>;
    // JSON.parse forgets 12.0 vs 12, so read which keys the agent writes as floats from the raw text.
    const floatKeys = new Set([...exampleText.matchAll(/"([^"]+)":-?\d+\.\d+/g)].map((m) => m[1]));
    const cpuCount = (await readFile('/proc/stat', 'utf8')).split('\n').filter((l) => /^cpu\d+\s/.test(l)).length;

    const expectedKeys: string[] = [];
    for (const key of Object.keys(example)) {
      if (key === 'cpu_percent-0') {
        for (let n = 0; n < cpuCount; n++) expectedKeys.push(`cpu_percent-${n}`);
      } else if (!key.startsWith('cpu_percent-')) {
        expectedKeys.push(key);
      }
    }

    const { metrics } = await readHostMetrics(null, { netInterface: 'eth0' });
    expect(Object.keys(metrics)).toEqual(expectedKeys);
    expect(metrics['timestamp']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    for (const [key, value] of Object.entries(metrics)) {
      if (key === 'timestamp') continue;
      expect(typeof value, key).toBe('number');
      expect(Number.isFinite(value), key).toBe(true);
      expect(value, key).toBeGreaterThanOrEqual(0);
      const exampleKey = key.startsWith('cpu_percent-') ? 'cpu_percent-0' : key;
      if (!floatKeys.has(exampleKey)) expect(Number.isInteger(value), `${key} is an integer`).toBe(true);
    }
    for (let n = 0; n < cpuCount; n++) expect(metrics[`cpu_percent-${n}`]).toBeLessThanOrEqual(100);
    expect(metrics['virtual_memory-percent']).toBeLessThanOrEqual(100);
  });
});
