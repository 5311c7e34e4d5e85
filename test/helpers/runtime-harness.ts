/**
 * Runtimes for data-path tests, as hooks of the calling file or describe block: each
 * test gets a private prefix (redlet's own keys under `ownPrefix`, its data keys
 * beside them), a store (a RedisStore on the test Redis, or the embedded MemoryStore)
 * and a configuration for it; the runtimes it starts are stopped after it, before the
 * keys are deleted.
 *
 * @example
 * const bed = useRuntimes({ store: 'redis' });
 * it('runs', async () => {
 *   const rt = await bed.runtime();
 *   await rt.register(bed.fn('add', 'export const handler = (i) => i.a + i.b'));
 * });
 */
import { afterEach, beforeEach } from 'vitest';
import { InProcessSandbox } from '../../sandbox/in-process.js';
import type { Sandbox } from '../../sandbox/types.js';
import { loadConfig, type RuntimeConfig } from '../../src/config.js';
import { Keys } from '../../src/keys.js';
import { Runtime, type RegisterInput } from '../../src/runtime/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { ownPrefix, redisUrl } from './redis.js';
import { useRedis, type RedisTestbed } from './redis-testbed.js';

export interface RuntimeBedOptions {
  store?: 'redis' | 'memory';
  /** Settings every `fn()` starts from (after input `in`, output `out-<name>`, a 0.1 s period, 16 MB). */
  fnDefaults?: RegisterInput['settings'];
}

export interface RuntimeBed {
  readonly redis: RedisTestbed;
  /** This test's store. */
  readonly store: Store;
  /** This test's configuration (no cluster: one runtime owns every function). */
  readonly config: RuntimeConfig;
  /** `${prefix}${name}`: a data key of this test, outside redlet's own. */
  key(name: string): string;
  /** redlet's own keys under this test's prefix. */
  keys(): Keys;
  /** A second connection to the same data: a new RedisStore (closed after the test), or the same MemoryStore. */
  newStore(): Promise<Store>;
  /** A started Runtime, stopped after the test unless the test stops it through `stop`. */
  runtime(store?: Store, config?: RuntimeConfig, sandbox?: Sandbox): Promise<Runtime>;
  /** Stops a runtime during the test (a restart). */
  stop(rt: Runtime, drainMs?: number): Promise<void>;
  /** A function reading `in` and writing `out-<name>` under this test's prefix. */
  fn(name: string, code: string, settings?: RegisterInput['settings']): RegisterInput;
}

export function useRuntimes(opts: RuntimeBedOptions = {}): RuntimeBed {
  const kind = opts.store ?? 'redis';
  const redis = useRedis();
  let store: Store | null = null;
  let config: RuntimeConfig | null = null;
  const runtimes: Runtime[] = [];
  const key = (name: string) => redis.key(name);

  const bed: RuntimeBed = {
    redis,
    get store() {
      if (!store) throw new Error('the store exists only inside a test');
      return store;
    },
    get config() {
      if (!config) throw new Error('the configuration exists only inside a test');
      return config;
    },
    key,
    keys: () => new Keys(ownPrefix(redis.prefix)),
    newStore: async () => (kind === 'redis' ? redis.store() : bed.store),
    async runtime(s = bed.store, c = bed.config, sandbox: Sandbox = new InProcessSandbox()) {
      const rt = new Runtime({ config: c, store: s, sandbox });
      runtimes.push(rt);
      await rt.start();
      return rt;
    },
    async stop(rt, drainMs = 1000) {
      const i = runtimes.indexOf(rt);
      if (i >= 0) runtimes.splice(i, 1);
      await rt.stop(drainMs);
    },
    fn: (name, code, settings = {}) => ({
      name,
      origin: 'api',
      source: { kind: 'file', filename: `${name}.js`, code },
      settings: { inputKey: key('in'), outputKey: key(`out-${name}`), period: 0.1, memoryMb: 16, ...opts.fnDefaults, ...settings },
    }),
  };

  beforeEach(async () => {
    config = {
      ...loadConfig({ REDLET_PREFIX: ownPrefix(redis.prefix) }),
      redis: kind === 'redis' ? { url: redisUrl(), host: '127.0.0.1', port: 6379 } : null,
      cluster: null,
    };
    store = kind === 'redis' ? await redis.store() : new MemoryStore();
  });
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.stop(1000);
    if (kind === 'memory') await store?.close();
    store = null;
    config = null;
  });
  return bed;
}
