// The one validation of function keys: redlet's own namespace in every spelling,
// REDLET_FUNCTION_KEYS confinement, self-triggering keyspace functions, and stored
// definitions checked against the API's rules.
import { describe, expect, it } from 'vitest';
import { checkFunctionKey, globToRegExp, validateSettings, validateStoredDefinition, type KeyPolicy } from './function-definition.js';
import { isReservedKey } from './keys.js';

const policy: KeyPolicy = { reserved: ['redlet:', 'tenant-b:'], allowed: null };
const base = {
  handler: 'handler',
  inputKey: 'metrics',
  outputKey: 'out',
  trigger: 'poll',
  period: 5,
  invokeOn: 'change',
  memoryMb: 64,
  timeoutMs: 5000,
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('reserved keys', () => {
  it.each([
    'redlet:fn:avg',
    '{redlet}:fn:avg',
    '{redlet:}state:x',
    'red{}let:owner:a',
    '{re}{dlet:}x',
    'redlet:',
    'tenant-b:functions',
    '{tenant-b}:x',
  ])('refuses %s', (key) => {
    expect(isReservedKey(key, policy.reserved)).toBe(true);
    expect(codeOf(() => validateSettings({ ...base, inputKey: key }, policy))).toBe('RESERVED_KEY');
    expect(codeOf(() => validateSettings({ ...base, outputKey: key }, policy))).toBe('RESERVED_KEY');
  });

  it.each(['metrics', 'Redlet:fn', 'redlet', 'redlet-output', 'x:redlet:fn', 'tenant-a:x'])('accepts %s', (key) => {
    expect(isReservedKey(key, policy.reserved)).toBe(false);
    expect(validateSettings({ ...base, inputKey: key }, policy).inputKey).toBe(key);
  });

  it('a hash-tagged prefix reserves its plain spelling too', () => {
    expect(isReservedKey('redlet:fn:a', ['{redlet}:'])).toBe(true);
  });

  it('names the field at fault', () => {
    try {
      validateSettings({ ...base, outputKey: 'redlet:state:victim' }, policy);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'RESERVED_KEY', details: { field: 'outputKey' } });
      expect((err as Error).message).toContain("redlet's own key namespace");
    }
  });
});

describe('REDLET_FUNCTION_KEYS', () => {
  const confined: KeyPolicy = { reserved: ['redlet:'], allowed: ['metrics*', '*-output', 'a?c', 'lit\\*'] };

  it('accepts only keys matching a glob', () => {
    for (const k of ['metrics', 'metrics-2', 'avg-output', 'abc', 'lit*'])
      expect(() => checkFunctionKey(k, 'inputKey', confined)).not.toThrow();
    for (const k of ['other', 'avg-output2', 'ac', 'litx', 'xmetrics'])
      expect(codeOf(() => checkFunctionKey(k, 'inputKey', confined))).toBe('KEY_NOT_ALLOWED');
  });

  it('never lets a glob open redlet’s namespace', () => {
    expect(codeOf(() => checkFunctionKey('redlet:fn:a', 'outputKey', { reserved: ['redlet:'], allowed: ['*'] }))).toBe('RESERVED_KEY');
  });

  it('escapes regular-expression characters', () => {
    expect(globToRegExp('a.b(c)+').test('a.b(c)+')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('self-triggering keyspace functions', () => {
  it('refuses output key = input key with the keyspace trigger', () => {
    expect(codeOf(() => validateSettings({ ...base, trigger: 'keyspace', inputKey: 'k', outputKey: 'k' }, policy))).toBe('SELF_TRIGGER');
  });
  it('allows it for polling (one run per period at most)', () => {
    expect(validateSettings({ ...base, trigger: 'poll', inputKey: 'k', outputKey: 'k' }, policy).outputKey).toBe('k');
  });
});

describe('stored definitions', () => {
  const stored = {
    ...base,
    name: 'avg',
    origin: 'api',
    filename: 'avg.js',
    sourceKind: 'file',
    codeUpdatedAt: 1,
    createdAt: 1,
    updatedAt: 1,
    paused: false,
  };

  it('accepts what the API stores', () => {
    expect(validateStoredDefinition(stored, 'avg', policy)).toEqual(stored);
  });

  it.each([
    ['a limit beyond the maxima', { memoryMb: 100_000 }],
    ['origin config', { origin: 'config' }],
    ['a reserved output key', { outputKey: '{redlet}:owner:victim' }],
    ['an unknown field', { extra: 1 }],
    ['a string number', { timeoutMs: '5000' }],
    ['a self-triggering keyspace function', { trigger: 'keyspace', outputKey: 'metrics' }],
  ])('refuses %s', (_what, patch) => {
    expect(codeOf(() => validateStoredDefinition({ ...stored, ...patch }, 'avg', policy))).toBe('DEFINITION_INVALID');
  });

  it('refuses a definition stored under another name', () => {
    expect(codeOf(() => validateStoredDefinition(stored, 'other', policy))).toBe('DEFINITION_INVALID');
  });
});
