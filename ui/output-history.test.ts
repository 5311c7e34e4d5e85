// The charts' history: what is kept from each output, and that nothing grows without bound.
import { describe, expect, it } from 'vitest';
import { numericFields, OutputHistory } from './output-history.js';

const T0 = 1_700_000_000_000;

describe('numericFields', () => {
  it('keeps the finite top-level numbers of an object', () => {
    expect([...numericFields('{"a":1,"b":"2","c":null,"d":{"e":3},"f":[4],"g":-0.5,"h":true}')]).toEqual([
      ['a', 1],
      ['g', -0.5],
    ]);
  });

  it('reads a bare number as the field "value" and ignores everything else', () => {
    expect([...numericFields('42.5')]).toEqual([['value', 42.5]]);
    expect(numericFields('"text"').size).toBe(0);
    expect(numericFields('[1,2]').size).toBe(0);
    expect(numericFields('not json').size).toBe(0);
  });
});

describe('OutputHistory', () => {
  it('keeps one aligned array per field, with gaps where an output lacked the field', () => {
    const h = new OutputHistory();
    h.record('f', '{"a":1}', T0);
    h.record('f', '{"a":2,"b":10}', T0 + 5000);
    h.record('f', '{"b":11}', T0 + 10_000);
    expect(h.series('f')).toEqual({
      times: [T0, T0 + 5000, T0 + 10_000],
      fields: [
        { key: 'a', values: [1, 2, null] },
        { key: 'b', values: [null, 10, 11] },
      ],
      droppedFields: 0,
    });
  });

  it('ignores outputs with no number, null outputs and outputs over the size cap', () => {
    const h = new OutputHistory({ maxOutputChars: 20 });
    h.record('f', null, T0);
    h.record('f', '{"s":"x"}', T0);
    h.record('f', `{"a":1,"pad":"${'x'.repeat(30)}"}`, T0);
    expect(h.series('f')).toBeNull();
  });

  it('drops points older than the window', () => {
    const h = new OutputHistory({ windowMs: 60_000, maxPoints: 600 });
    for (let i = 0; i <= 120; i++) h.record('f', `{"a":${i}}`, T0 + i * 1000);
    const s = h.series('f')!;
    expect(s.times[0]).toBe(T0 + 60_000);
    expect(s.times.at(-1)).toBe(T0 + 120_000);
    expect(s.fields[0]!.values[0]).toBe(60);
  });

  it('never keeps more than maxPoints: outputs closer than window/maxPoints overwrite the newest point', () => {
    const h = new OutputHistory({ windowMs: 10_000, maxPoints: 10 });
    // 100 outputs 100 ms apart: one slot per second.
    for (let i = 0; i < 100; i++) h.record('f', `{"a":${i}}`, T0 + i * 100);
    const s = h.series('f')!;
    expect(s.times.length).toBeLessThanOrEqual(10);
    expect(s.fields[0]!.values.at(-1)).toBe(99);
    expect(s.times.at(-1)).toBe(T0 + 9900);
  });

  it('keeps times in order when the clock steps back', () => {
    const h = new OutputHistory();
    h.record('f', '{"a":1}', T0 + 10_000);
    h.record('f', '{"a":2}', T0);
    const s = h.series('f')!;
    expect(s.times).toEqual([T0 + 10_000]);
    expect(s.fields[0]!.values).toEqual([2]);
  });

  it('caps the fields per function and counts the rest', () => {
    const h = new OutputHistory({ maxFields: 3 });
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    h.record('f', JSON.stringify(wide), T0);
    const s = h.series('f')!;
    expect(s.fields.map((f) => f.key)).toEqual(['k0', 'k1', 'k2']);
    expect(s.droppedFields).toBe(47);
  });

  it('frees the slot of a field that left the window', () => {
    const h = new OutputHistory({ windowMs: 10_000, maxPoints: 100, maxFields: 1 });
    h.record('f', '{"old":1}', T0);
    h.record('f', '{"new":1}', T0 + 20_000);
    h.record('f', '{"new":2}', T0 + 21_000);
    expect(h.series('f')!.fields.map((f) => f.key)).toEqual(['new']);
  });

  it('hands out copies, and forgets a function', () => {
    const h = new OutputHistory();
    h.record('a', '{"x":1}', T0);
    h.record('b', '{"x":1}', T0);
    h.series('a')!.times.push(0);
    expect(h.series('a')!.times).toEqual([T0]);
    h.forget('a');
    expect(h.series('a')).toBeNull();
    expect(h.series('b')).not.toBeNull();
  });

  it("follows the runtime's invocations and removals, and stops when unsubscribed", () => {
    const invoked = new Set<(e: { name: string; output: string | null; at: number }) => void>();
    const removed = new Set<(name: string) => void>();
    const runtime = {
      onInvocation(l: (e: never) => void) {
        invoked.add(l as never);
        return () => invoked.delete(l as never);
      },
      onRemoved(l: (name: string) => void) {
        removed.add(l);
        return () => removed.delete(l);
      },
    };
    const h = new OutputHistory();
    const stop = h.attach(runtime as never);
    const now = Date.now();
    const emit = (name: string, at: number) => {
      for (const l of invoked) l({ name, output: '{"a":1}', at });
    };
    emit('f', now);
    emit('gone', now);
    expect(h.series('gone')).not.toBeNull();
    // The runtime removed it (deleted here or by another replica): its history goes at once.
    for (const l of removed) l('gone');
    expect(h.series('gone')).toBeNull();
    emit('f', now + 61_000);
    stop();
    expect([invoked.size, removed.size]).toEqual([0, 0]);
    expect(h.series('f')!.fields[0]!.values).toEqual([1, 1]);
  });
});
