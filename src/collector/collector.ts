/**
 * The loop behind `redlet collect`: reads host metrics and hands the JSON to a
 * writer (in production a Redis `SET metrics`) at a fixed period.
 *
 * The period is kept against absolute times (start + k * interval), not as a sleep
 * after each write: the course runtime's sleep-after-work drifted against the
 * agent and made functions see a snapshot twice or miss one. A slow cycle skips
 * the ticks it overran instead of firing them in a burst, and cycles never overlap.
 */
import { readHostMetrics, type CpuSample } from './host-metrics.js';

/** Where the collector reports trouble; it never throws out of its loop. */
export interface CollectorLog {
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
}

/** Options of {@link Collector}. */
export interface CollectorOptions {
  intervalMs: number;
  /** Interface reported under the `net_io_counters_eth0-*` keys. */
  netInterface: string;
  write: (json: string) => Promise<void>;
  log?: CollectorLog;
  procRoot?: string;
}

const silent: CollectorLog = { warn: () => {}, error: () => {} };

/**
 * Periodic host-metrics writer.
 *
 * @example
 * const collector = new Collector({
 *   intervalMs: 5000,
 *   netInterface: 'eth0',
 *   write: async (json) => { await redis.set('metrics', json); },
 *   log: { warn: (m) => logger.warn(m), error: (m, err) => logger.error({ err }, m) },
 * });
 * collector.start();
 * process.on('SIGTERM', () => void collector.stop().then(() => process.exit(0)));
 */
export class Collector {
  readonly #opts: CollectorOptions;
  readonly #log: CollectorLog;
  /** Each warning text is logged once: readHostMetrics repeats it on every call. */
  readonly #warned = new Set<string>();
  #prev: CpuSample | null = null;
  /** Tail of the queue that serializes cycles; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #startedAt = 0;
  #tick = 0;
  /** Bumped by start(): a cycle of an earlier start() that finishes late must not reschedule. */
  #run = 0;

  constructor(opts: CollectorOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${opts.intervalMs}`);
    this.#opts = opts;
    this.#log = opts.log ?? silent;
  }

  /** Writes now, then every `intervalMs`. Calling it while running does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    // performance.now() is monotonic: a wall-clock jump must not bunch or stall writes.
    this.#startedAt = performance.now();
    this.#tick = 0;
    this.#run += 1;
    void this.#cycle(this.#run);
  }

  /** Stops the schedule and resolves once an in-flight write has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tail;
  }

  /**
   * Reads and writes one snapshot now, after any cycle in progress; returns the
   * JSON written. Unlike the loop, it rejects when reading or writing fails.
   */
  collectOnce(): Promise<string> {
    const done = this.#tail.then(() => this.#collect());
    this.#tail = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  async #collect(): Promise<string> {
    const { netInterface, procRoot } = this.#opts;
    const { metrics, sample, warnings } = await readHostMetrics(this.#prev, {
      netInterface,
      ...(procRoot === undefined ? {} : { procRoot }),
    });
    // The next percentages cover the time since this read, even if the write fails.
    this.#prev = sample;
    for (const warning of warnings) {
      if (this.#warned.has(warning)) continue;
      this.#warned.add(warning);
      this.#log.warn(warning);
    }
    const json = JSON.stringify(metrics);
    await this.#opts.write(json);
    return json;
  }

  async #cycle(run: number): Promise<void> {
    try {
      await this.collectOnce();
    } catch (err) {
      this.#log.error('collecting host metrics failed; retrying at the next interval', err);
    }
    if (!this.#running || run !== this.#run) return;
    const interval = this.#opts.intervalMs;
    const now = performance.now();
    // The next tick still ahead: skips the ones a slow cycle overran. Never the
    // same tick twice, even if a timer fires a fraction of a millisecond early.
    this.#tick = Math.max(this.#tick + 1, Math.floor((now - this.#startedAt) / interval) + 1);
    const delay = Math.max(0, this.#startedAt + this.#tick * interval - now);
    this.#timer = setTimeout(() => void this.#cycle(run), delay);
  }
}
