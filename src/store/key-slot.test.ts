import { describe, expect, it } from 'vitest';
import { hashPart, keySlot } from './key-slot.js';

describe('keySlot', () => {
  it("matches Redis' own CLUSTER KEYSLOT", () => {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT` on redis-server 7.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(hashPart('redlet:{avg}:state')).toBe('avg');
    expect(keySlot('redlet:{avg}:state')).toBe(keySlot('{avg}:owner'));
    expect(hashPart('a{}b{c}')).toBe('a{}b{c}');
    expect(hashPart('a{b')).toBe('a{b');
    expect(keySlot('é{ü}x')).toBe(keySlot('ü'));
  });
});
