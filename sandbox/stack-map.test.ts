import { describe, expect, it } from 'vitest';
import { evaluate, fromZip } from '../test/helpers/bundle-harness.js';
import { bundleScriptName, type Bundle } from './bundle.js';
import { mapPosition, mapStack } from './stack-map.js';

const SCRIPT = bundleScriptName('myfn');
const zipBundle = (files: Record<string, string>): Promise<Bundle> => fromZip(files, 'handler', 'myfn');

/** Runs the handler in a fresh context compiled as SCRIPT and returns the stack it threw. */
function thrownStack(bundle: Bundle, input: unknown = {}): string {
  const handler = evaluate(bundle, SCRIPT)[bundle.exportName] as (i: unknown) => unknown;
  try {
    handler(input);
  } catch (err) {
    return (err as Error).stack ?? '';
  }
  throw new Error('the handler did not throw');
}

const FILES = {
  'index.js': [
    "import { check } from './lib/x.js';",
    "import { parse } from './lib/y.ts';",
    'export function handler(input) {',
    '  if (input.ts) return parse(input);',
    '  return check(input);',
    '}',
  ].join('\n'),
  'lib/x.js': [
    '// validation helpers',
    '',
    'export function check(input) {',
    "  if (typeof input.n !== 'number') {",
    "    throw new TypeError('n must be a number');",
    '  }',
    '  return input.n;',
    '}',
  ].join('\n'),
  'lib/y.ts': [
    'interface Input {',
    '  ts: boolean;',
    '}',
    'type Parsed = { ok: boolean };',
    '',
    'export function parse(input: Input): Parsed {',
    "  throw new RangeError('bad ts input: ' + String(input.ts));",
    '}',
  ].join('\n'),
};

describe('mapStack', () => {
  it('maps a throw back to lib/x.js and the calling line in index.js', async () => {
    const bundle = await zipBundle(FILES);
    const stack = thrownStack(bundle, {});
    expect(stack).toContain(`${SCRIPT}:`);
    const mapped = mapStack(stack, bundle, SCRIPT);
    expect(mapped).toMatch(/^TypeError: n must be a number\n/);
    expect(mapped).toContain('at check (redlet://myfn/lib/x.js:5:11)');
    expect(mapped).toContain('handler (redlet://myfn/index.js:5:10)');
    expect(mapped).not.toContain('bundle.js');
  });

  it('maps TypeScript back to the .ts line, types erased', async () => {
    const bundle = await zipBundle(FILES);
    const mapped = mapStack(thrownStack(bundle, { ts: true }), bundle, SCRIPT);
    expect(mapped).toContain('at parse (redlet://myfn/lib/y.ts:7:9)');
  });

  it('maps code from node_modules and CommonJS modules', async () => {
    const bundle = await zipBundle({
      'index.js': "const boom = require('boom');\nexports.handler = () => boom();",
      'node_modules/boom/index.js': "module.exports = function boom() {\n  throw new Error('from a package');\n};",
    });
    const mapped = mapStack(thrownStack(bundle), bundle, SCRIPT);
    expect(mapped).toContain('redlet://myfn/node_modules/boom/index.js:2:9');
    expect(mapped).toContain('redlet://myfn/index.js:2:');
  });

  it('leaves frames of other scripts and unmappable positions alone', async () => {
    const bundle = await zipBundle(FILES);
    const stack = [
      'Error: x',
      '    at check (redlet://myfn/bundle.js:999999:1)',
      '    at other (redlet://other/bundle.js:3:4)',
      '    at <anonymous>:1:1',
    ].join('\n');
    expect(mapStack(stack, bundle, SCRIPT)).toBe(stack);
    expect(mapStack('no frames at all', bundle, SCRIPT)).toBe('no frames at all');
  });

  it('treats the script name literally, not as a pattern', async () => {
    const bundle = await zipBundle(FILES);
    const stack = thrownStack(bundle, {});
    // '.' in the name must not match any character.
    expect(mapStack(stack.replaceAll('bundle.js', 'bundleXjs'), bundle, SCRIPT)).toBe(stack.replaceAll('bundle.js', 'bundleXjs'));
  });
});

describe('mapPosition', () => {
  it('maps a bundle position (1-based) to the original file, line and column', async () => {
    const bundle = await zipBundle(FILES);
    const lines = bundle.code.split('\n');
    const line =
      lines.findIndex(
        (l) => l.includes("throw new TypeError('n must be a number')") || l.includes('throw new TypeError("n must be a number")'),
      ) + 1;
    expect(line).toBeGreaterThan(0);
    const column = (lines[line - 1] ?? '').indexOf('throw') + 1;
    expect(mapPosition(bundle, line, column)).toEqual({ source: 'lib/x.js', line: 5, column: 5 });
  });

  it('returns null for positions outside the mapped code', async () => {
    const bundle = await zipBundle(FILES);
    expect(mapPosition(bundle, 1, 1)).toBeNull();
    expect(mapPosition(bundle, 0, 0)).toBeNull();
  });
});
