/**
 * Reads one `metrics` snapshot from Linux `/proc`, in the exact shape the course's
 * Python monitoring agent (psutil) writes: same keys, same order, same units, same
 * formulas. Where that agent is absent, `redlet collect` writes this instead, so
 * every function written against the course's input keeps working unchanged.
 *
 * Number types: counters and bytes are integers; `cpu_percent-N`,
 * `cpu_freq_current` and `virtual_memory-percent` are floats rounded like Python's
 * `round(x, 1)`. JSON from JavaScript writes a whole float as `12`, where Python
 * writes `12.0`; every JSON reader gives back the same number, so this is accepted.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Cumulative per-CPU jiffies from one read of `/proc/stat`; hand it back as `prev`. */
export interface CpuSample {
  /** One entry per `cpuN` line, in file order; `id` is the kernel's N. */
  readonly cpus: ReadonlyArray<{ readonly id: number; readonly total: number; readonly busy: number }>;
}

/** Where to read and which interface to report. */
export interface HostMetricsOptions {
  /** The interface whose counters fill the `net_io_counters_eth0-*` keys. */
  netInterface: string;
  /** Default `/proc`; tests point it at a fixture folder. */
  procRoot?: string;
  /** Default `/sys`; only read for the CPU clock when `/proc/cpuinfo` has none. */
  sysRoot?: string;
  /** Clock for `timestamp`; tests pass a fixed one. */
  now?: () => Date;
}

/** One snapshot, the CPU counters to pass as the next `prev`, and what to tell the operator. */
export interface HostMetricsResult {
  metrics: Record<string, string | number>;
  sample: CpuSample;
  /** Non-fatal surprises, e.g. the interface fallback; the same text on every call, so callers can log each once. */
  warnings: string[];
}

/**
 * Reads one snapshot. `cpu_percent-N` covers the time since `prev` was read; with
 * no `prev` it covers the time since boot (psutil's first call has no better answer).
 *
 * @example
 * let prev: CpuSample | null = null;
 * const { metrics, sample, warnings } = await readHostMetrics(prev, { netInterface: 'eth0' });
 * prev = sample;
 * await redis.set('metrics', JSON.stringify(metrics));
 */
export async function readHostMetrics(prev: CpuSample | null, opts: HostMetricsOptions): Promise<HostMetricsResult> {
  const procRoot = opts.procRoot ?? '/proc';
  const now = (opts.now ?? (() => new Date()))();
  const [stat, meminfo, netDev, cpuinfo, nPids] = await Promise.all([
    readFile(path.join(procRoot, 'stat'), 'utf8'),
    readFile(path.join(procRoot, 'meminfo'), 'utf8'),
    readOptional(path.join(procRoot, 'net/dev')),
    readOptional(path.join(procRoot, 'cpuinfo')),
    countPids(procRoot),
  ]);
  const warnings: string[] = [];
  const sample = parseCpuSample(stat);
  const counters = parseStatCounters(stat);
  const mem = virtualMemory(parseMeminfo(meminfo));
  const net = pickInterface(netDev === null ? new Map() : parseNetDev(netDev), opts.netInterface, warnings);

  const metrics: Record<string, string | number> = { timestamp: formatTimestamp(now) };
  // Position, not kernel id, names the key: psutil enumerates the online CPUs, and
  // consumers expect cpu_percent-0..P-1 without gaps even when a CPU is offline.
  sample.cpus.forEach((cpu, i) => {
    const before = prev?.cpus.find((p) => p.id === cpu.id) ?? { total: 0, busy: 0 };
    metrics[`cpu_percent-${i}`] = cpuPercent(before, cpu);
  });
  metrics['cpu_freq_current'] = await cpuFreqMhz(cpuinfo, opts.sysRoot ?? '/sys');
  metrics['cpu_stats-ctx_switches'] = counters.ctxt;
  metrics['cpu_stats-interrupts'] = counters.intr;
  metrics['cpu_stats-soft_interrupts'] = counters.softirq;
  metrics['cpu_stats-syscalls'] = 0; // psutil reports 0 on Linux: the kernel has no such counter
  for (const [key, value] of Object.entries(mem)) metrics[`virtual_memory-${key}`] = value;
  metrics['n_pids'] = nPids;
  // The key always says eth0, whatever the interface: the course's consumers (and
  // the reference function) look for exactly these names.
  for (const [key, value] of Object.entries(net)) metrics[`net_io_counters_eth0-${key}`] = value;
  return { metrics, sample, warnings };
}

/** Python's `str(datetime.now())`, local time. JS clocks stop at milliseconds, so the last three digits are 000. */
function formatTimestamp(d: Date): string {
  const p = (n: number, width = 2): string => String(n).padStart(width, '0');
  const date = `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${date} ${time}.${p(d.getMilliseconds() * 1000, 6)}`;
}

/** Python's `round(x, 1)`: exact binary value, and exact ties (x.x5 only when x*4 is odd) go to even. */
function round1(x: number): number {
  if (Number.isInteger(x * 4) && !Number.isInteger(x * 2)) {
    const down = Math.floor(x * 10);
    return (down % 2 === 0 ? down : down + 1) / 10;
  }
  return Number(x.toFixed(1));
}

