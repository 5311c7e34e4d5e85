// The Redis of k8s/redis.yaml, run for real: a redis-server of the test's own started
// with the container's rendered arguments, expanded the kubelet's way ($(VAR) from the
// container's env, so the password from the Secret). A client without the password is
// refused; redlet, configured from its Deployment's env, gets in.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ROOT, containerEnv, find, kustomize, podSpec, type K8sObject } from './helpers/k8s.js';
import { freePort } from './helpers/process.js';
import { waitFor } from './helpers/wait.js';

let rendered: K8sObject[];
let server: ChildProcess;
let dir: string;
let port: number;

/** `$(NAME)` expanded from the env, as the kubelet does for `args`. */
const expand = (arg: string, env: Record<string, string>) =>
  arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);

beforeAll(async () => {
  rendered = kustomize(join(ROOT, 'k8s'));
  // An operator's own password in the `redis-auth` Secret (redlet refuses the example).
  (find(rendered, 'Secret', 'redis-auth') as unknown as { stringData: Record<string, string> }).stringData.REDIS_PASSWORD =
    'an operator/own password';
  const redis = podSpec(find(rendered, 'Deployment', 'redis')).containers[0]!;
  const env = containerEnv(rendered, redis);
  const args = ((redis as { args?: string[] }).args ?? []).map((a) => expand(a, env));
  dir = mkdtempSync(join(tmpdir(), 'redlet-k8s-redis-'));
  args[args.indexOf('--dir') + 1] = dir;
  port = await freePort();
  server = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1'], { stdio: 'ignore' });
  // Accepting connections is enough here: every client of this server needs the password.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    'the redis-server to start',
    10_000,
    50,
  );
});

afterAll(() => {
  server?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the Redis of k8s/redis.yaml', () => {
  it('refuses a client without the password, and accepts redlet with the REDIS_PASSWORD of its Deployment', async () => {
    // A raw client, so that no library's connection handling stands between us and the answer.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('SET x 1\r\n'));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString());
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^-NOAUTH/);

    const redletEnv = containerEnv(rendered, podSpec(find(rendered, 'Deployment', 'redlet')).containers[0]!);
    // Both read the same Secret; the example API token is replaced as the operator would.
    const config = loadConfig(
      { ...redletEnv, REDLET_API_TOKEN: 'a-token-only-this-test-knows', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) },
      () => true,
      () => '',
    );
    expect(config.redis!.url).toContain(encodeURIComponent(redletEnv.REDIS_PASSWORD!));
    const redlet = new Redis(config.redis!.url, { lazyConnect: true });
    redlet.on('error', () => {});
    await redlet.connect();
    expect(await redlet.ping()).toBe('PONG');
    // The settings redlet relies on came through the same argument list.
    expect(await redlet.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect((await redlet.config('GET', 'notify-keyspace-events'))[1]).toMatch(/K/);
    redlet.disconnect();
  });
});
