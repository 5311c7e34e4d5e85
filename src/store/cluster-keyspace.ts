/**
 * Keyspace notifications on Redis Cluster. A node announces only the writes it executes
 * itself, so redlet listens on every primary: one subscriber connection per primary,
 * each subscribed to every watched key's channel. The set of primaries is re-read at
 * each topology refresh of the cluster client (every second, and at once on MOVED or a
 * node error), so a replica promoted by a failover is listened to within about a second.
 * `notify-keyspace-events` is enabled on every node, replicas included, so a promoted
 * replica already announces writes; a node that refuses is named in the status.
 *
 * @example
 * const ks = new ClusterKeyspace(cluster, nodeAuth(opts), 'K$g', (key) => fire(key), backoffOf(opts));
 * ks.add('metrics');
 */
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { KeyspaceStatus } from './store.js';

const nodeKey = (r: Redis) => `${r.options.host}:${r.options.port}`;

export class ClusterKeyspace {
  private readonly watched = new Set<string>();
  private readonly subscribers = new Map<string, Redis>();
  /** Node -> null (flags enabled) or why it refused. */
  private readonly configured = new Map<string, string | null>();
  private syncing = false;
  private again = false;
  private closed = false;
  private readonly onTopology = () => void this.sync();

  constructor(
    private readonly cluster: Cluster,
    private readonly auth: Pick<RedisOptions, 'username' | 'password' | 'tls'>,
    private readonly flags: string,
    private readonly onKey: (key: string) => void,
    private readonly backoff: (times: number) => number,
  ) {
    cluster.on('refresh', this.onTopology);
    cluster.on('+node', this.onTopology);
    cluster.on('-node', (r: Redis) => {
      // A node that left must be configured again if it comes back (it forgot CONFIG SET).
      this.configured.delete(nodeKey(r));
      void this.sync();
    });
  }

  get size(): number {
    return this.watched.size;
  }

  add(key: string): void {
    if (this.watched.has(key)) return;
    this.watched.add(key);
    for (const sub of this.subscribers.values()) sub.subscribe(channel(key)).catch(() => {});
    if (this.watched.size === 1) void this.sync();
  }

  remove(key: string): void {
    if (!this.watched.delete(key)) return;
    for (const sub of this.subscribers.values()) sub.unsubscribe(channel(key)).catch(() => {});
  }

  status(): KeyspaceStatus {
    if (this.watched.size === 0) return { enabled: false, reason: 'no key is watched yet' };
    const refused = [...this.configured].filter(([, why]) => why !== null);
    if (refused.length > 0) {
      const list = refused.map(([node, why]) => `${node} (${why})`).join(', ');
      return {
        enabled: false,
        reason:
          `could not enable Redis keyspace notifications on ${list}; ask the Redis administrator to set ` +
          `notify-keyspace-events to include '${this.flags}' on every cluster node, or use the poll trigger`,
      };
    }
    if (this.subscribers.size === 0) return { enabled: false, reason: 'not connected to any cluster primary yet' };
    return { enabled: true };
  }

  close(): void {
    this.closed = true;
    this.cluster.off('refresh', this.onTopology);
    this.cluster.off('+node', this.onTopology);
    for (const sub of this.subscribers.values()) sub.disconnect();
    this.subscribers.clear();
  }

  /** Listens on every current primary and on no former one; enables the flags on new nodes. */
  async sync(): Promise<void> {
    if (this.closed || this.watched.size === 0) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    try {
      const primaries = new Set(this.cluster.nodes('master').map(nodeKey));
      for (const [key, sub] of this.subscribers) {
        if (primaries.has(key)) continue;
        sub.disconnect();
        this.subscribers.delete(key);
      }
      for (const key of primaries) if (!this.subscribers.has(key)) this.subscribers.set(key, this.listen(key));
      await Promise.all(
        this.cluster
          .nodes('all')
          .filter((n) => !this.configured.has(nodeKey(n)))
          .map((n) => this.enable(n)),
      );
    } finally {
      this.syncing = false;
      if (this.again) {
        this.again = false;
        void this.sync();
      }
    }
  }

  private listen(address: string): Redis {
    const i = address.lastIndexOf(':');
    const sub = new Redis({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      ...this.auth,
      connectionName: 'redlet-keyspace',
      maxRetriesPerRequest: null,
      retryStrategy: this.backoff,
    });
    sub.on('error', () => {
      // A dead primary: the topology refresh replaces it with its promoted replica.
    });
    sub.on('message', (ch: string) => this.onKey(ch.slice(ch.indexOf(':') + 1)));
    for (const key of this.watched) sub.subscribe(channel(key)).catch(() => {});
    return sub;
  }

  /** Adds the flags redlet needs to the node's notify-keyspace-events, keeping the rest. */
  private async enable(node: Redis): Promise<void> {
    const key = nodeKey(node);
    try {
      const [, current = ''] = (await node.config('GET', 'notify-keyspace-events')) as [string, string];
      const has = (f: string) => current.includes(f) || (f !== 'K' && f !== 'E' && current.includes('A'));
      const missing = [...this.flags].filter((f) => !has(f));
      if (missing.length > 0) await node.config('SET', 'notify-keyspace-events', current + missing.join(''));
      this.configured.set(key, null);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      // Unreachable is not refusal: try again at the next refresh.
      if (/closed|ECONNREFUSED|timeout|ETIMEDOUT|not ready|Stream isn't writeable/i.test(why)) return;
      this.configured.set(key, why);
    }
  }
}

/** Cluster nodes have one database, 0. */
function channel(key: string): string {
  return `__keyspace@0__:${key}`;
}
