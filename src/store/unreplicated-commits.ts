/**
 * Commits that no replica acknowledged in time. On Cluster and Sentinel each commit
 * (a function's state and output, a registration) waits for `WAIT <replicas> <timeout>`
 * (see replica-acks.ts); when fewer replicas answer, the commit still stands on the
 * primary, but a failover before the replica catches up loses it (an input is then
 * handled again). This counts them (for /metrics), tells listeners which key the commit
 * wrote (for the function's status), and warns in the log: the first at once, then at
 * most one line per `everyMs` with the count meanwhile.
 *
 * @example
 * const u = new UnreplicatedCommits({ replicas: 1, timeoutMs: 500, address: 'cluster 10.0.0.1:6379' }, log);
 * u.record('redlet:{avg}:owner', 0);
 * u.total; // 1
 */
import type { Logger } from '../logger.js';

export interface UnreplicatedCommitsOptions {
  /** Replicas each commit waits for (WAIT's first argument). */
  replicas: number;
  timeoutMs: number;
  /** Where redlet's Redis is, in words (RedisStore.address). */
  address: string;
  /** At most one warning per this many ms. Default 60 s. */
  everyMs?: number;
  now?: () => number;
}

export class UnreplicatedCommits {
  /** Since the start of this process. */
  total = 0;
  private readonly listeners = new Set<(key: string) => void>();
  private lastWarnAt = -Infinity;
  /** Counted since the last warning, not yet told. */
  private untold = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(
    private readonly opts: UnreplicatedCommitsOptions,
    private readonly log: Pick<Logger, 'warn'> | null,
  ) {
    this.everyMs = opts.everyMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** One commit (its guard or first key: `key`) that only `acked` replicas acknowledged (null: not waited for). */
  record(key: string, acked: number | null): void {
    this.total++;
    this.untold++;
    for (const l of this.listeners) l(key);
    const wait = this.lastWarnAt + this.everyMs - this.now();
    if (wait <= 0) this.warn(acked);
    else
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.warn(null);
      }, wait).unref();
  }

  /** Calls `listener` with the key of each unacknowledged commit. */
  onRecord(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private warn(acked: number | null): void {
    if (this.untold === 0) return;
    const { replicas, timeoutMs, address } = this.opts;
    const n = this.untold;
    this.untold = 0;
    this.lastWarnAt = this.now();
    const what = n === 1 ? 'a commit' : `${n} commits`;
    const answer = acked === null ? '' : ` (WAIT ${replicas} ${timeoutMs} answered ${acked})`;
    this.log?.warn(
      { redis: address, unreplicatedCommits: n, total: this.total },
      `${what} (function state and output, or registrations) not acknowledged by ${replicas === 1 ? 'a replica' : `${replicas} replicas`} within ${timeoutMs} ms${answer}: ` +
        `the primary holds them, but a failover before its replicas catch up would lose them and the inputs would be handled again; ` +
        `check the replicas of Redis at ${address} (INFO replication)`,
    );
  }
}
