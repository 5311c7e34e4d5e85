// RedisStore against real servers: the shared test Redis for data operations, private
// servers for what must not be done to a shared one (CONFIG refused, stop and restart).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { RedisStore } from '../src/store/redis-store.js';
import { deletePrefix, ownPrefix, redisClient, redisUrl, testPrefix } from './helpers/redis.js';
import { privateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { waitFor } from './helpers/wait.js';

describe('RedisStore', () => {
  let admin: Redis;
  let prefix: string;
  const stores: RedisStore[] = [];
  const servers: PrivateRedis[] = [];
  const open = (url = redisUrl()) => {
    const s = new RedisStore({ url, maxBackoffMs: 200 });
    stores.push(s);
    return s;
  };

  beforeAll(() => {
    admin = redisClient();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const s of servers.splice(0)) await s.close();
    await deletePrefix(admin, prefix);
  });
  afterAll(async () => {
    await admin.quit();
  });

  it('reads, writes and applies batches atomically; a wrong type is a clear error', async () => {
    prefix = testPrefix();
    const s = open();
    await waitFor(() => s.available, 'ready');
    await s.exec([
      { op: 'set', key: `${prefix}a`, value: '1' },
      { op: 'sadd', key: `${prefix}set`, member: 'x' },
    ]);
    expect(await s.get(`${prefix}a`)).toBe('1');
    expect(await s.smembers(`${prefix}set`)).toEqual(['x']);
    await expect(s.get(`${prefix}set`)).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    await expect(s.exec([{ op: 'sadd', key: `${prefix}a`, member: 'y' }])).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    expect((await s.scan(`${prefix}*`)).sort()).toEqual([`${prefix}a`, `${prefix}set`]);
  });

  it('reads issued in the same tick each get their own value or error (one pipeline)', async () => {
    prefix = testPrefix();
    const s = open();
    await waitFor(() => s.available, 'ready');
    await admin.set(`${prefix}a`, 'A');
    await admin.set(`${prefix}b`, 'B');
    await admin.sadd(`${prefix}set`, 'x');
    // Readers of one key share its GET: each still gets the value, or the error.
    const reads = [`${prefix}a`, `${prefix}set`, `${prefix}missing`, `${prefix}b`, `${prefix}a`, `${prefix}set`, `${prefix}a`].map((k) =>
      s.get(k).then(
        (v) => ({ v }),
        (err: { code?: string }) => ({ err: err.code }),
      ),
    );
    expect(await Promise.all(reads)).toEqual([
      { v: 'A' },
      { err: 'INPUT_WRONG_TYPE' },
      { v: null },
      { v: 'B' },
      { v: 'A' },
      { err: 'INPUT_WRONG_TYPE' },
      { v: 'A' },
    ]);
  });

  it('enables keyspace notifications and announces writes', async () => {
    prefix = testPrefix();
    const s = open();
    const seen: string[] = [];
    s.watch(`${prefix}k`, (key) => seen.push(key));
    await waitFor(() => s.keyspaceStatus().enabled, 'keyspace enabled');
    const flags = ((await admin.config('GET', 'notify-keyspace-events')) as string[])[1]!;
    expect(flags).toMatch(/K/);
    await waitFor(async () => {
      await s.set(`${prefix}k`, 'v');
      return seen.length > 0;
    }, 'a notification');
    expect(seen[0]).toBe(`${prefix}k`);
  });

  it('says clearly when Redis refuses CONFIG SET, and polling still works', async () => {
    prefix = testPrefix();
    const server = await privateRedis(['--rename-command', 'CONFIG', '""']);
    servers.push(server);
    const s = open(server.url);
    s.watch(`${prefix}k`, () => {});
    await waitFor(() => s.keyspaceStatus().reason?.includes('could not enable'), 'a refusal reason');
    expect(s.keyspaceStatus()).toMatchObject({ enabled: false });
    expect(s.keyspaceStatus().reason).toMatch(/notify-keyspace-events to include 'K\$g', or use the poll trigger/);
  });

  it('sends its Lua scripts by hash (EVALSHA), and again whole when the server forgot them, alone and in the commit pipeline', async () => {
    prefix = testPrefix();
    const server = await privateRedis();
    servers.push(server);
    // waitReplicas 1 on a server without replicas: each commit is the script then a WAIT, unacknowledged.
    const s = new RedisStore({ url: server.url, maxBackoffMs: 200, waitReplicas: 1, waitTimeoutMs: 10 });
    stores.push(s);
    await waitFor(() => s.available, 'ready');
    const probe = new Redis(server.url);
    const calls = async () => {
      const info = await probe.info('commandstats');
      const count = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return { eval: count('eval'), evalsha: count('evalsha') };
    };
    const lease = `${prefix}lease`;
    expect(await s.acquire(lease, 'me', 5000)).toBe(true);
    for (let i = 0; i < 3; i++) expect(await s.renew(lease, 'me', 5000)).toBe(true);
    expect(await s.execIf({ key: lease, value: 'me' }, [{ op: 'set', key: `${prefix}out`, value: '1' }])).toBe(true);
    expect(await s.execIf({ key: lease, value: 'me' }, [{ op: 'set', key: `${prefix}out`, value: '2' }])).toBe(true);
    expect(s.unreplicatedCommits).toBe(2);
    // The text once per script on this connection, then only hashes.
    expect(await calls()).toEqual({ eval: 2, evalsha: 3 });

    await probe.script('FLUSH');
    expect(await s.renew(lease, 'me', 5000)).toBe(true);
    expect(await s.execIf({ key: lease, value: 'me' }, [{ op: 'set', key: `${prefix}out`, value: '3' }])).toBe(true);
    expect(await s.get(`${prefix}out`)).toBe('3');
    expect(await s.release(lease, 'other')).toBe(false);
    expect(await s.release(lease, 'me')).toBe(true);
    expect(await s.get(lease)).toBeNull();
    await probe.quit();
  });

  it('fails fast while Redis is down and recovers by itself; functions say "Redis unavailable" meanwhile', async () => {
    prefix = testPrefix();
    const server = await privateRedis();
    servers.push(server);
    const store = open(server.url);
    await waitFor(() => store.available, 'ready');
    const config = {
      ...loadConfig({ REDLET_PREFIX: ownPrefix(prefix) }),
      redis: { url: server.url, host: '127.0.0.1', port: server.port },
    };
    const rt = new Runtime({ config, store, sandbox: new InProcessSandbox() });
    await rt.start();
    await store.set(`${prefix}in`, '{"n":1}');
    await rt.register({
      name: 'echo',
      origin: 'api',
      source: { kind: 'file', filename: 'echo.js', code: 'export const handler = (i) => i.n' },
      settings: { inputKey: `${prefix}in`, outputKey: `${prefix}out`, period: 0.1, invokeOn: 'always' },
    });
    await waitFor(async () => (await store.get(`${prefix}out`)) === '1', 'first output');

    await server.stop();
    const t0 = Date.now();
    await expect(store.get(`${prefix}in`)).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    expect(Date.now() - t0).toBeLessThan(1000);
    const down = await waitFor(async () => {
      const v = await rt.view('echo');
      return v.status.detail?.startsWith('Redis unavailable') ? v : null;
    }, 'status to say Redis unavailable');
    expect(down.status.state).toBe('error');
    expect(rt.ready).toBe(false);

    // The server comes back EMPTY (no persistence): redlet writes back what it holds and resumes.
    await server.start();
    await waitFor(() => store.available, 'reconnected', 10_000);
    await waitFor(async () => (await store.smembers(`${ownPrefix(prefix)}functions`)).includes('echo'), 'registry written back', 10_000);
    await store.set(`${prefix}in`, '{"n":2}');
    await waitFor(async () => (await store.get(`${prefix}out`)) === '2', 'output after recovery', 10_000);
    // The status settles just after the commit that wrote the output.
    await waitFor(async () => (await rt.view('echo')).status.state !== 'error', 'the function out of error', 5000);
    await rt.stop();
  });
});
