// `redlet start` with the shipped Deployment's environment, as a real process: the
// example secrets of k8s/secret.yaml are refused at start, with a message saying how to
// make your own; on SIGTERM, HTTP stays open for REDLET_SHUTDOWN_DELAY_MS (readiness
// 503) so Kubernetes can remove the endpoint first.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, containerEnv, find, kustomize, podSpec } from './helpers/k8s.js';
import { exitWithin, freePort, get, spawnRedlet, waitForStatus, type Watched } from './helpers/process.js';

const running: Watched[] = [];
afterEach(() => {
  for (const w of running.splice(0)) w.kill();
});

async function start(env: Record<string, string>, port?: number): Promise<Watched> {
  const { w } = await spawnRedlet({ ...env, HOST: '127.0.0.1' }, port === undefined ? {} : { port });
  running.push(w);
  return w;
}

describe('start-up with the shipped manifests', { timeout: 30_000 }, () => {
  it('refuses the example API token and Redis password of k8s/secret.yaml: exit 1, one line saying how to make one', async () => {
    const rendered = kustomize(join(ROOT, 'k8s'));
    const env = containerEnv(rendered, podSpec(find(rendered, 'Deployment', 'redlet')).containers[0]!);
    expect(env.REDLET_API_TOKEN).toBe('REPLACE-ME-example-token-not-secret');
    const w = await start(env);
    const exit = await exitWithin(w, 20_000);
    expect(exit.code, w.output()).toBe(1);
    expect(w.output().trim()).toMatch(
      /^redlet: REDLET_API_TOKEN and REDIS_PASSWORD: these are the example values published with redlet, known to anyone; make your own \(e\.g\. `openssl rand -hex 32`/,
    );
    expect(w.output().trim().split('\n')).toHaveLength(1);
  });

  it('refuses the example token alone too (a Redis of your own with its own password)', async () => {
    const w = await start({ REDLET_API_TOKEN: 'REPLACE-ME-example-token-not-secret' });
    expect((await exitWithin(w, 20_000)).code, w.output()).toBe(1);
    expect(w.output()).toMatch(/REDLET_API_TOKEN: this is the example value .*openssl rand -hex 32/);
  });
});

describe('shutdown with the shipped delay', { timeout: 60_000 }, () => {
  it("after SIGTERM, HTTP still answers (liveness 200, readiness 503) during the Deployment's REDLET_SHUTDOWN_DELAY_MS, then redlet exits 0", async () => {
    const rendered = kustomize(join(ROOT, 'k8s'));
    const delay = containerEnv(rendered, podSpec(find(rendered, 'Deployment', 'redlet')).containers[0]!).REDLET_SHUTDOWN_DELAY_MS!;
    expect(Number(delay)).toBeGreaterThan(0);
    // The embedded store, no function, isolates inline: only the shutdown sequence matters here.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const w = await start(
      { REDLET_SHUTDOWN_DELAY_MS: delay, REDLET_DEMO: '0', REDLET_COLLECT: '0', REDLET_SANDBOX: 'inline', LOG_LEVEL: 'info' },
      port,
    );
    await waitForStatus(w, `${base}/readyz`, 200, 30_000);
    w.child.kill('SIGTERM');
    // The delay is seconds long; these requests come right after the signal.
    await waitForStatus(w, `${base}/readyz`, 503, 2000);
    expect((await get(`${base}/healthz`))?.status).toBe(200);
    expect((await exitWithin(w, Number(delay) + 10_000)).code, w.output()).toBe(0);
    expect(w.output()).toMatch(new RegExp(`"httpOpenForMs":${delay}`));
    // Closed afterwards.
    expect(await get(`${base}/healthz`)).toBeNull();
  });
});