function parseCpuSample(stat: string): CpuSample {
  const cpus: { id: number; total: number; busy: number }[] = [];
  for (const line of stat.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice; old kernels stop early.
    const f = (match[2] ?? '').trim().split(/\s+/).map(Number);
    const at = (i: number): number => f[i] ?? 0;
    // guest time is already inside user/nice, so psutil leaves it out of the total.
    const total = f.reduce((a, b) => a + b, 0) - at(8) - at(9);
    cpus.push({ id: Number(match[1]), total, busy: total - at(3) - at(4) });
  }
  return { cpus };
}

/** psutil's `_cpu_calc_percent`: no progress (or a counter reset) reads as 0.0. */
function cpuPercent(before: { total: number; busy: number }, after: { total: number; busy: number }): number {
  const busy = after.busy - before.busy;
  const all = after.total - before.total;
  if (busy <= 0 || all <= 0) return 0;
  return round1(Math.min(100, (busy / all) * 100));
}

function parseStatCounters(stat: string): { ctxt: number; intr: number; softirq: number } {
  const first = (name: string): number => {
    const match = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(stat);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  };
  return { ctxt: first('ctxt'), intr: first('intr'), softirq: first('softirq') };
}

/** `/proc/meminfo` as bytes; every field we use is in kB. */
function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+):\s+(\d+)/.exec(line);
    if (match?.[1] !== undefined) fields.set(match[1], Number(match[2]) * 1024);
  }
  return fields;
}

/** psutil's Linux `virtual_memory()`, field for field, in its output order. */
function virtualMemory(m: Map<string, number>): Record<string, number> {
  const get = (key: string): number => m.get(key) ?? 0;
  const total = get('MemTotal');
  const free = get('MemFree');
  const buffers = get('Buffers');
  // Like `free`, psutil counts reclaimable slab as cache.
  const cached = get('Cached') + get('SReclaimable');
  let used = total - free - buffers - cached;
  // Negative inside some containers (LXC) where the numbers mix host and guest.
  if (used < 0) used = total - free;
  // Kernels before 3.14 lack MemAvailable; free + cached is psutil's last-resort estimate.
  let available = m.get('MemAvailable') ?? free + cached;
  available = Math.min(Math.max(available, 0), total);
  const percent = total > 0 ? round1(((total - available) / total) * 100) : 0;
  return {
    total,
    available,
    percent,
    used,
    free,
    active: get('Active'),
    inactive: get('Inactive'),
    buffers,
    cached,
    shared: get('Shmem'),
    slab: get('Slab'),
  };
}

type NetCounters = Record<
  'bytes_sent' | 'bytes_recv' | 'packets_sent' | 'packets_recv' | 'errin' | 'errout' | 'dropin' | 'dropout',
  number
>;

/** `/proc/net/dev`, interfaces in file order. */
function parseNetDev(text: string): Map<string, NetCounters> {
  const result = new Map<string, NetCounters>();
  for (const line of text.split('\n').slice(2)) {
    // Big counters can touch the colon ("eth0:123456"), so split on it, as psutil does.
    const colon = line.lastIndexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    const at = (i: number): number => f[i] ?? 0;
    result.set(line.slice(0, colon).trim(), {
      bytes_sent: at(8),
      bytes_recv: at(0),
      packets_sent: at(9),
      packets_recv: at(1),
      errin: at(2),
      errout: at(10),
      dropin: at(3),
      dropout: at(11),
    });
  }
  return result;
}

function pickInterface(interfaces: Map<string, NetCounters>, wanted: string, warnings: string[]): NetCounters {
  const exact = interfaces.get(wanted);
  if (exact !== undefined) return exact;
  const fallback = [...interfaces.keys()].find((name) => name !== 'lo');
  const counters = fallback === undefined ? undefined : interfaces.get(fallback);
  if (fallback !== undefined && counters !== undefined) {
    warnings.push(`network interface "${wanted}" not found; reporting "${fallback}" under the net_io_counters_eth0-* keys`);
    return counters;
  }
  warnings.push(`network interface "${wanted}" not found and no other non-loopback interface exists; net_io_counters_eth0-* are 0`);
  return { bytes_sent: 0, bytes_recv: 0, packets_sent: 0, packets_recv: 0, errin: 0, errout: 0, dropin: 0, dropout: 0 };
}

/**
 * Mean "cpu MHz" over all CPUs in /proc/cpuinfo (x86); else cpu0's cpufreq in sysfs
 * (ARM has no MHz line); else 0.0, as psutil would report no frequency.
 */
async function cpuFreqMhz(cpuinfo: string | null, sysRoot: string): Promise<number> {
  const mhz = [...(cpuinfo ?? '').matchAll(/^cpu MHz\s*:\s*([\d.]+)/gim)].map((m) => Number(m[1]));
  if (mhz.length > 0) return mhz.reduce((a, b) => a + b, 0) / mhz.length;
  const khz = Number((await readOptional(path.join(sysRoot, 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq'))) ?? NaN);
  return Number.isFinite(khz) ? khz / 1000 : 0;
}

/** psutil's `len(pids())`: the numeric entries of /proc. */
async function countPids(procRoot: string): Promise<number> {
  const entries = await readdir(procRoot, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).length;
}

/** A file that some kernels or containers lack: null instead of ENOENT. */
async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
