import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnreplicatedCommits } from './unreplicated-commits.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('UnreplicatedCommits', () => {
  it('counts every commit, tells listeners whose it was, and warns at most once a minute with the count meanwhile', () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const u = new UnreplicatedCommits(
      { replicas: 1, timeoutMs: 500, address: 'cluster 127.0.0.1:7000', now: () => Date.now() },
      {
        warn: ((_: unknown, msg: string) => warnings.push(msg)) as never,
      },
    );
    const guards: string[] = [];
    const stop = u.onRecord((g) => guards.push(g));

    u.record('redlet:{a}:owner', 0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^a commit \(function state and output, or registrations\) not acknowledged by a replica within 500 ms \(WAIT 1 500 answered 0\)/,
    );
    expect(warnings[0]).toContain('check the replicas of Redis at cluster 127.0.0.1:7000 (INFO replication)');

    vi.advanceTimersByTime(10_000);
    u.record('redlet:{b}:owner', 0);
    u.record('redlet:{a}:owner', 0);
    expect(warnings).toHaveLength(1);
    vi.advanceTimersByTime(49_999);
    expect(warnings).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/^2 commits \(function state and output, or registrations\) not acknowledged by a replica within 500 ms:/);

    // Nothing new: no more lines.
    vi.advanceTimersByTime(120_000);
    expect(warnings).toHaveLength(2);
    expect(u.total).toBe(3);
    expect(guards).toEqual(['redlet:{a}:owner', 'redlet:{b}:owner', 'redlet:{a}:owner']);
    stop();
    u.record('redlet:{c}:owner', 0);
    expect(guards).toHaveLength(3);
    expect(warnings).toHaveLength(3);
    u.close();
  });
});
