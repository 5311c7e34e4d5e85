import { afterEach, describe, expect, it, vi } from 'vitest';
import { PollTrigger } from './poll-trigger.js';

describe('PollTrigger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once per period on a fixed schedule, even when a timer runs a little early', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const fires: number[] = [];
    const t = new PollTrigger(100, { fire: () => fires.push(performance.now()) });
    t.start();
    // From now on every timer callback sees a clock half a millisecond short of its due time.
    const real = performance.now.bind(performance);
    vi.spyOn(performance, 'now').mockImplementation(() => real() - 0.5);
    await vi.advanceTimersByTimeAsync(1000);
    t.stop();
    // t = 0, 100, ..., 1000: one fire per period, never two for the same slot.
    expect(fires.length).toBe(11);
    expect(new Set(fires.map((f) => Math.round(f / 100))).size).toBe(fires.length);
  });

  it('counts ticks that could not fire on time as missed instead of firing them in a burst', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    let fired = 0;
    let missed = 0;
    const t = new PollTrigger(100, { fire: () => fired++, missed: (n) => (missed += n) });
    t.start();
    await vi.advanceTimersByTimeAsync(0);
    // The process is busy for 350 ms: the next timer runs late.
    vi.setSystemTime(Date.now());
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + 350);
    await vi.advanceTimersByTimeAsync(100);
    t.stop();
    expect(missed).toBe(2);
    expect(fired).toBe(2);
  });
});
