import { describe, expect, it } from 'vitest';
import { Keys } from './keys.js';

describe('Keys.nameOf', () => {
  it("names the function whose own key it is, and nothing else's", () => {
    const keys = new Keys('app:redlet:');
    for (const k of [keys.state('avg'), keys.owner('avg'), keys.definition('avg'), keys.code('avg'), keys.status('avg')])
      expect(keys.nameOf(k)).toBe('avg');
    expect(keys.nameOf(keys.functions())).toBeNull();
    expect(keys.nameOf('redlet:{avg}:state')).toBeNull();
    expect(keys.nameOf('app:redlet:{avg')).toBeNull();
    expect(keys.nameOf('{avg}:output')).toBeNull();
  });
});
