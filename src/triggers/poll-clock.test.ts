import { afterEach, describe, expect, it, vi } from 'vitest';
import { PollClock } from './poll-clock.js';
import { PollTrigger } from './poll-trigger.js';

describe('PollClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires everything due in one grid slot from one timer, in order of registration', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new PollClock(10);
    const t0 = performance.now();
    const fired: Array<[string, number]> = [];
    const spy = vi.spyOn(globalThis, 'setTimeout');
    clock.at(t0 + 21, () => fired.push(['a', performance.now() - t0]));
    clock.at(t0 + 29, () => fired.push(['b', performance.now() - t0]));
    clock.at(t0 + 5, () => fired.push(['c', performance.now() - t0]));
    await vi.advanceTimersByTimeAsync(100);
    expect(fired.map(([n]) => n)).toEqual(['c', 'a', 'b']);
    // a and b (21 and 29 ms) share the slot ending at 30 ms; c fired at 10 ms.
    expect(fired.map(([, t]) => Math.round(t))).toEqual([10, 30, 30]);
    // Timers armed: one for the first slot, re-armed once for an earlier one, one after c fired.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(3);
    expect(clock.size).toBe(0);
  });

  it('cancelled callbacks never fire and the timer goes away with the last one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new PollClock(10);
    let fired = 0;
    const c1 = clock.at(performance.now() + 50, () => fired++);
    const c2 = clock.at(performance.now() + 50, () => fired++);
    c1();
    c1();
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).toBe(1);
    c2(); // after it fired: nothing happens
    clock.at(performance.now() + 50, () => fired++)();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('1,000 triggers at the same period share a handful of timer wake-ups per period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const clock = new PollClock(10);
    let fires = 0;
    const triggers = Array.from({ length: 1000 }, (_, i) => new PollTrigger(1000, { fire: () => fires++ }, i % 1000, clock));
    for (const t of triggers) t.start();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    await vi.advanceTimersByTimeAsync(5000);
    for (const t of triggers) t.stop();
    expect(fires).toBeGreaterThanOrEqual(5000);
    // At most one wake-up per 10 ms slot, not one per trigger and tick.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(5000 / 10 + 5);
    expect(clock.size).toBe(0);
  });
});
