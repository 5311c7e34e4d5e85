// The probes: /healthz answers while the process lives; /readyz is 200 only when the
// store answers and stored functions are loaded, 503 otherwise, naming the store.
import { describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../../sandbox/in-process.js';
import { apiHarness } from '../../test/helpers/api-harness.js';
import { loadConfig } from '../config.js';
import { Runtime } from '../runtime/runtime.js';
import { RedisStore } from '../store/redis-store.js';
import { createApp } from './app.js';

describe('probes', () => {
  it('the embedded store: ready, and says "embedded"', async () => {
    const h = await apiHarness({ store: 'memory' });
    try {
      expect(await (await h.request('/healthz')).json()).toEqual({ status: 'ok' });
      const res = await h.request('/readyz');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ready', store: 'embedded', redis: 'embedded', functionsLoaded: true, functions: 0 });
    } finally {
      await h.close();
    }
  });

  it('Redis unreachable: /healthz 200, /readyz 503 with the reason', async () => {
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', REDLET_DEMO: '0' });
    const store = new RedisStore({ url: config.redis!.url });
    const runtime = new Runtime({ config, store, sandbox: new InProcessSandbox() });
    const starting = runtime.start(); // keeps retrying the registry until stopped
    const app = createApp(runtime, { processMetrics: false });
    try {
      expect((await app.request('/healthz')).status).toBe(200);
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 'not ready', store: 'redis', functionsLoaded: false });
      expect(body.redis).toMatch(/^Redis unavailable/);
    } finally {
      await runtime.stop(0);
      await starting;
      await store.close();
    }
  });

  it('not ready until the stored functions are loaded', async () => {
    const h = await apiHarness({ store: 'memory' });
    try {
      const runtime = new Runtime({ config: h.config, store: h.store, sandbox: new InProcessSandbox() });
      const app = createApp(runtime, { processMetrics: false });
      expect((await app.request('/readyz')).status).toBe(503);
      await runtime.start();
      expect((await app.request('/readyz')).status).toBe(200);
      await runtime.stop(0);
    } finally {
      await h.close();
    }
  });
});
