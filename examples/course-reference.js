/**
 * The course's reference function ("Task 1"), written for redlet.
 *
 * Input: one `metrics` snapshot from the monitoring agent. Output, for P CPUs:
 *   percent-network-egress   bytes_sent / (bytes_sent + bytes_recv) x 100 (eth0, since boot)
 *   percent-memory-cache     (cached + buffers) / total x 100
 *   avg-util-cpuN-60sec      mean of cpu_percent-N over the samples of the last 60 s
 *
 * Rules worth knowing before you copy this file:
 * - It runs in a bare V8 isolate: no imports, no Node APIs, no timers.
 * - "The last 60 s" is measured on the snapshot's own `timestamp`, not on the
 *   clock of the machine running the function: the runtime may call us late, early
 *   or twice with the same snapshot, and only the agent knows when it measured.
 * - The window is (newest - 60 s, newest]: a sample exactly 60 s older than the
 *   newest one is dropped. With the agent's 5 s period that averages exactly 12
 *   samples, each standing for the 5 s before it, i.e. 60 s of measurements.
 * - The history lives in `context.env`, which redlet saves as JSON between calls.
 *   So it holds only plain arrays and numbers (no Date, no Map), and it is trimmed
 *   on every call so it cannot grow without bound.
 * - A value that cannot be computed (field absent or not a finite number, zero
 *   total) is `null`. JSON would turn NaN/Infinity into null anyway; saying so
 *   here keeps the dashboard from ever seeing a half-broken number.
 * - Values are not rounded: how many decimals to show is the dashboard's choice.
 */

/** The averaging window, in microseconds (the unit of the agent's timestamps). */
const WINDOW_US = 60 * 1_000_000;

/** Python's `str(datetime.now())`; it omits the fraction when microseconds are 0. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

const CPU_KEY = /^cpu_percent-(\d+)$/;

/**
 * @typedef {{ t: number, cpu: (number | null)[] }} Sample
 *   One snapshot in the history: `t` in microseconds (see parseTimestamp), `cpu[N]`
 *   the value of `cpu_percent-N`, null when that snapshot had none.
 */

/**
 * @param {Record<string, unknown>} input one `metrics` snapshot
 * @param {{ env: Record<string, unknown> }} context `env` persists between calls
 * @returns {Record<string, number | null>}
 *
 * @example
 * handler({ timestamp: '2024-11-20 14:03:15.512907', 'cpu_percent-0': 3.4, ... }, { env: {} })
 * // => { 'percent-network-egress': 2.14, 'percent-memory-cache': 41.97, 'avg-util-cpu0-60sec': 3.4 }
 */
export function handler(input, context) {
  const t = parseTimestamp(input.timestamp);
  const cpuIds = Object.keys(input)
    .map((key) => CPU_KEY.exec(key))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);

  /** @type {(number | null)[]} */
  const cpu = [];
  for (const n of cpuIds) cpu[n] = finiteNumber(input[`cpu_percent-${n}`]);
  // Holes (CPU numbers missing from the input) become null right away, as JSON would.
  const sample = { t, cpu: Array.from(cpu, (v) => v ?? null) };
  const history = remember(context.env, sample);

  /** @type {Record<string, number | null>} */
  const result = {
    'percent-network-egress': networkEgressPercent(input),
    'percent-memory-cache': memoryCachePercent(input),
  };
  for (const n of cpuIds) result[`avg-util-cpu${n}-60sec`] = average(history, n);
  return result;
}

/**
 * Turns the agent's naive local time into microseconds on a private scale.
 * Date.UTC is used only as a calendar calculator: treating the wall-clock fields
 * as if they were UTC means no time zone or DST rule of the isolate can shift
 * them, and `Date.parse` never sees this non-ISO format. Integer microseconds
 * (~1.7e15) stay exact in a double, so boundary and duplicate checks are exact.
 * @param {unknown} text
 * @returns {number}
 */
function parseTimestamp(text) {
  const match = typeof text === 'string' ? TIMESTAMP.exec(text) : null;
  if (match === null) {
    // Without a time there is no window; failing loudly beats a silently wrong mean.
    throw new TypeError(`input.timestamp must look like "2024-11-20 14:03:15.512907", got ${JSON.stringify(text)}`);
  }
  const [, year, month, day, hour, minute, second, fraction = ''] = match;
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  return ms * 1000 + Number(fraction.padEnd(6, '0'));
}

/**
 * Adds `sample` to the history in `env` and returns the samples inside the window.
 * @param {Record<string, unknown>} env
 * @param {Sample} sample
 * @returns {Sample[]}
 */
function remember(env, sample) {
  /** @type {Sample[]} */
  let history = Array.isArray(env.cpuHistory) ? env.cpuHistory : [];
  const last = history.at(-1);
  if (last === undefined || sample.t > last.t) {
    history.push(sample);
  } else if (sample.t < last.t) {
    // Time went backwards: the agent restarted or the clock was set back. The old
    // samples are no longer "before" this one, so no window over them makes sense.
    history = [sample];
  }
  // Same timestamp as the last sample: the runtime ran us again on the same
  // snapshot (it does not wait for a new one). Counting it twice would skew the mean.

  // `sample` is always the newest now (a step back reset the history above).
  history = history.filter((s) => sample.t - s.t < WINDOW_US);
  env.cpuHistory = history;
  return history;
}

/**
 * Mean of CPU `n` over the samples that have a value for it; null when none has.
 * @param {Sample[]} history
 * @param {number} n
 */
function average(history, n) {
  let sum = 0;
  let count = 0;
  for (const s of history) {
    const v = s.cpu[n];
    if (typeof v === 'number') {
      sum += v;
      count += 1;
    }
  }
  return count === 0 ? null : sum / count;
}

/** @param {Record<string, unknown>} input */
function networkEgressPercent(input) {
  const sent = netCounter(input, 'bytes_sent');
  const recv = netCounter(input, 'bytes_recv');
  if (sent === null || recv === null || sent + recv <= 0) return null;
  return (sent / (sent + recv)) * 100;
}

/**
 * @param {Record<string, unknown>} input
 * @param {string} name
 */
function netCounter(input, name) {
  const key = `net_io_counters_eth0-${name}`;
  // A widely copied assignment text spelled these keys with a stray trailing "1".
  // The real agent never does, so the real key wins when both are present.
  return finiteNumber(input[key]) ?? finiteNumber(input[`${key}1`]);
}

/** @param {Record<string, unknown>} input */
function memoryCachePercent(input) {
  const total = finiteNumber(input['virtual_memory-total']);
  const cached = finiteNumber(input['virtual_memory-cached']);
  const buffers = finiteNumber(input['virtual_memory-buffers']);
  if (total === null || cached === null || buffers === null || total <= 0) return null;
  return ((cached + buffers) / total) * 100;
}

/**
 * Only real numbers count: a string, null or a missing key is "not measured".
 * @param {unknown} value
 * @returns {number | null}
 */
function finiteNumber(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
