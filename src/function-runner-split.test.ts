// The commit on Redis Cluster when the output key is in another hash slot than the
// function's state: the output rides in the fenced state commit and is written right
// after; a failed output write, or a takeover after a crash between the two, still ends
// with the output written once, and the input is never handled twice.
import { describe, expect, it } from 'vitest';
import type { InvokeRequest, InvokeResult, Sandbox } from '../sandbox/types.js';
import type { FunctionDefinition } from './function-definition.js';
import { FunctionRunner } from './function-runner.js';
import { decodeState, type PersistedState } from './persisted-state.js';
import { Keys } from './keys.js';
import { silentLogger } from './logger.js';
import { MemoryStore } from './store/memory-store.js';

/** The in-process store with a cluster's slot rule, and an output key that can refuse writes. */
class ShardedStore extends MemoryStore {
  override readonly sharded = true;
  refuse = new Set<string>();
  override sameSlot(keys: string[]): boolean {
    const tag = (k: string) => /\{([^}]+)\}/.exec(k)?.[1] ?? k;
    return new Set(keys.map(tag)).size <= 1;
  }
  override async set(key: string, value: string | Buffer): Promise<void> {
    if (this.refuse.has(key)) throw new Error(`Redis unavailable: CLUSTERDOWN for ${key}`);
    return super.set(key, value);
  }
}

/** A sandbox whose function counts its calls in env and returns {v, n}. */
function countingSandbox(): Sandbox & { calls: number; env: string } {
  const box = {
    calls: 0,
    env: '{}',
    async load() {
      return {} as never;
    },
    async invoke(_id: string, req: InvokeRequest): Promise<InvokeResult> {
      box.calls++;
      const env = JSON.parse(req.resetEnv ?? box.env) as { n?: number };
      const n = (env.n ?? 0) + 1;
      box.env = JSON.stringify({ n });
      return {
        ok: true,
        output: JSON.stringify({ v: JSON.parse(req.input).v, n }),
        env: JSON.stringify({ n }),
        durationMs: 1,
        logs: [],
        droppedLogs: 0,
      };
    },
    async dispose() {},
    async stats() {
      return null;
    },
    async close() {},
  };
  return box;
}

const def = (outputKey: string): FunctionDefinition => ({
  name: 'avg',
  origin: 'api',
  filename: 'avg.js',
  sourceKind: 'file',
  codeUpdatedAt: 0,
  createdAt: 0,
  updatedAt: 0,
  paused: false,
  handler: 'handler',
  inputKey: 'in',
  outputKey,
  trigger: 'poll',
  period: 3600,
  invokeOn: 'change',
  memoryMb: 64,
  timeoutMs: 1000,
});

describe('FunctionRunner on a sharded store', () => {
  const keys = new Keys('redlet:');
  const runner = (store: ShardedStore, sandbox: Sandbox, state: PersistedState, outputKey = 'avg-output', owner = 'r1') =>
    new FunctionRunner(
      def(outputKey),
      {
        store,
        sandbox,
        keys,
        log: silentLogger(),
        redis: { host: 'h', port: 1 },
        revision: 'r1',
        maxOutputBytes: 1 << 20,
        guard: { key: keys.owner('avg'), value: owner },
      },
      state,
    );

  it('commits the output with the state, writes it after, and retries a refused output write before any new input', async () => {
    const store = new ShardedStore();
    const box = countingSandbox();
    await store.set(keys.owner('avg'), 'r1');
    const r = runner(store, box, decodeState(null));
    r.start();
    await store.set('in', '{"v":1}');
    await r.tick();
    expect(JSON.parse((await store.get('avg-output'))!)).toEqual({ v: 1, n: 1 });
    expect(decodeState(await store.get(keys.state('avg'))).pending).toEqual({ key: 'avg-output', value: '{"v":1,"n":1}' });

    store.refuse.add('avg-output');
    await store.set('in', '{"v":2}');
    await r.tick();
    // Committed (handled once), not yet in the output key.
    expect(decodeState(await store.get(keys.state('avg'))).pending?.value).toBe('{"v":2,"n":2}');
    expect(JSON.parse((await store.get('avg-output'))!).v).toBe(1);
    store.refuse.clear();
    await r.tick();
    expect(JSON.parse((await store.get('avg-output'))!)).toEqual({ v: 2, n: 2 });
    expect(box.calls).toBe(2);
    await r.stop();
  });

  it('a new owner writes the output its predecessor committed but did not write, without running the input again', async () => {
    const store = new ShardedStore();
    const box = countingSandbox();
    await store.set(keys.owner('avg'), 'r1');
    const a = runner(store, box, decodeState(null));
    a.start();
    store.refuse.add('avg-output');
    await store.set('in', '{"v":1}');
    await a.tick();
    await a.stop();
    store.refuse.clear();
    expect(await store.get('avg-output')).toBeNull();

    // r1 "crashed"; r2 takes the lease and starts from the stored state.
    await store.set(keys.owner('avg'), 'r2');
    const b = runner(store, box, decodeState(await store.get(keys.state('avg'))), 'avg-output', 'r2');
    b.start();
    await b.tick();
    expect(JSON.parse((await store.get('avg-output'))!)).toEqual({ v: 1, n: 1 });
    expect(box.calls).toBe(1);
    await b.stop();
  });

  it("keeps the single atomic commit for an output key tagged with the function's name", async () => {
    const store = new ShardedStore();
    await store.set(keys.owner('avg'), 'r1');
    const r = runner(store, countingSandbox(), decodeState(null), '{avg}:output');
    r.start();
    await store.set('in', '{"v":1}');
    await r.tick();
    expect(JSON.parse((await store.get('{avg}:output'))!)).toEqual({ v: 1, n: 1 });
    expect(decodeState(await store.get(keys.state('avg'))).pending).toBeUndefined();
    await r.stop();
  });
});
