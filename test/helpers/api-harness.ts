/**
 * Test harness for the HTTP API: a Runtime on a private key prefix (real Redis or the
 * embedded store) with its Hono app, requests through `app.request()` (no socket),
 * and a snapshot of every key under the prefix to prove a rejected request left
 * nothing behind.
 */
import JSZip from 'jszip';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { Keys } from '../../src/keys.js';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { InProcessSandbox } from '../../sandbox/in-process.js';
import { loadConfig, type RuntimeConfig } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import type { Logger } from '../../src/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Store } from '../../src/store/store.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './redis.js';
import { waitFor } from './wait.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface HarnessOptions {
  store?: 'redis' | 'memory';
  /** Extra env for loadConfig (REDLET_API_TOKEN is TEST_TOKEN unless set here; '' for none). */
  env?: Record<string, string>;
  log?: Logger;
}

export interface RequestOptions extends Omit<RequestInit, 'body'> {
  /** Sent as application/json. */
  json?: unknown;
  body?: RequestInit['body'];
  /** The bearer token; TEST_TOKEN by default, null for none. */
  token?: string | null;
  /** The client's address as auth.ts sees it under app.request(). */
  remote?: string;
}

export interface ApiHarness {
  prefix: string;
  config: RuntimeConfig;
  runtime: Runtime;
  app: Hono;
  store: Store;
  /** `${prefix}name`: a key private to this test. */
  key(name: string): string;
  /** One of redlet's own keys under this test's REDLET_PREFIX, by kind and function, e.g. `own('fn:add')`, `own('functions')`. */
  own(name: string): string;
  request(path: string, opts?: RequestOptions): Promise<Response>;
  /** Every key under the prefix with its value (DUMP on Redis), for before/after comparisons. */
  snapshot(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

let admin: Redis | null = null;

/** The admin connection tests share (closed by closeAdmin in afterAll). */
export function adminClient(): Redis {
  return (admin ??= redisClient());
}

export async function closeAdmin(): Promise<void> {
  await admin?.quit();
  admin = null;
}

export async function apiHarness(opts: HarnessOptions = {}): Promise<ApiHarness> {
  const kind = opts.store ?? 'redis';
  const prefix = testPrefix();
  const env = { REDLET_PREFIX: ownPrefix(prefix), REDLET_DEMO: '0', REDLET_COLLECT: '0', REDLET_API_TOKEN: TEST_TOKEN, ...opts.env };
  const config: RuntimeConfig = { ...loadConfig(env), redis: kind === 'redis' ? { url: redisUrl(), host: '127.0.0.1', port: 6379 } : null };
  const store: Store = kind === 'redis' ? new RedisStore({ url: redisUrl() }) : new MemoryStore();
  if (kind === 'redis') await waitFor(() => store.available, 'redis ready');
  const runtime = new Runtime({ config, store, sandbox: new InProcessSandbox() });
  await runtime.start();
  const app = createApp(runtime, { processMetrics: false, ...(opts.log ? { log: opts.log } : {}) });

  return {
    prefix,
    config,
    runtime,
    app,
    store,
    key: (name) => `${prefix}${name}`,
    own: (name) => ownKeyOf(new Keys(ownPrefix(prefix)), name),
    async request(path, { json, token = TEST_TOKEN, remote, headers, body, ...init } = {}) {
      const h = new Headers(headers);
      if (token !== null && !h.has('authorization')) h.set('authorization', `Bearer ${token}`);
      if (json !== undefined) h.set('content-type', 'application/json');
      const payload = json !== undefined ? JSON.stringify(json) : body;
      return app.request(
        path,
        { ...init, headers: h, ...(payload !== undefined ? { body: payload } : {}) },
        remote ? { remoteAddress: remote } : undefined,
      );
    },
    async snapshot() {
      const out: Record<string, string> = {};
      if (kind === 'redis') {
        const client = adminClient();
        for (const k of await store.scan(`${prefix}*`)) out[k] = (await client.dumpBuffer(k))?.toString('hex') ?? 'missing';
      } else {
        for (const k of await store.scan(`${prefix}*`))
          out[k] = await store.getBuffer(k).then(
            (b) => b?.toString('hex') ?? '',
            async () => (await store.smembers(k)).sort().join(','),
          );
      }
      return out;
    },
    async close() {
      await runtime.stop(1000);
      await store.close();
      if (kind === 'redis') await deletePrefix(adminClient(), prefix);
    },
  };
}

/**
 * Gives each test of the calling file a harness of its own (`opts` as for apiHarness),
 * made before the test and closed after it, and closes the admin connection after the
 * file. What it returns reads through to the current test's harness.
 *
 * @example
 * const h = useApiHarness();
 * it('lists nothing yet', async () => expect((await h.request('/api/functions')).status).toBe(200));
 */
export function useApiHarness(opts: HarnessOptions = {}): ApiHarness {
  let current: ApiHarness | null = null;
  const now = (): ApiHarness => {
    if (!current) throw new Error('the API harness exists only inside a test');
    return current;
  };
  beforeEach(async () => {
    current = await apiHarness(opts);
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  afterAll(closeAdmin);
  return {
    get prefix() {
      return now().prefix;
    },
    get config() {
      return now().config;
    },
    get runtime() {
      return now().runtime;
    },
    get app() {
      return now().app;
    },
    get store() {
      return now().store;
    },
    key: (name) => now().key(name),
    own: (name) => now().own(name),
    request: (path, init) => now().request(path, init),
    snapshot: () => now().snapshot(),
    close: () => now().close(),
  };
}

/** A ZIP made in memory. `unix` sets an entry's mode (e.g. 0o120777 for a symlink). */
export async function zipOf(
  entries: Record<string, string | Uint8Array>,
  opts: { unix?: Record<string, number> } = {},
): Promise<Uint8Array> {
  const zip = new JSZip();
  for (const [name, content] of Object.entries(entries)) {
    zip.file(name, content, { createFolders: false, unixPermissions: opts.unix?.[name] ?? null });
  }
  return zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE', platform: opts.unix ? 'UNIX' : 'DOS' });
}

/** A multipart body: text fields plus the file field `code`. */
export function form(fields: Record<string, string>, code?: { name: string; data: string | Uint8Array }): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  if (code) f.set('code', new File([code.data], code.name));
  return f;
}

/** `fn:add` -> Keys.definition('add') and so on: tests name redlet's keys by kind, Keys builds them. */
export function ownKeyOf(keys: Keys, spec: string): string {
  const colon = spec.indexOf(':');
  if (colon < 0) return spec === 'functions' ? keys.functions() : spec === 'replicas' ? keys.replicas() : `${keys.prefix}${spec}`;
  const kind = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  switch (kind) {
    case 'fn':
      return keys.definition(name);
    case 'code':
      return keys.code(name);
    case 'state':
      return keys.state(name);
    case 'owner':
      return keys.owner(name);
    case 'status':
      return keys.status(name);
    default:
      return `${keys.prefix}${spec}`;
  }
}
