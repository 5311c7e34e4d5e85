// Functions stored under the key names used before hash tags are moved to the current
// names at start, atomically per function, and a second (racing) start does no harm.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Keys } from '../src/keys.js';
import { Registry } from '../src/registry.js';
import { RedisStore } from '../src/store/redis-store.js';
import { deletePrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

let admin: Redis;
let store: RedisStore;
const prefix = testPrefix();
const keys = new Keys(prefix);

beforeAll(async () => {
  admin = redisClient();
  store = new RedisStore({ url: redisUrl() });
  await waitFor(() => store.available, 'ready');
});

afterAll(async () => {
  await store.close();
  await deletePrefix(admin, prefix);
  await admin.quit();
});

it('moves settings, code and state of each function from the old names, once', async () => {
  // A complete definition: one that fails the API's rules would be quarantined, not loaded.
  const def = {
    name: 'old',
    origin: 'api',
    sourceKind: 'file',
    filename: 'old.js',
    codeUpdatedAt: 1,
    createdAt: 1,
    updatedAt: 1,
    paused: false,
    handler: 'handler',
    inputKey: 'metrics',
    outputKey: null,
    trigger: 'poll',
    period: 5,
    invokeOn: 'change',
    memoryMb: 64,
    timeoutMs: 5000,
  };
  const old = keys.legacy('old');
  await admin.set(old.definition, JSON.stringify(def));
  await admin.set(old.code, 'export const handler = () => 1;');
  await admin.set(old.state, '{"lastSeen":"m","lastExecution":1,"env":{"n":7}}');
  await admin.sadd(keys.functions(), 'old');
  const registry = new Registry(store, keys);

  await registry.migrateLegacy(await registry.names());
  const stored = await registry.load('old');
  expect(stored?.quarantined).toBeUndefined();
  expect(stored?.def).toMatchObject(def);
  expect(stored?.state).toMatchObject({ env: '{"n":7}', lastSeen: 'm' });
  expect(await admin.exists(old.definition, old.code, old.state)).toBe(0);

  // A replica that starts late and still sees stale old keys never overwrites newer state.
  await registry.saveState('old', { env: '{"n":8}', lastSeen: 'm2', revision: null, lastExecution: 2 });
  await admin.set(old.state, '{"lastSeen":"m","lastExecution":1,"env":{"n":7}}');
  await registry.migrateLegacy(['old']);
  expect((await registry.load('old'))?.state.env).toBe('{"n":8}');
  expect(await admin.exists(old.state)).toBe(0);
});
