/**
 * Starts a whole redlet from a RuntimeConfig: the store (Redis, or the embedded one),
 * the sandbox, the runtime, the configured and demo functions (the configured one
 * reloaded when its mounted file changes), the built-in metrics collector and the HTTP
 * server; and stops it all cleanly.
 *
 * The pages (ui/) sit above src/ in the import graph, so they are handed in as
 * `mountUi` by the entry point instead of being imported here.
 *
 * @example
 * const app = await startRedlet(loadConfig(), createLogger('info'), { mountUi });
 * await app.stop();
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { warmBundler } from '../sandbox/bundle.js';
import { InProcessSandbox } from '../sandbox/in-process.js';
import type { Sandbox } from '../sandbox/types.js';
import { WorkerPoolSandbox } from '../sandbox/worker-pool.js';
import { Collector } from './collector/collector.js';
import { loadCompatFunction } from './compat.js';
import type { CompatConfig, RuntimeConfig } from './config.js';
import { createApp } from './http/app.js';
import type { Logger } from './logger.js';
import { watchMountedFile, type MountedFileWatch } from './mounted-file-watch.js';
import { packageRoot } from './paths.js';
import { Runtime, type RegisterInput } from './runtime/runtime.js';
import { MemoryStore } from './store/memory-store.js';
import { redisStoreOptions } from './store/redis-connection.js';
import { RedisStore } from './store/redis-store.js';
import type { Store } from './store/store.js';

export interface StartOptions {
  /** Adds the pages to the app (ui/index.ts provides it). */
  mountUi?: (app: Hono, runtime: Runtime) => void;
  /** Use this store instead of building one from the config (tests). */
  store?: Store;
}

export interface RunningRedlet {
  runtime: Runtime;
  app: Hono;
  /** The port the HTTP server listens on (useful with PORT=0). */
  port: number;
  stop(): Promise<void>;
}

export const DEMO_FUNCTION = 'course-reference';

export async function startRedlet(config: RuntimeConfig, log: Logger, opts: StartOptions = {}): Promise<RunningRedlet> {
  for (const w of config.warnings) log.warn(w);
  const store: Store = opts.store ?? (config.redis ? new RedisStore({ ...redisStoreOptions(config.redis), log }) : new MemoryStore());
  if (store.kind === 'memory')
    log.info('no Redis configured (REDIS_URL / REDIS_HOST): using the embedded in-process store; nothing survives a restart');
  else if (config.redis?.cluster) log.info({ nodes: config.redis.cluster.nodes.map((n) => `${n.host}:${n.port}`) }, 'using Redis Cluster');
  else if (config.redis?.sentinel)
    log.info(
      { sentinels: config.redis.sentinel.sentinels.map((n) => `${n.host}:${n.port}`), name: config.redis.sentinel.name },
      'using Redis Sentinel',
    );
  else if (config.redis) log.info({ host: config.redis.host, port: config.redis.port }, 'using Redis');

  const runtime = new Runtime({ config, store, sandbox: createSandbox(config, log), log });
  void warmBundler().catch(() => {});
  const app = createApp(runtime);
  opts.mountUi?.(app, runtime);
  // Listen first: /healthz answers while functions load.
  const server = await listen(app.fetch, config.http.port, config.http.host);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  log.info({ port }, `HTTP on http://localhost:${port}`);

  let collector: Collector | null = null;
  const watches: MountedFileWatch[] = [];
  try {
    await runtime.start({ untilReady: true });
    if (config.compat) {
      const fn = await loadCompatFunction(config.compat);
      if (runtime.has(fn.name))
        await runtime.update(fn.name, { source: fn.source, settings: fn.settings, codeUpdatedAt: fn.codeUpdatedAt, origin: fn.origin });
      else await runtime.register(fn);
    }
    if (config.compat && config.watchFiles) watches.push(...watchCompatFiles(config.compat, runtime, log));
    if (config.demo && !runtime.has(DEMO_FUNCTION)) await runtime.register(await demoFunction(config));
    if (config.collector.enabled) {
      collector = new Collector({
        intervalMs: config.collector.intervalMs,
        netInterface: config.collector.netInterface,
        write: (json) => store.set(config.collector.key, json),
        log: { warn: (m) => log.warn(m), error: (m, err) => log.error({ err }, m) },
      });
      collector.start();
      log.info({ key: config.collector.key, everyMs: config.collector.intervalMs }, 'collecting host metrics');
    }
    runtime.startupDone();
  } catch (err) {
    for (const w of watches) w.close();
    await collector?.stop();
    await runtime.stop(0).catch(() => {});
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    throw err;
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      log.info({ httpOpenForMs: config.shutdownDelayMs }, 'stopping: no new ticks, /readyz 503, waiting for invocations in flight');
      for (const w of watches) w.close();
      await collector?.stop();
      // HTTP stays up for the shutdown delay as well as the drain: until Kubernetes has
      // taken the pod out of the Service's endpoints, requests still arrive here.
      await Promise.all([runtime.stop(config.drainMs), new Promise((r) => setTimeout(r, config.shutdownDelayMs))]);
      (server as import('node:http').Server).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      log.info('stopped');
    })());
  return { runtime, app, port, stop };
}

