// How the environment chooses between one Redis, Redis Cluster and Redis Sentinel.
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const none = () => false;

describe('loadConfig: Redis Cluster and Sentinel', () => {
  it('reads REDIS_CLUSTER_NODES with password and TLS; the first node stands for the cluster in messages', () => {
    const c = loadConfig(
      { REDIS_CLUSTER_NODES: 'redis-0.redis:6379, redis-1.redis:7001,[::1]:7002,redis-3', REDIS_PASSWORD: 's3cret', REDIS_TLS: '1' },
      none,
    );
    expect(c.redis).toMatchObject({
      url: 'rediss://redis-0.redis:6379',
      host: 'redis-0.redis',
      port: 6379,
      cluster: {
        nodes: [
          { host: 'redis-0.redis', port: 6379 },
          { host: 'redis-1.redis', port: 7001 },
          { host: '::1', port: 7002 },
          { host: 'redis-3', port: 6379 },
        ],
      },
      password: 's3cret',
      tls: true,
    });
    expect(c.cluster).not.toBeNull();
  });

  it('reads REDIS_SENTINELS with REDIS_SENTINEL_NAME (default port 26379) and the sentinel password', () => {
    const c = loadConfig(
      {
        REDIS_SENTINELS: 's1:26380,s2',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_SENTINEL_PASSWORD: 'sp',
        REDIS_USERNAME: 'redlet',
        REDIS_PASSWORD: 'p',
      },
      none,
    );
    expect(c.redis).toMatchObject({
      sentinel: {
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
        ],
        name: 'mymaster',
        password: 'sp',
      },
      username: 'redlet',
      password: 'p',
      tls: false,
    });
  });

  it('keeps the single-Redis variables as they were, TLS and a user name included', () => {
    expect(loadConfig({ REDIS_HOST: 'redis', REDIS_PORT: '6380' }, none).redis).toEqual({
      url: 'redis://redis:6380',
      host: 'redis',
      port: 6380,
    });
    expect(loadConfig({ REDIS_HOST: 'redis', REDIS_TLS: 'yes', REDIS_USERNAME: 'u', REDIS_PASSWORD: 'p w' }, none).redis?.url).toBe(
      'rediss://u:p%20w@redis:6379',
    );
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'a:1,,b:2' }, /^REDIS_CLUSTER_NODES has an empty entry/],
    [{ REDIS_CLUSTER_NODES: 'a:1,b:http' }, /^REDIS_CLUSTER_NODES: 'b:http' is not host:port/],
    [{ REDIS_CLUSTER_NODES: 'a:70000' }, /^REDIS_CLUSTER_NODES: 'a:70000' is not host:port/],
    [{ REDIS_SENTINELS: 's1:26379' }, /^REDIS_SENTINELS needs REDIS_SENTINEL_NAME/],
    [
      { REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'a' },
      /^set only one of REDIS_CLUSTER_NODES .* and REDIS_SENTINELS/,
    ],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_HOST: 'redis' }, /^set only one way to reach Redis: REDIS_CLUSTER_NODES or REDIS_HOST/],
    [{ REDIS_HOST: 'redis', REDIS_TLS: 'maybe' }, /^REDIS_TLS must be 1\/true/],
  ])('refuses %o with one line', (env, message) => {
    let error: Error | null = null;
    try {
      loadConfig(env, none);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});
