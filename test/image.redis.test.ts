// The container image, without Docker: the Dockerfile is replayed into a temporary
// folder (test/helpers/image.ts: the real build and `npm prune --omit=dev`, with this
// checkout's node_modules standing in for `npm ci`), then its exact ENTRYPOINT + CMD
// runs as the image's non-root user on a read-only root filesystem (writable: /tmp),
// with the env and mounted ConfigMaps of the shipped k8s/ manifests.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, runInImage, type BuiltImage, type Container } from './helpers/image.js';
import { containerEnv, find, kustomizeWith, mountedFiles, podSpec, ROOT, type K8sObject } from './helpers/k8s.js';
import { exitWithin, freePort, get, waitForStatus, watch, type Watched } from './helpers/process.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

let image: BuiltImage;
let rendered: K8sObject[];
let admin: Redis;
let prefix: string;
const running: Watched[] = [];

beforeAll(() => {
  rendered = kustomizeWith(join(ROOT, 'k8s'), [join(ROOT, 'k8s', 'components', 'collector')]);
  image = buildImage();
  admin = redisClient();
  prefix = testPrefix();
}, 300_000);

afterEach(() => {
  for (const w of running.splice(0)) w.kill();
});

// Removing the image folder (a full copy of node_modules) takes a while on a busy machine.
afterAll(async () => {
  for (const w of running.splice(0)) w.kill();
  image?.remove();
  if (admin) {
    await deletePrefix(admin, prefix);
    await admin.quit();
  }
}, 120_000);

/** A workload's container env and files from the manifests, pointed at the test Redis and keys. */
function fromManifests(kind: string, name: string, overrides: Record<string, string | undefined>) {
  const workload = find(rendered, kind, name);
  const pod = podSpec(workload);
  const container = pod.containers[0]!;
  const env = containerEnv(rendered, container);
  const redis = new URL(redisUrl());
  Object.assign(env, { REDIS_HOST: redis.hostname, REDIS_PORT: redis.port || '6379' });
  // The test's Redis has no password; the manifests' secrets are examples redlet refuses.
  delete env.REDIS_PASSWORD;
  if (env.REDLET_API_TOKEN) env.REDLET_API_TOKEN = 'a-token-only-this-test-knows';
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return { env, files: mountedFiles(rendered, pod, container), args: container.args };
}

async function startContainer(
  opts: Parameters<typeof runInImage>[1] & { port: number },
): Promise<{ w: Watched; c: Container; base: string }> {
  const c = runInImage(image, { ...opts, env: { ...opts.env, PORT: String(opts.port) } });
  const w = watch(c.process);
  running.push(w);
  return { w, c, base: `http://127.0.0.1:${opts.port}` };
}

/** The page and every same-origin script and stylesheet it links: nothing the image lacks. */
async function pageAndAssets(base: string): Promise<void> {
  const page = await get(`${base}/`);
  expect(page?.status).toBe(200);
  const links = [...page!.body.matchAll(/(?:src|href)="(\/[^"/][^"]*\.(?:js|css|mjs|svg|ico|png))"/g)].map((m) => m[1]!);
  for (const link of links) expect((await get(`${base}${link}`))?.status, link).toBe(200);
}

function noFilesystemErrors(w: Watched): void {
  expect(w.output()).not.toMatch(/EROFS|EACCES|read-only file system/i);
}

