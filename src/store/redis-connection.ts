/**
 * Builds ioredis clients for the three ways to reach Redis: one server (a URL), Redis
 * Sentinel (ioredis asks the sentinels for the current primary and follows failovers)
 * and Redis Cluster (ioredis routes each command to its slot's primary and follows
 * topology changes). Every connection redlet opens goes through here, so credentials
 * and TLS are set in one place.
 *
 * @example
 * const client = createClient(redisStoreOptions(config.redis!), 'commands');
 */
import type { Logger } from '../logger.js';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { HostPort, RedisConfig } from '../config.js';

export interface RedisStoreOptions {
  /** A single Redis (redis:// or rediss://). */
  url?: string;
  /** Redis Cluster seed nodes. */
  cluster?: { nodes: HostPort[] };
  /** Redis Sentinel: the sentinels and the name they monitor the primary under. */
  sentinel?: { sentinels: HostPort[]; name: string; password: string | null };
  /** Data nodes' credentials and TLS (Cluster and Sentinel; a URL carries its own). */
  username?: string | null;
  password?: string | null;
  tls?: boolean;
  /** Keyspace flags redlet needs: K (keyspace channel), $ (string commands), g (DEL, RENAME, ...). */
  keyspaceFlags?: string;
  /** Upper bound of the reconnect backoff, ms. */
  maxBackoffMs?: number;
  /**
   * Replicas that must acknowledge a fenced commit (WAIT) before it counts, so a
   * failover cannot lose it; 0: do not wait. Default: 1 on Cluster and Sentinel, 0 otherwise.
   */
  waitReplicas?: number;
  /** How long a commit waits for that acknowledgement, ms. */
  waitTimeoutMs?: number;
  /** Told once when the connection is lost and once when it is back. */
  log?: Pick<Logger, 'warn'>;
}

export type Mode = 'single' | 'sentinel' | 'cluster';

/** The store options for a validated configuration. */
export function redisStoreOptions(cfg: RedisConfig): RedisStoreOptions {
  if (cfg.cluster) return { cluster: cfg.cluster, username: cfg.username ?? null, password: cfg.password ?? null, tls: cfg.tls ?? false };
  if (cfg.sentinel)
    return { sentinel: cfg.sentinel, username: cfg.username ?? null, password: cfg.password ?? null, tls: cfg.tls ?? false };
  return { url: cfg.url };
}

export function modeOf(opts: RedisStoreOptions): Mode {
  return opts.cluster ? 'cluster' : opts.sentinel ? 'sentinel' : 'single';
}

export function backoffOf(opts: RedisStoreOptions): (times: number) => number {
  return (times: number) => Math.min(50 * 2 ** Math.min(times, 10), opts.maxBackoffMs ?? 2000);
}

/** Credentials and TLS for a direct connection to one node (Cluster nodes, Sentinel's data nodes). */
export function nodeAuth(opts: RedisStoreOptions): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
    ...(opts.tls ? { tls: {} } : {}),
  };
}

/**
 * `commands`: fails fast while Redis is down (no offline queue: a tick must not pile up
 * behind an outage), and (on a single Redis or Sentinel) pipelines automatically: the
 * commands issued in one turn of the event loop (a burst of triggers, a tick's reads)
 * leave in one write. `subscriber`: queues and retries forever (it only listens).
 */
export function createClient(opts: RedisStoreOptions, role: 'commands' | 'subscriber'): Redis | Cluster {
  const backoff = backoffOf(opts);
  const commands = role === 'commands';
  const connectionName = commands ? 'redlet' : 'redlet-keyspace';
  if (opts.cluster) {
    return new Cluster(
      opts.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        enableOfflineQueue: !commands,
        // Not on a Cluster: a batch there must stay within one node's slots, and ioredis
        // cannot tell the keys of a script called with a variable number of them.
        clusterRetryStrategy: backoff,
        // A failover shows up within a second, not at the default five.
        slotsRefreshInterval: 1000,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        redisOptions: { ...nodeAuth(opts), connectionName, maxRetriesPerRequest: commands ? 1 : null },
      },
    );
  }
  if (opts.sentinel) {
    return new Redis({
      sentinels: opts.sentinel.sentinels.map((n) => ({ host: n.host, port: n.port })),
      name: opts.sentinel.name,
      ...(opts.sentinel.password ? { sentinelPassword: opts.sentinel.password } : {}),
      ...nodeAuth(opts),
      ...(opts.tls ? { enableTLSForSentinelMode: true } : {}),
      // A primary demoted while still up answers writes with READONLY: reconnect, and ask
      // the sentinels again. (A dead primary breaks the connection, which does the same.)
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
      sentinelRetryStrategy: backoff,
      retryStrategy: backoff,
      enableOfflineQueue: !commands,
      enableAutoPipelining: commands,
      maxRetriesPerRequest: commands ? 1 : null,
      connectionName,
    });
  }
  return new Redis(opts.url ?? 'redis://127.0.0.1:6379', {
    enableOfflineQueue: !commands,
    enableAutoPipelining: commands,
    maxRetriesPerRequest: commands ? 1 : null,
    retryStrategy: backoff,
    connectionName,
  });
}
