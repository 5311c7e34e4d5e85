// A function another replica runs is described from the status its owner publishes in
// Redis; that JSON is read back through its schema, so a foreign or damaged one reads as
// "no owner yet" instead of reaching the pages as if it were a status.
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/types.js';
import type { FunctionDefinition } from './function-definition.js';
import type { FunctionRunner } from './function-runner.js';
import { FunctionStatus } from './function-status.js';
import { FunctionViews } from './function-views.js';
import { Keys } from './keys.js';
import { MemoryStore } from './store/memory-store.js';

const def = { name: 'avg', paused: false } as FunctionDefinition;
/** The parts of a runner FunctionViews reads. */
const runner = (status = new FunctionStatus('avg')) => ({ def, status, quarantined: null }) as unknown as FunctionRunner;
const sandbox = { stats: async () => ({ heapUsedBytes: 1, heapLimitBytes: 2, restarts: 0, cpuTimeMs: 3 }) } as unknown as Sandbox;

function views(store: MemoryStore, replicaId: string, runsHere: boolean) {
  return new FunctionViews(
    { runsHere: () => runsHere, outage: () => null, replicaCount: () => 2 },
    sandbox,
    store,
    new Keys('redlet:'),
    replicaId,
  );
}

describe('FunctionViews: a function another replica runs', () => {
  it('shows the status its owner published, read back through the schema', async () => {
    const store = new MemoryStore();
    const status = new FunctionStatus('avg');
    status.set('idle', 'waiting for key metrics');
    status.recordSuccess(1.5, 1000, '{"avg":1}');
    status.recordFailure({ code: 'TIMEOUT', name: 'TimeoutError', message: 'over 5 ms' }, 5, 2000);
    const owner = views(store, 'replica-a', true);
    await store.set(new Keys('redlet:').status('avg'), await owner.shared(runner(status)));

    const seen = await views(store, 'replica-b', false).view(runner());
    expect(seen.owner).toBe('replica-a');
    expect(seen.status).toEqual(status.snapshot());
    expect(seen.sandbox).toEqual({ heapUsedBytes: 1, heapLimitBytes: 2, restarts: 0, cpuTimeMs: 3 });
  });

  /** What replica-a publishes about a function whose last call timed out. */
  async function published(store: MemoryStore): Promise<{ status: { lastError: { code: string } } }> {
    const status = new FunctionStatus('avg');
    status.recordFailure({ code: 'TIMEOUT', name: 'TimeoutError', message: 'over 5 ms' }, 5, 2000);
    return JSON.parse(await views(store, 'replica-a', true).shared(runner(status))) as { status: { lastError: { code: string } } };
  }

  it.each([
    ['not JSON', async () => '{'],
    ['not a status', async () => '{"owner":"replica-a","status":{"state":"hacked"},"sandbox":null}'],
    [
      'a status with an unknown error code',
      async (store: MemoryStore) => {
        const shared = await published(store);
        shared.status.lastError.code = 'NOT_A_CODE';
        return JSON.stringify(shared);
      },
    ],
  ])('reads %s as no owner yet', async (_what, raw) => {
    const store = new MemoryStore();
    await store.set(new Keys('redlet:').status('avg'), await raw(store));
    const seen = await views(store, 'replica-b', false).view(runner());
    expect(seen.owner).toBeNull();
    expect(seen.status.detail).toBe('waiting for a replica to take it');
  });
});
