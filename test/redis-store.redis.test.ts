// RedisStore against real servers: the shared test Redis for data operations, private
// servers for what must not be done to a shared one (CONFIG refused, stop and restart).
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { InProcessSandbox } from '../sandbox/in-process.js';
import { loadConfig } from '../src/config.js';
import { Runtime } from '../src/runtime/runtime.js';
import { ownPrefix } from './helpers/redis.js';
import { useRedis } from './helpers/redis-testbed.js';
import { waitFor } from './helpers/wait.js';

describe('RedisStore', () => {
  const redis = useRedis();

  it('reads, writes and applies batches atomically; a wrong type is a clear error', async () => {
    const s = await redis.store({ maxBackoffMs: 200 });
    await s.exec([
      { op: 'set', key: redis.key('a'), value: '1' },
      { op: 'sadd', key: redis.key('set'), member: 'x' },
    ]);
    expect(await s.get(redis.key('a'))).toBe('1');
    expect(await s.smembers(redis.key('set'))).toEqual(['x']);
    await expect(s.get(redis.key('set'))).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    await expect(s.exec([{ op: 'sadd', key: redis.key('a'), member: 'y' }])).rejects.toMatchObject({ code: 'INPUT_WRONG_TYPE' });
    expect((await s.scan(`${redis.prefix}*`)).sort()).toEqual([redis.key('a'), redis.key('set')]);
  });

  it('reads issued in the same tick each get their own value or error (one pipeline)', async () => {
    const s = await redis.store({ maxBackoffMs: 200 });
    await redis.admin.set(redis.key('a'), 'A');
    await redis.admin.set(redis.key('b'), 'B');
    await redis.admin.sadd(redis.key('set'), 'x');
    // Readers of one key share its GET: each still gets the value, or the error.
    const reads = [
      redis.key('a'),
      redis.key('set'),
      redis.key('missing'),
      redis.key('b'),
      redis.key('a'),
      redis.key('set'),
      redis.key('a'),
    ].map((k) =>
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
    const s = await redis.store({ maxBackoffMs: 200 });
    const seen: string[] = [];
    s.watch(redis.key('k'), (key) => seen.push(key));
    await waitFor(() => s.keyspaceStatus().enabled, 'keyspace enabled');
    const flags = ((await redis.admin.config('GET', 'notify-keyspace-events')) as string[])[1]!;
    expect(flags).toMatch(/K/);
    await waitFor(async () => {
      await s.set(redis.key('k'), 'v');
      return seen.length > 0;
    }, 'a notification');
    expect(seen[0]).toBe(redis.key('k'));
  });

  it('says clearly when Redis refuses CONFIG SET, and polling still works', async () => {
    const server = await redis.server(['--rename-command', 'CONFIG', '""']);
    const s = await redis.store({ url: server.url, maxBackoffMs: 200 });
    s.watch(redis.key('k'), () => {});
    await waitFor(() => s.keyspaceStatus().reason?.includes('could not enable'), 'a refusal reason');
    expect(s.keyspaceStatus()).toMatchObject({ enabled: false });
    expect(s.keyspaceStatus().reason).toMatch(/notify-keyspace-events to include 'K\$g', or use the poll trigger/);
  });

  it('sends its Lua scripts by hash (EVALSHA), and again whole when the server forgot them, alone and in the commit pipeline', async () => {
    const server = await redis.server();
    // waitReplicas 1 on a server without replicas: each commit is the script then a WAIT, unacknowledged.
    const s = await redis.store({ url: server.url, maxBackoffMs: 200, waitReplicas: 1, waitTimeoutMs: 10 });
    const prefix = redis.prefix;
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
    const server = await redis.server();
    const store = await redis.store({ url: server.url, maxBackoffMs: 200 });
    const config = {
      ...loadConfig({ REDLET_PREFIX: ownPrefix(redis.prefix) }),
      redis: { url: server.url, host: '127.0.0.1', port: server.port },
    };
    const rt = new Runtime({ config, store, sandbox: new InProcessSandbox() });
    await rt.start();
    await store.set(redis.key('in'), '{"n":1}');
    await rt.register({
      name: 'echo',
      origin: 'api',
      source: { kind: 'file', filename: 'echo.js', code: 'export const handler = (i) => i.n' },
      settings: { inputKey: redis.key('in'), outputKey: redis.key('out'), period: 0.1, invokeOn: 'always' },
    });
    await waitFor(async () => (await store.get(redis.key('out'))) === '1', 'first output');

    await server.stop();
    // Refused while the server is down, not queued until it is back.
    await expect(store.get(redis.key('in'))).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    const down = await waitFor(async () => {
      const v = await rt.view('echo');
      return v.status.detail?.startsWith('Redis unavailable') ? v : null;
    }, 'status to say Redis unavailable');
    expect(down.status.state).toBe('error');
    expect(rt.ready).toBe(false);

    // The server comes back EMPTY (no persistence): redlet writes back what it holds and resumes.
    await server.start();
    await waitFor(() => store.available, 'reconnected', 10_000);
    await waitFor(
      async () => (await store.smembers(`${ownPrefix(redis.prefix)}functions`)).includes('echo'),
      'registry written back',
      10_000,
    );
    await store.set(redis.key('in'), '{"n":2}');
    await waitFor(async () => (await store.get(redis.key('out'))) === '2', 'output after recovery', 10_000);
    // The status settles just after the commit that wrote the output.
    await waitFor(async () => (await rt.view('echo')).status.state !== 'error', 'the function out of error', 5000);
    await rt.stop();
  });
});
