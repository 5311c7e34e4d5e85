// The fast-path probation both runtimes follow: earned by short runs in a row, lost by a
// long one or by running past the synchronous budget.
import { describe, expect, it } from 'vitest';
import { FastPath } from './fast-path.js';

describe('FastPath', () => {
  it('starts on probation and earns the fast path with 8 short runs in a row', () => {
    const p = new FastPath();
    for (let i = 0; i < 7; i++) p.ranSlow(1, true);
    expect(p.fast).toBe(false);
    p.ranSlow(2, true);
    expect(p.fast).toBe(true);
  });

  it('starts counting again after a long or failed run on the slow path', () => {
    const p = new FastPath();
    for (let i = 0; i < 7; i++) p.ranSlow(1, true);
    p.ranSlow(3, true);
    for (let i = 0; i < 7; i++) p.ranSlow(1, true);
    p.ranSlow(1, false);
    for (let i = 0; i < 7; i++) p.ranSlow(1, true);
    expect(p.fast).toBe(false);
  });

  it('loses the fast path with a long run on it, and after a demotion earns it from zero', () => {
    const p = new FastPath();
    for (let i = 0; i < 8; i++) p.ranSlow(0, true);
    p.ranFast(2);
    expect(p.fast).toBe(true);
    p.ranFast(2.5);
    expect(p.fast).toBe(false);
    for (let i = 0; i < 8; i++) p.ranSlow(0, true);
    p.demote();
    expect(p.fast).toBe(false);
    for (let i = 0; i < 7; i++) p.ranSlow(0, true);
    expect(p.fast).toBe(false);
  });
});