/**
 * Reloads the configured function when its file (FUNCTION_FILE or FUNCTION_ZIP) changes:
 * a ConfigMap mounted as a directory is swapped in running pods by the kubelet. Code
 * that fails to load is logged and the previous code keeps running.
 */
function watchCompatFiles(compat: CompatConfig, runtime: Runtime, log: Logger): MountedFileWatch[] {
  const file = compat.file ?? compat.zipPath;
  if (!file) return [];
  const reload = async () => {
    const fn = await loadCompatFunction(compat);
    await runtime.update(fn.name, { source: fn.source, settings: fn.settings, codeUpdatedAt: fn.codeUpdatedAt, origin: fn.origin });
    log.info({ function: fn.name, file }, 'function file changed: reloaded');
  };
  const onError = (err: Error) =>
    log.error(
      { function: compat.name, file, err: err.message },
      'function file changed but could not be reloaded; the previous code keeps running',
    );
  return [watchMountedFile(file, reload, { onError })];
}

/** Isolates in supervised worker processes (default), or in this process. */
function createSandbox(config: RuntimeConfig, log: Logger): Sandbox {
  if (config.sandbox.mode === 'inline') {
    log.warn('REDLET_SANDBOX=inline: isolates run inside the main process; a fatal V8 error in a function ends redlet');
    return new InProcessSandbox();
  }
  return new WorkerPoolSandbox({
    workers: config.sandbox.workers,
    onEvent: (e) => {
      if (e.type === 'worker-exit') log.error({ pid: e.pid, running: e.running }, `sandbox worker stopped (${e.reason}); restarting it`);
      else if (e.type === 'function-dedicated')
        log.warn({ function: e.fn, crashes: e.crashes }, 'function keeps crashing its worker: moved to a worker of its own');
      else if (e.type === 'reload-failed') log.error({ function: e.fn }, `could not reload after a worker restart: ${e.message}`);
      else log.debug({ pid: e.pid, dedicatedTo: e.dedicatedTo }, 'sandbox worker started');
    },
  });
}

/** The course's reference function (examples/course-reference.js) on the collector's key. */
async function demoFunction(config: RuntimeConfig): Promise<RegisterInput> {
  const file = join(packageRoot(), 'examples', 'course-reference.js');
  return {
    name: DEMO_FUNCTION,
    origin: 'config',
    source: { kind: 'file', filename: 'course-reference.js', code: await readFile(file, 'utf8') },
    settings: {
      handler: 'handler',
      inputKey: config.collector.key,
      outputKey: `${DEMO_FUNCTION}-output`,
      trigger: 'keyspace',
      period: 5,
    },
  };
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => resolve(server));
    server.once('error', reject);
  });
}
