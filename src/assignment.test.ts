// Stable assignment of functions to replicas (rendezvous hashing): how many functions
// move when a function or a replica comes or goes. The counts are printed for the record.
import { describe, expect, it } from 'vitest';
import { assignOwner } from './assignment.js';

const fns = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `fn-${from + i}`);
const replicas = (n: number) => Array.from({ length: n }, (_, i) => `pod-${i}`);
const owners = (names: string[], live: string[]) => new Map(names.map((n) => [n, assignOwner(n, live)]));
const moved = (a: Map<string, string | null>, b: Map<string, string | null>) =>
  [...a].filter(([n, o]) => b.has(n) && b.get(n) !== o).length;

describe('assignOwner', () => {
  it('gives every function to one live replica, the same on every replica, whatever the order', () => {
    const live = replicas(4);
    for (const name of fns(50)) {
      const o = assignOwner(name, live);
      expect(live).toContain(o);
      expect(assignOwner(name, [...live].reverse())).toBe(o);
    }
    expect(assignOwner('x', [])).toBeNull();
  });

  it('adding or removing a function moves no other function', () => {
    const live = replicas(3);
    const before = owners(fns(200), live);
    const added = owners([...fns(200), 'fn-new'], live);
    const removed = owners(fns(199, 1), live);
    console.log(
      `rendezvous, 200 functions on 3 replicas: +1 function moves ${moved(before, added)}, -1 function moves ${moved(before, removed)}`,
    );
    expect(moved(before, added)).toBe(0);
    expect(moved(before, removed)).toBe(0);
  });

  it('a replica joining takes about 1/N of the functions, only from the others; one leaving moves only its own', () => {
    const names = fns(1000);
    const three = owners(names, replicas(3));
    const four = owners(names, replicas(4));
    const joined = moved(three, four);
    for (const [n, o] of four) if (three.get(n) !== o) expect(o).toBe('pod-3');
    const left = moved(four, three);
    const hadPod3 = [...four.values()].filter((o) => o === 'pod-3').length;
    const counts = replicas(4).map((r) => [...four.values()].filter((o) => o === r).length);
    console.log(
      `rendezvous, 1000 functions: a 4th replica joining moves ${joined} (ideal 250); it leaving moves ${left}; spread over 4: ${counts.join('/')}`,
    );
    expect(left).toBe(hadPod3);
    expect(joined).toBeGreaterThan(150);
    expect(joined).toBeLessThan(350);
    for (const c of counts) expect(c).toBeGreaterThan(150);
  });
});
