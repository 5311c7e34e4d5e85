import { describe, expect, it } from 'vitest';
import { decodeState, EMPTY_STATE, encodeState, MAX_STORED_ENV_BYTES } from './persisted-state.js';

describe('persisted state', () => {
  it('reads back what it writes, pending output included; nothing stored is the empty state', () => {
    const s = { env: '{"n":[1,2]}', lastSeen: 'abc', revision: 'r1', lastExecution: 42, pending: { key: 'out', value: '{"v":1}' } };
    expect(decodeState(encodeState(s))).toEqual(s);
    expect(decodeState(encodeState(EMPTY_STATE))).toEqual(EMPTY_STATE);
    expect(decodeState(null)).toEqual(EMPTY_STATE);
    // Fields an older redlet did not write take their empty value.
    expect(decodeState('{"env":{"a":1}}')).toEqual({ ...EMPTY_STATE, env: '{"a":1}' });
  });

  it.each([
    ['{', 'not valid JSON'],
    ['[]', 'not a JSON object'],
    ['"text"', 'not a JSON object'],
    ['{"env":{},"extra":1}', "unknown field 'extra'"],
    ['{"env":[]}', 'env is not a JSON object'],
    ['{"env":null}', 'env is not a JSON object'],
    ['{"lastSeen":5}', 'lastSeen is not a string'],
    ['{"revision":{}}', 'revision is not a string'],
    ['{"lastExecution":"yesterday"}', 'lastExecution is not a number'],
    ['{"pending":{"key":"out"}}', 'pending is not {key, value}'],
    ['{"pending":"out"}', 'pending is not {key, value}'],
  ])('refuses %s: %s', (raw, why) => {
    expect(() => decodeState(raw)).toThrow(expect.objectContaining({ code: 'STATE_INVALID', message: `stored state refused: ${why}` }));
  });

  it('refuses an env over the cap', () => {
    const big = encodeState({ ...EMPTY_STATE, env: JSON.stringify({ s: 'x'.repeat(MAX_STORED_ENV_BYTES + 5000) }) });
    expect(() => decodeState(big)).toThrow(/stored state refused: over \d+ bytes/);
    const justOver = encodeState({ ...EMPTY_STATE, env: JSON.stringify({ s: 'x'.repeat(MAX_STORED_ENV_BYTES - 5) }) });
    expect(() => decodeState(justOver)).toThrow(/stored state refused: env is over \d+ bytes/);
  });
});
