import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LUA_DIR, loadScripts, luaFiles, parseHeader, SCRIPT_NAMES } from './lua-scripts.js';

describe('Lua scripts', () => {
  it('every .lua file is a known script with a well-formed header naming KEYS, ARGV and what it returns', () => {
    const files = luaFiles().sort();
    expect(files).toEqual(SCRIPT_NAMES.map((n) => `${n}.lua`).sort());
    for (const file of files) {
      const text = readFileSync(new URL(file, LUA_DIR), 'utf8');
      const header = parseHeader(file, text);
      expect(header.summary.length, file).toBeGreaterThan(10);
      expect(header.returns.length, file).toBeGreaterThan(0);
      // A script with a fixed number of keys uses only the keys and arguments its header names.
      const body = text.slice(text.indexOf(']]\n') + 3);
      if (header.numberOfKeys !== null) {
        for (const [, i] of body.matchAll(/KEYS\[(\d+)\]/g))
          expect(Number(i), `${file}: KEYS[${i}]`).toBeLessThanOrEqual(header.numberOfKeys);
        for (const [, i] of body.matchAll(/ARGV\[(\d+)\]/g))
          expect(Number(i), `${file}: ARGV[${i}]`).toBeLessThanOrEqual(header.argv.length);
      }
    }
  });

  it('takes the number of keys from the header: fixed, or per call for a range', () => {
    const scripts = loadScripts();
    expect(scripts.get('renew')).toMatchObject({ command: 'renew', numberOfKeys: 1 });
    expect(scripts.get('release')).toMatchObject({ command: 'release', numberOfKeys: 1 });
    expect(scripts.get('exec-if')).toMatchObject({ command: 'execIf', numberOfKeys: null });
    expect(scripts.get('move-unless-present')).toMatchObject({ command: 'moveUnlessPresent', numberOfKeys: null });
  });

  it('refuses a header that names no KEYS, no ARGV, no return value or keys out of order', () => {
    const head = (lines: string) => `--[[\n  Does something useful here.\n\n${lines}\n]]\nreturn 1\n`;
    expect(() => parseHeader('x.lua', 'return 1\n')).toThrow(/does not open with/);
    expect(() => parseHeader('x.lua', head('  ARGV     none\n  Returns  1'))).toThrow(/names no KEYS/);
    expect(() => parseHeader('x.lua', head('  KEYS[1]  k\n  Returns  1'))).toThrow(/names no ARGV/);
    expect(() => parseHeader('x.lua', head('  KEYS[1]  k\n  ARGV     none'))).toThrow(/returns/);
    expect(() => parseHeader('x.lua', head('  KEYS[2]  k\n  ARGV     none\n  Returns  1'))).toThrow(/in order/);
    expect(() => parseHeader('x.lua', head('  KEYS[1..n]  k\n  KEYS[2]  k\n  ARGV     none\n  Returns  1'))).toThrow(/in order|last/);
    expect(parseHeader('x.lua', head('  KEYS[1]  a\n  KEYS[2]  b\n  ARGV[1]  v\n  Returns  1')).numberOfKeys).toBe(2);
  });
});
