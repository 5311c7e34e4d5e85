/**
 * JSON text as redlet reads it from people (request bodies, a function's input):
 * parsed with a clear error, and refused past a nesting depth that serializing back
 * would recurse too far on.
 *
 * @example
 * parseJson('{"a":1}'); // { a: 1 }
 * jsonDepth('[[1]]'); // 2
 */
import { RedletError } from './errors.js';

/** Deepest nesting accepted in JSON redlet reads or writes back (serializing deeper recurses too far). */
export const MAX_JSON_DEPTH = 1000;

/**
 * Parses JSON text or throws 400 `INVALID_JSON` with the parser's reason.
 *
 * @example
 * parseJson('{"a":1}'); // { a: 1 }
 * parseJson('{', 'the input'); // throws INVALID_JSON: the input is not valid JSON: ...
 */
export function parseJson(text: string, what = 'the request body'): unknown {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH)
    throw new RedletError('INVALID_JSON', `${what} nests arrays and objects ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RedletError('INVALID_JSON', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** How deep arrays and objects nest in JSON text (brackets inside strings do not count); one pass, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}
