/**
 * The one place that builds redlet's own Redis key names, all under a configurable
 * prefix (default `redlet:`), so a deployment can share a Redis and tests can use a
 * private prefix. Input and output keys are the user's and are not prefixed.
 *
 * A function's own keys carry its name as a Redis Cluster hash tag
 * (`redlet:{avg}:state`), so its settings, code, state, lease and status share one
 * slot: registering it, and committing its state under its lease, are each one atomic
 * step on a cluster too. An output key tagged `{avg}` lands in the same slot, which
 * keeps the output commit atomic on a cluster as well. The shared keys (the function
 * set, the replica set) are single keys, each touched alone.
 *
 * @example
 * const keys = new Keys('redlet:');
 * keys.state('avg'); // 'redlet:{avg}:state'
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** Set of registered function names. */
  functions(): string {
    return `${this.prefix}functions`;
  }

  /** JSON settings and metadata of one function. */
  definition(name: string): string {
    return this.of(name, 'fn');
  }

  /** The function's code: source text, or the ZIP's bytes. */
  code(name: string): string {
    return this.of(name, 'code');
  }

  /** JSON `{env, lastSeen, lastExecution}`: what must survive a restart. */
  state(name: string): string {
    return this.of(name, 'state');
  }

  /** Lease of the replica that runs the function (value: its replica id; expires). */
  owner(name: string): string {
    return this.of(name, 'owner');
  }

  /** Live replicas: a sorted set scored by when each one's heartbeat expires. */
  replicas(): string {
    return `${this.prefix}replicas`;
  }

  /** The owner's latest status snapshot of a function (JSON; expires), for the other replicas' pages. */
  status(name: string): string {
    return this.of(name, 'status');
  }

  /** A capped stream of the function's numeric outputs (the dashboard's chart history). */
  history(name: string): string {
    return `${this.prefix}history:${name}`;
  }

  /** Pub/sub channel announcing registry changes (a function's name) to every replica. */
  events(): string {
    return `${this.prefix}events`;
  }

  /**
   * The names before hash tags (`redlet:state:avg`), for moving a single Redis's keys
   * to the current names at start. Leases and statuses expire by themselves.
   */
  legacy(name: string): { definition: string; code: string; state: string } {
    return { definition: `${this.prefix}fn:${name}`, code: `${this.prefix}code:${name}`, state: `${this.prefix}state:${name}` };
  }

  /** The function whose own key (`redlet:{avg}:state`, ...) `key` is; null for any other key. */
  nameOf(key: string): string | null {
    if (!key.startsWith(`${this.prefix}{`)) return null;
    const close = key.indexOf('}:', this.prefix.length + 1);
    return close === -1 ? null : key.slice(this.prefix.length + 1, close);
  }

  private of(name: string, kind: string): string {
    return `${this.prefix}{${name}}:${kind}`;
  }

  /** Every key of redlet's own under this prefix (for SCAN). */
  all(): string {
    return `${this.prefix}*`;
  }
}

/** The prefix redlet uses when REDLET_PREFIX is not set; always treated as reserved. */
export const DEFAULT_PREFIX = 'redlet:';

const unbraced = (s: string) => s.replace(/[{}]/g, '');

/**
 * True when `key` lies inside one of `prefixes`: with every `{` and `}` removed from
 * both (Redis Cluster hash tags), the key starts with the prefix. Case-sensitive, as
 * Redis keys are. A function's input and output keys must never be reserved.
 *
 * @example
 * isReservedKey('{redlet}:fn:avg', ['redlet:']); // true
 * isReservedKey('metrics', ['redlet:']); // false
 */
export function isReservedKey(key: string, prefixes: readonly string[]): boolean {
  const k = unbraced(key);
  return prefixes.some((p) => k.startsWith(unbraced(p)));
}
