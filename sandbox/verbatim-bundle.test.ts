// A lone ES module with only `export` in front of declarations runs as is, without the
// esbuild round trip (bundle.ts, verbatimBundle). It must behave exactly as esbuild's
// output: each case runs through the sandbox twice, as is and through esbuild (a
// trailing `// this` comment rules the file out of the verbatim path), and must give
// the same result, logs, error and mapped stack position.
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFunction } from './bundle.js';
import { InProcessSandbox } from './in-process.js';
import type { ContextFields } from './types.js';

const context: ContextFields = {
  host: 'localhost',
  port: 6379,
  input_key: 'in',
  output_key: 'out',
  function_getmtime: '2024-11-20 14:03:15',
  last_execution: null,
  function_name: 'fn',
};

/** Rules a file out of the verbatim path, changing nothing else about it. */
const VIA_ESBUILD = '\n// this\n';

/** True when the file would run as is (false also when esbuild refuses it). */
const verbatim = (code: string, filename = 'fn.js', handler = 'handler') =>
  bundleFunction({ kind: 'file', filename, code }, handler, { name: 'fn', verbatim: true }).then(
    (b) => b.verbatim !== undefined,
    () => false,
  );

const box = new InProcessSandbox();
afterAll(() => box.close());
let n = 0;

/** Loads and invokes once; what a user sees of it (a stack reduced to its first mapped frame). */
async function outcome(code: string, input: unknown = { x: 2 }): Promise<unknown> {
  const id = `f${n++}`;
  try {
    await box.load(id, {
      source: { kind: 'file', filename: 'fn.js', code },
      handler: 'handler',
      memoryMb: 16,
      timeoutMs: 500,
      env: '{}',
      name: 'fn',
    });
  } catch (err) {
    return { load: (err as { code?: string }).code, message: (err as Error).message };
  }
  const r = await box.invoke(id, { input: JSON.stringify(input), context, maxOutputBytes: 1 << 20 });
  await box.dispose(id);
  const frame = /fn\.js:\d+:\d+/.exec(r.error?.stack ?? '')?.[0] ?? null;
  return { ok: r.ok, output: r.output, logs: r.logs.map((l) => l.msg), error: r.error && { ...r.error, stack: frame } };
}

describe('verbatim bundles', () => {
  it('are made only for files nothing would change', async () => {
    for (const code of [
      'export function handler(input) { return input; }\n',
      'export const handler = async (i) => i.x;',
      'export async function handler() {}\nexport function* gen() {}\nexport class Box {}\nexport let a = 1;\nexport var b = 2;',
    ])
      expect(await verbatim(code), code).toBe(true);
    expect(await verbatim('export function handler() {}', 'fn.mjs')).toBe(true);
    for (const code of [
      'export function handler() { return `t`; }', // a template literal could hide an `export` line
      'export function handler() { return this; }', // esbuild rewrites a top-level `this`
      "'use strict';\nexport function handler() {}",
      'export function handler() { return process.env.NODE_ENV; }', // esbuild defines it
      'export default function handler() {}',
      'function handler() {}\nexport { handler };',
      'export const a = 1; export function handler() {}', // an `export` not at the start of a line
      'export function other() {}\n// export function handler() {}',
      'export function handler() {}\r\n',
      'export function handler() { return 1 }\n<!-- a comment only scripts allow',
    ])
      expect(await verbatim(code), code).toBe(false);
    expect(await verbatim('export function handler() {}', 'fn.ts')).toBe(false);
    expect(await verbatim('export function handler() {}', 'fn.js', 'other')).toBe(false);
  });

  // [what, code, runs as is]: the files that fail run as is first, then through esbuild.
  const same: Array<[string, string, boolean]> = [
    ['an echo', 'export function handler(input) { return input; }', true],
    ['sloppy mode', 'export function handler(i) { undeclared = i.x; return [typeof undeclared, typeof arguments.callee] }', true],
    ['a function scope', 'var hidden = 1;\nexport function handler() { return [typeof globalThis.hidden, hidden] }', true],
    ['hoisting', 'export function handler() { return helper() }\nexport function helper() { return "h" }', true],
    ['a binding set after the export', 'export const handler = () => later;\nlet later = "set";', true],
    [
      'generators and classes',
      'export function* gen() { yield 1; yield 2 }\nexport class Box { constructor(v) { Box.last = v } }\nexport function handler() { new Box(3); return [...gen()].concat(Box.last) }',
      true,
    ],
    ['an async handler', 'export async function handler(i) { await null; return i.x * 2 }', true],
    [
      'arrows, blocks and a sloppy global',
      'export const handler = (i) => { if (i.x) { g = i.x } { let k = 1; g += k } return [g, typeof globalThis.g] }',
      true,
    ],
    ['logs at load and at run', 'console.log("loaded");\nexport function handler(i) { console.log("run", i.x); return 1 }', true],
    ['an error at run', 'const a = 1;\n\nexport function handler() {\n  throw new TypeError("bad " + a);\n}', true],
    ['an error at load', 'const x = 1;\nthrow new Error("top " + x);\nexport const handler = () => 1', true],
    ['a handler that is not a function', 'export const handler = 5;', true],
    ['a legacy octal literal', 'export function handler() { return 010 }', true],
    ['a with statement', 'export function handler(i) { with (i) { return x } }', true],
    ['duplicate parameters', 'export function handler(a, a) { return a }', true],
    ['top-level await', 'await null;\nexport function handler() { return 1 }', true],
    ['a top-level return', 'export function handler() { return 1 }\nreturn;', true],
    ['await as a name', 'var await = 1;\nexport function handler() { return 1 }', true],
    ['top-level arguments', 'export const handler = () => arguments.length;', true],
    ['a syntax error', 'export function handler() { return ( }', true],
    ['a missing handler', 'export function other() {}\nexport const handlers = 1;', false],
    ['a function in a block', 'if (true) { function inner() { return 1 } }\nexport function handler() { return typeof inner }', false],
  ];

  it.each(same)('behave as esbuild output: %s', async (_what, code, asIs) => {
    expect(await verbatim(code)).toBe(asIs);
    expect(await outcome(code)).toEqual(await outcome(code + VIA_ESBUILD));
  });

  it('map a stack to the line and column in the file', async () => {
    const r = (await outcome('const a = 1;\n\nexport function handler() {\n  throw new TypeError("bad " + a);\n}')) as {
      error: { stack: string };
    };
    expect(r.error.stack).toBe('fn.js:4:9');
  });
});