describe('the image built from the Dockerfile', { timeout: 90_000 }, () => {
  it('holds production dependencies only, with isolated-vm built, and files the process cannot change', () => {
    const app = join(image.root, image.workdir);
    for (const dev of ['typescript', 'vitest', 'tsx', 'kubernetes-models', 'playwright-core', '@types/node']) {
      expect(existsSync(join(app, 'node_modules', dev)), `dev dependency ${dev} is in the image`).toBe(false);
    }
    expect(existsSync(join(app, 'node_modules', 'isolated-vm', 'out', 'isolated_vm.node'))).toBe(true);
    expect(existsSync(join(app, 'dist', 'ui', 'entry.js'))).toBe(true);
    // Files the build copies beside the compiled code: the guest prelude and the store's Lua scripts.
    for (const f of ['sandbox/guest/prelude.js', 'src/store/lua/exec-if.lua'])
      expect(existsSync(join(app, 'dist', f)), `dist/${f} is not in the image`).toBe(true);
    const entry = statSync(join(app, 'dist', 'ui', 'entry.js'));
    expect(entry.uid).toBe(0);
    expect(entry.mode & 0o022).toBe(0);
    expect(() => accessSync(app, constants.R_OK)).not.toThrow();
    expect(image.user.uid).toBeGreaterThan(0);
  });

  it('is run locked down here: read-only root and image, writable /tmp, the image user, no capabilities', async () => {
    const probe = `
      const fs = require('node:fs');
      const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); fs.rmSync(p); return 'ok'; } catch (e) { return e.code; } };
      console.log(JSON.stringify({
        pid: process.pid, uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), home: process.env.HOME,
        root: tryWrite('/redlet-probe'), app: tryWrite('package.json.probe'), opt: tryWrite('/opt/probe'),
        tmp: tryWrite('/tmp/redlet-probe-' + process.pid),
        caps: fs.readFileSync('/proc/self/status', 'utf8').match(/CapEff:\\s*(\\w+)/)[1],
        nnp: fs.readFileSync('/proc/self/status', 'utf8').match(/NoNewPrivs:\\s*(\\d)/)[1],
      }));`;
    const w = watch(runInImage(image, { entrypoint: ['node', '-e', probe], files: new Map([['/opt/x', Buffer.from('x')]]) }).process);
    running.push(w);
    expect((await exitWithin(w, 10_000)).code, w.output()).toBe(0);
    const seen = JSON.parse(w.output().trim()) as Record<string, unknown>;
    expect(seen).toEqual({
      pid: 1,
      uid: image.user.uid,
      gid: image.user.gid,
      cwd: join(image.root, image.workdir),
      home: '/tmp',
      root: 'EROFS',
      app: 'EROFS',
      opt: 'EROFS',
      tmp: 'ok',
      caps: '0000000000000000',
      nnp: '1',
    });
  });

  it('runs the shipped Deployment (its env and mounted ConfigMaps) as uid 1000 on a read-only root: ready, the course function writes its output', async () => {
    const port = await freePort();
    const { env, files, args } = fromManifests('Deployment', 'redlet', {
      REDLET_PREFIX: ownPrefix(prefix),
      REDIS_INPUT_KEY: `${prefix}metrics`,
      REDIS_OUTPUT_KEY: `${prefix}output`,
      MONITORING_PERIOD: '0.2',
    });
    expect(files.has('/opt/usermodule/usermodule.js')).toBe(true);
    const { w, c, base } = await startContainer({ env, files, args, port });
    await waitForStatus(w, `${base}/healthz`, 200, 30_000);
    await waitForStatus(w, `${base}/readyz`, 200, 30_000);

    const metrics = await import('./fixtures/metrics-example.json', { with: { type: 'json' } });
    await admin.set(`${prefix}metrics`, JSON.stringify(metrics.default));
    const raw = await waitFor(() => admin.get(`${prefix}output`), `the output key; output:\n${w.output()}`, 20_000, 100);
    const out = JSON.parse(raw) as Record<string, unknown>;
    expect(out).toHaveProperty('percent-network-egress');
    expect(out).toHaveProperty('avg-util-cpu0-60sec');

    await pageAndAssets(base);
    await c.signal('SIGTERM');
    expect((await exitWithin(w, 15_000)).code, w.output()).toBe(0);
    noFilesystemErrors(w);
  });

  it('as PID 1, stops on SIGTERM even while still starting (Redis unreachable), exiting 0', async () => {
    // PID 1 ignores a signal it has no handler for: redlet must install its handlers first.
    const port = await freePort();
    const closed = await freePort();
    const { env, files, args } = fromManifests('Deployment', 'redlet', { REDLET_PREFIX: ownPrefix(prefix) });
    const { w, c, base } = await startContainer({
      env: { ...env, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(closed) },
      files,
      args,
      port,
    });
    await waitForStatus(w, `${base}/healthz`, 200, 30_000);
    expect((await get(`${base}/readyz`))?.status).toBe(503);
    await c.signal('SIGTERM');
    expect((await exitWithin(w, 5000)).code, w.output()).toBe(0);
  });

  it('runs the ZIP example from its binaryData ConfigMap when FUNCTION_ZIP replaces FUNCTION_FILE', async () => {
    const port = await freePort();
    const { env, files, args } = fromManifests('Deployment', 'redlet', {
      REDLET_PREFIX: ownPrefix(prefix),
      FUNCTION_FILE: undefined,
      FUNCTION_ZIP: '/opt/functions/zip-stats.zip',
      REDIS_INPUT_KEY: `${prefix}metrics-zip`,
      REDIS_OUTPUT_KEY: `${prefix}output-zip`,
      MONITORING_PERIOD: '0.2',
    });
    const { w, c, base } = await startContainer({ env, files, args, port });
    await waitForStatus(w, `${base}/readyz`, 200, 30_000);
    const metrics = await import('./fixtures/metrics-example.json', { with: { type: 'json' } });
    await admin.set(`${prefix}metrics-zip`, JSON.stringify(metrics.default));
    const raw = await waitFor(() => admin.get(`${prefix}output-zip`), `the output key; output:\n${w.output()}`, 20_000, 100);
    expect(JSON.parse(raw)).toMatchObject({ function: 'zip-stats' });
    expect(JSON.parse(raw)).toHaveProperty('cpu_count');
    await c.signal('SIGTERM');
    expect((await exitWithin(w, 15_000)).code, w.output()).toBe(0);
    noFilesystemErrors(w);
  });

  it('with nothing configured, runs the zero-setup demo (embedded store, the course reference function from examples/)', async () => {
    const port = await freePort();
    const { w, c, base } = await startContainer({ port });
    const body = await waitForStatus(w, `${base}/readyz`, 200, 30_000);
    await waitFor(
      async () => ((JSON.parse((await get(`${base}/readyz`))?.body ?? body) as { functions?: number }).functions ?? 0) >= 1,
      `the demo function; output:\n${w.output()}`,
      20_000,
      100,
    );
    await pageAndAssets(base);
    await c.signal('SIGTERM');
    expect((await exitWithin(w, 15_000)).code, w.output()).toBe(0);
    noFilesystemErrors(w);
  });

  it('runs `redlet collect` with the collector DaemonSet env: the metrics JSON lands in Redis', async () => {
    const { env, args } = fromManifests('DaemonSet', 'redlet-collector', {
      REDLET_COLLECT_KEY: `${prefix}collected`,
      REDLET_COLLECT_INTERVAL: '0.2',
    });
    expect(args).toEqual(['collect']);
    const c = runInImage(image, { args, env });
    const w = watch(c.process);
    running.push(w);
    const raw = await waitFor(() => admin.get(`${prefix}collected`), `the metrics key; output:\n${w.output()}`, 20_000, 100);
    expect(JSON.parse(raw)).toHaveProperty('cpu_percent-0');
    await c.signal('SIGTERM');
    expect((await exitWithin(w, 10_000)).code, w.output()).toBe(0);
    noFilesystemErrors(w);
  });
});
