// A ConfigMap edit reaches a running redlet: FUNCTION_FILE lives in a directory laid out
// as the kubelet lays out a ConfigMap volume, the kubelet's atomic `..data` swap puts new
// code there, and the running process reloads the function (no restart); code that does
// not load is logged and the previous code keeps running.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, spawnRedlet, waitForStatus, type Watched } from './helpers/process.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const version = (v: string) => `export function handler(input) { return { version: ${JSON.stringify(v)}, n: input.n }; }\n`;

let dir: string;
let generation = 0;
let admin: Redis;
let prefix: string;
let w: Watched | null = null;

/** The kubelet's update of a ConfigMap volume: a new folder, `..data_tmp`, renamed onto `..data`. */
function kubeletWrite(code: string): void {
  const old = generation > 0 ? `..gen_${generation}` : null;
  generation++;
  mkdirSync(join(dir, `..gen_${generation}`));
  writeFileSync(join(dir, `..gen_${generation}`, 'usermodule.js'), code);
  symlinkSync(`..gen_${generation}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  if (!old) symlinkSync(join('..data', 'usermodule.js'), join(dir, 'usermodule.js'));
  else rmSync(join(dir, old), { recursive: true });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redlet-configmap-'));
  admin = redisClient();
  prefix = testPrefix();
});
afterAll(async () => {
  w?.kill();
  rmSync(dir, { recursive: true, force: true });
  await deletePrefix(admin, prefix);
  await admin.quit();
});

describe('a mounted function file changes while redlet runs', { timeout: 90_000 }, () => {
  it('the kubelet-style swap reloads the function; broken code is refused and the previous code keeps running', async () => {
    kubeletWrite(version('one'));
    const started = await spawnRedlet({
      REDIS_URL: redisUrl(),
      REDLET_PREFIX: ownPrefix(prefix),
      FUNCTION_FILE: join(dir, 'usermodule.js'),
      REDIS_INPUT_KEY: `${prefix}in`,
      REDIS_OUTPUT_KEY: `${prefix}out`,
      MONITORING_PERIOD: '0.1',
      REDLET_SANDBOX: 'inline',
      LOG_LEVEL: 'info',
    });
    w = started.w;
    const base = started.base;
    await waitForStatus(w, `${base}/readyz`, 200, 40_000);
    const output = async (n: number) =>
      waitFor(
        async () => {
          const raw = await admin.get(`${prefix}out`);
          const out = raw ? (JSON.parse(raw) as { version: string; n: number }) : null;
          return out?.n === n ? out : null;
        },
        `output for input ${n}; process output:\n${w!.output()}`,
        20_000,
        50,
      );

    await admin.set(`${prefix}in`, JSON.stringify({ n: 1 }));
    expect((await output(1)).version).toBe('one');

    kubeletWrite(version('two'));
    await waitFor(() => /function file changed: reloaded/.test(w!.output()), `the reload; output:\n${w.output()}`, 20_000, 50);
    await admin.set(`${prefix}in`, JSON.stringify({ n: 2 }));
    expect((await output(2)).version).toBe('two');

    kubeletWrite('export function handler( {');
    await waitFor(
      () => /could not be reloaded; the previous code keeps running/.test(w!.output()),
      `the refusal; output:\n${w.output()}`,
      20_000,
      50,
    );
    await admin.set(`${prefix}in`, JSON.stringify({ n: 3 }));
    expect((await output(3)).version).toBe('two');

    w.child.kill('SIGTERM');
    expect((await exitWithin(w, 20_000)).code, w.output()).toBe(0);
  });
});
