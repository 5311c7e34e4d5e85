// A fenced commit that no replica acknowledges (WAIT answers 0: the test's redis-server
// has no replica) still stands, and is reported: counted in /metrics, in the function's
// status (API and page), and warned about in the log, once per minute at most.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { createApp } from '../src/http/app.js';
import { createLogger } from '../src/logger.js';
import { Runtime } from '../src/runtime/runtime.js';
import { RedisStore } from '../src/store/redis-store.js';
import { mountUi } from '../ui/index.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

describe('commits no replica acknowledged', () => {
  const prefix = testPrefix();
  const lines: Array<{ level: number; msg: string; unreplicatedCommits?: number }> = [];
  const log = createLogger(
    'warn',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    }),
    'json',
  );
  // As on Cluster and Sentinel: each fenced commit waits for one replica, briefly here.
  const store = new RedisStore({ url: redisUrl(), waitReplicas: 1, waitTimeoutMs: 20, log });
  const env = { REDIS_URL: redisUrl(), REDLET_PREFIX: ownPrefix(prefix), REDLET_REPLICA_ID: 'r1', REDLET_DEMO: '0', REDLET_API_TOKEN: '' };
  const runtime = new Runtime({ config: loadConfig(env, () => false), store, sandbox: new InProcessSandbox(), log });
  const app = createApp(runtime, { processMetrics: false });
  mountUi(app, runtime);
  const redis = redisClient();

  beforeAll(async () => {
    await waitFor(() => store.available, 'redis ready');
    await runtime.start();
    await waitFor(() => runtime.cluster?.replicas.length === 1, 'the replica to see itself live', 10_000, 20);
  });

  afterAll(async () => {
    await runtime.stop();
    await store.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('keeps the commits, counts them (registration included) in /metrics and the status, and warns once', async () => {
    expect(await redis.wait(1, 10)).toBe(0);
    await redis.set(`${prefix}in`, '{"v":1}');
    await runtime.register({
      name: 'unacked',
      origin: 'api',
      source: { kind: 'file', filename: 'unacked.js', code: 'export const handler = (input) => ({ v: input.v })' },
      settings: { inputKey: `${prefix}in`, outputKey: `${prefix}out`, trigger: 'poll', period: 0.1, invokeOn: 'always' },
    });
    // Its registration, then each invocation's commit.
    const described = async () =>
      ((await (await app.request('/api/functions/unacked')).json()) as { status: { unreplicatedCommits: number } }).status;
    await waitFor(async () => (await described()).unreplicatedCommits >= 3, 'three unacknowledged commits of its runs', 10_000, 20);
    // The commit stands on the primary.
    expect(JSON.parse((await redis.get(`${prefix}out`))!)).toEqual({ v: 1 });

    const metrics = await (await app.request('/metrics')).text();
    const counted = Number(/^redlet_commits_unreplicated_total (\d+)$/m.exec(metrics)?.[1]);
    expect(counted).toBeGreaterThanOrEqual(4);
    const page = await (await app.request('/ui/functions/unacked/live')).text();
    expect(page).toContain('unreplicated commits');

    const warned = lines.filter((l) => l.msg.includes('not acknowledged by a replica'));
    expect(warned).toHaveLength(1);
    expect(warned[0]!.level).toBe(40);
    expect(warned[0]!.msg).toMatch(
      /^a commit \(function state and output, or registrations\) not acknowledged by a replica within 20 ms \(WAIT 1 20 answered 0\)/,
    );
    expect(warned[0]!.msg).toContain(`check the replicas of Redis at ${new URL(redisUrl()).hostname}:`);
  });
});
