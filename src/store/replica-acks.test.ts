import { describe, expect, it } from 'vitest';
import { ReplicaAcks, type PrimaryConnection } from './replica-acks.js';
import { UnreplicatedCommits } from './unreplicated-commits.js';

/** A primary whose WAITs the test answers by hand, in order. */
function primary(id: string) {
  const calls: Array<{ answer: (acked: number) => void; fail: (err: Error) => void }> = [];
  const conn: PrimaryConnection = {
    id,
    wait: () => new Promise<number>((answer, fail) => calls.push({ answer, fail })),
  };
  return { conn, calls };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('ReplicaAcks', () => {
  let clock = 0;
  const setup = (primaryOf: (key: string) => PrimaryConnection | null) => {
    const report = new UnreplicatedCommits({ replicas: 1, timeoutMs: 500, address: 'test', now: () => clock }, null);
    const recorded: string[] = [];
    report.onRecord((k) => recorded.push(k));
    return { acks: new ReplicaAcks({ replicas: 1, timeoutMs: 500, holdMs: 10_000, now: () => clock }, primaryOf, report), recorded };
  };

  it('keeps one WAIT per primary out at a time; commits completed meanwhile share the next one', async () => {
    const p = primary('a');
    const { acks, recorded } = setup(() => p.conn);
    const first = acks.confirm('k1');
    await flush();
    expect(p.calls).toHaveLength(1);
    const later = [acks.confirm('k2'), acks.confirm('k3'), acks.confirm('k4')];
    await flush();
    expect(p.calls).toHaveLength(1);
    p.calls[0]!.answer(1);
    await first;
    await flush();
    expect(p.calls).toHaveLength(2);
    p.calls[1]!.answer(1);
    await Promise.all(later);
    expect(recorded).toEqual([]);
  });

  it('reports a short answer for every commit it covered, then does not wait on that primary for a while', async () => {
    const [a, b] = [primary('a'), primary('b')];
    const { acks, recorded } = setup((key) => (key.startsWith('a') ? a.conn : b.conn));
    const both = [acks.confirm('a1'), acks.confirm('b1')];
    await flush();
    a.calls[0]!.answer(0);
    b.calls[0]!.answer(1);
    await Promise.all(both);
    expect(recorded).toEqual(['a1']);

    // Held: counted at once, no WAIT sent; the other primary is waited on as before.
    clock += 9_999;
    await acks.confirm('a2');
    const other = acks.confirm('b2');
    await flush();
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(2);
    b.calls[1]!.answer(1);
    await other;
    expect(recorded).toEqual(['a1', 'a2']);

    // After the hold it is asked again.
    clock += 1;
    const again = acks.confirm('a3');
    await flush();
    expect(a.calls).toHaveLength(2);
    a.calls[1]!.answer(1);
    await again;
    expect(recorded).toEqual(['a1', 'a2']);
  });

  it('counts a commit as unacknowledged when its WAIT fails or its primary is unknown', async () => {
    const p = primary('a');
    const { acks, recorded } = setup((key) => (key === 'lost' ? null : p.conn));
    const c = acks.confirm('k');
    await flush();
    p.calls[0]!.fail(new Error('Connection is closed.'));
    await c;
    await acks.confirm('lost');
    expect(recorded).toEqual(['k', 'lost']);
  });
});
