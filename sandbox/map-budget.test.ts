import { describe, expect, it } from 'vitest';
import { MapBudget } from './map-budget.js';
import { RedletError } from './errors.js';

describe('MapBudget', () => {
  it('refuses a new isolate with SANDBOX_FULL once the process nears the mapping limit', () => {
    let mappings = 1000;
    let counts = 0;
    const budget = new MapBudget({
      limit: 2000,
      reserve: 200,
      perIsolate: 10,
      recountEvery: 1000,
      count: () => {
        counts++;
        return mappings;
      },
    });
    let made = 0;
    const err = (() => {
      for (;;) {
        try {
          budget.beforeIsolate();
        } catch (e) {
          return e;
        }
        made++;
        mappings += 7; // what an isolate really maps
      }
    })();
    expect(err).toBeInstanceOf(RedletError);
    expect((err as RedletError).code).toBe('SANDBOX_FULL');
    expect((err as RedletError).message).toMatch(/vm\.max_map_count 2000/);
    // Room for (1800 - 1000) / 7 ≈ 114 isolates: the estimate recounts near the edge, so
    // nearly all of them fit, and the limit is never crossed.
    expect(made).toBeGreaterThan(100);
    expect(mappings).toBeLessThanOrEqual(1800);
    // Counting is rare: once at the start, then only near the edge.
    expect(counts).toBeLessThan(made / 2);
  });

  it('lets isolates in again once some are gone', () => {
    let mappings = 1795;
    const budget = new MapBudget({ limit: 2000, reserve: 200, perIsolate: 10, count: () => mappings });
    expect(() => budget.beforeIsolate()).toThrow(/SANDBOX_FULL|memory mappings/);
    mappings = 1500;
    expect(() => budget.beforeIsolate()).not.toThrow();
  });

  it('has no limit where the kernel sets none', () => {
    const budget = new MapBudget({ limit: null, count: () => Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < 10; i++) budget.beforeIsolate();
  });
});
