/**
 * Keyspace notifications on Redis Cluster. A node announces only the writes it executes
 * itself, so redlet listens on every primary: one subscriber connection per primary,
 * each subscribed to every watched key's channel. The set of primaries is re-read at
 * each topology refresh of the cluster client (every second, and at once on MOVED or a
 * node error), so a replica promoted by a failover is listened to within about a second.
 * `notify-keyspace-events` is enabled on every node, replicas included, so a promoted
 * replica already announces writes; a node that refuses is named in the status.
 *
 * A watched key is *armed* once the primary serving its slot has confirmed the key's
 * SUBSCRIBE and its flags are settled (enabled, or refused: then the trigger polls).
 * `add` resolves then. When the key's slot moves to another primary, or that primary's
 * connection drops, the key is armed again on the new connection and its listener is
 * called once: a write made while nobody listened is read then.
 *
 * @example
 * const ks = new ClusterKeyspace(cluster, nodeAuth(opts), 'K$g', (key) => fire(key), backoffOf(opts));
 * await ks.add('metrics'); // writes to 'metrics' from now on are announced
 */
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { keySlot } from './key-slot.js';
import type { KeyspaceStatus } from './store.js';

const nodeKey = (r: Redis) => `${r.options.host}:${r.options.port}`;

/** One primary's listening connection and the keys whose SUBSCRIBE it confirmed. */
interface Listener {
  sub: Redis;
  confirmed: Set<string>;
}

export class ClusterKeyspace {
  /** Watched key -> its hash slot. */
  private readonly watched = new Map<string, number>();
  private readonly listeners = new Map<string, Listener>();
  /** Node -> null (flags enabled) or why it refused. */
  private readonly configured = new Map<string, string | null>();
  /** Keys not armed yet -> who waits for it. */
  private readonly waiting = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  /** Watched key -> the primary it was last armed on; null once that arming was lost. */
  private readonly armedOn = new Map<string, string | null>();
  private syncing = false;
  private again = false;
  private closed = false;
  private readonly onTopology = () => void this.sync();
  private readonly onNodeGone = (r: Redis) => {
    // A node that left must be configured again if it comes back (it forgot CONFIG SET).
    this.configured.delete(nodeKey(r));
    void this.sync();
  };

  constructor(
    private readonly cluster: Cluster,
    private readonly auth: Pick<RedisOptions, 'username' | 'password' | 'tls'>,
    private readonly flags: string,
    private readonly onKey: (key: string) => void,
    private readonly backoff: (times: number) => number,
  ) {
    cluster.on('refresh', this.onTopology);
    cluster.on('+node', this.onTopology);
    cluster.on('-node', this.onNodeGone);
  }

  get size(): number {
    return this.watched.size;
  }

  /** Watches `key`; resolves once it is armed (see the module comment). */
  add(key: string): Promise<void> {
    if (!this.watched.has(key)) {
      this.watched.set(key, keySlot(key));
      for (const [address, l] of this.listeners) this.subscribeOn(address, l, key);
      if (this.watched.size === 1) void this.sync();
    }
    return this.armedOn.get(key) ? Promise.resolve() : this.waiter(key);
  }

  remove(key: string): void {
    if (!this.watched.delete(key)) return;
    this.armedOn.delete(key);
    this.waiting.get(key)?.resolve();
    this.waiting.delete(key);
    for (const l of this.listeners.values()) {
      l.confirmed.delete(key);
      l.sub.unsubscribe(channel(key)).catch(() => {});
    }
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
    if (this.listeners.size === 0) return { enabled: false, reason: 'not connected to any cluster primary yet' };
    return { enabled: true };
  }

  close(): void {
    this.closed = true;
    this.cluster.off('refresh', this.onTopology);
    this.cluster.off('+node', this.onTopology);
    this.cluster.off('-node', this.onNodeGone);
    for (const l of this.listeners.values()) l.sub.disconnect();
    this.listeners.clear();
    for (const w of this.waiting.values()) w.resolve();
    this.waiting.clear();
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
      for (const [address, l] of this.listeners) {
        if (primaries.has(address)) continue;
        l.sub.disconnect();
        this.listeners.delete(address);
      }
      for (const address of primaries) if (!this.listeners.has(address)) this.listeners.set(address, this.listen(address));
      await Promise.all(
        this.cluster
          .nodes('all')
          .filter((n) => !this.configured.has(nodeKey(n)))
          .map((n) => this.enable(n)),
      );
      this.settleAll();
    } finally {
      this.syncing = false;
      if (this.again) {
        this.again = false;
        void this.sync();
      }
    }
  }

  private waiter(key: string): Promise<void> {
    let w = this.waiting.get(key);
    if (!w) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting.set(key, (w = { promise, resolve }));
    }
    return w.promise;
  }

  /** Arms `key` when the primary serving its slot confirmed it; a re-arming reads the key once. */
  private settle(key: string): void {
    const slot = this.watched.get(key);
    if (slot === undefined) return;
    const owner = this.cluster.slots[slot]?.[0];
    const before = this.armedOn.get(key);
    if (!owner || !this.listeners.get(owner)?.confirmed.has(key) || !this.configured.has(owner)) {
      // Its slot moved to a primary that has not confirmed it yet: disarmed until it does.
      if (before && before !== owner) this.armedOn.set(key, null);
      return;
    }
    if (before === owner) return;
    this.armedOn.set(key, owner);
    this.waiting.get(key)?.resolve();
    this.waiting.delete(key);
    if (before !== undefined) this.onKey(key);
  }

  private settleAll(): void {
    for (const key of this.watched.keys()) this.settle(key);
  }

  private subscribeOn(address: string, l: Listener, key: string): void {
    l.sub.subscribe(channel(key)).then(
      () => {
        if (this.listeners.get(address) !== l || !this.watched.has(key)) return;
        l.confirmed.add(key);
        this.settle(key);
      },
      () => {
        // Subscribed again when the connection is ready again.
      },
    );
  }

  private listen(address: string): Listener {
    const i = address.lastIndexOf(':');
    const sub = new Redis({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      ...this.auth,
      connectionName: 'redlet-keyspace',
      maxRetriesPerRequest: null,
      retryStrategy: this.backoff,
      // Subscribed below at each 'ready', which also tracks the confirmations.
      autoResubscribe: false,
    });
    const l: Listener = { sub, confirmed: new Set() };
    sub.on('error', () => {
      // A dead primary: the topology refresh replaces it with its promoted replica.
    });
    sub.on('close', () => {
      // Announcements are lost while it is away: the keys armed here are armed anew.
      l.confirmed.clear();
      for (const [key, on] of this.armedOn) if (on === address) this.armedOn.set(key, null);
    });
    sub.on('ready', () => {
      for (const key of this.watched.keys()) this.subscribeOn(address, l, key);
    });
    sub.on('message', (ch: string) => this.onKey(ch.slice(ch.indexOf(':') + 1)));
    return l;
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
