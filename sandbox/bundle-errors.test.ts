import { describe, expect, it } from 'vitest';
import { call, fromFile, fromZip, rejection, zipOf } from '../test/helpers/bundle-harness.js';
import { bundleFunction } from './bundle.js';

describe('bundleFunction: load errors', () => {
  it('LOAD_BUILTIN: import of a Node built-in names the module and file:line', async () => {
    const err = await rejection(
      fromZip({
        'index.js': "import { read } from './lib/a.js';\nexport const handler = read;",
        'lib/a.js': "// reads a file\n\nimport fs from 'fs';\nexport const read = () => fs.readFileSync('/etc/passwd');",
      }),
    );
    expect(err.code).toBe('LOAD_BUILTIN');
    expect(err.kind).toBe('user');
    expect(err.message).toBe("Node built-in module 'fs' is not available in redlet functions (imported by lib/a.js:3)");
    expect(err.details).toMatchObject({ errors: [{ code: 'LOAD_BUILTIN', file: 'lib/a.js', line: 3 }] });
  });

  it('LOAD_BUILTIN: require of a node: built-in', async () => {
    const err = await rejection(
      fromFile('usermodule.js', "const cp = require('node:child_process');\nexports.handler = () => cp.execSync('id');"),
    );
    expect(err.code).toBe('LOAD_BUILTIN');
    expect(err.message).toBe(
      "Node built-in module 'node:child_process' is not available in redlet functions (imported by usermodule.js:1)",
    );
    const missing = await rejection(
      fromZip({ 'lib/a.js': "\nmodule.exports = require('./gone');", 'index.js': "exports.handler = require('./lib/a.js');" }),
    );
    expect(missing.code).toBe('LOAD_MODULE_NOT_FOUND');
    expect(missing.message).toBe("Cannot find module './gone' (imported by lib/a.js:2)");
  });

  it('LOAD_BUILTIN: import() of a built-in, and export-from', async () => {
    const dyn = await rejection(fromFile('index.js', "export async function handler() {\n  return import('net');\n}"));
    expect(dyn.message).toBe("Node built-in module 'net' is not available in redlet functions (imported by index.js:2)");
    const reexport = await rejection(fromFile('index.js', "export * from 'http';\nexport const handler = 1;"));
    expect(reexport.code).toBe('LOAD_BUILTIN');
  });

  it('a require()/import() guarded by a catch (an optional dependency) loads and fails only when it runs, as in Node', async () => {
    const b = await fromZip({
      'index.js': [
        'let fs = null;',
        "try { fs = require('fs'); } catch (e) { fs = e.message; }",
        "let opt; try { opt = require('optional-dep'); } catch { opt = 'missing'; }",
        "exports.handler = async () => [fs, opt, await import('./nope.js').catch(() => 'caught')];",
      ].join('\n'),
    });
    expect(await call(b)).toEqual(['Dynamic require of "fs" is not supported', 'missing', 'caught']);
    expect(b.warnings).toEqual([
      "index.js: Node built-in module 'fs' is not available in redlet functions; the call is guarded by a catch, so it fails only when it runs",
      "index.js: Cannot find module 'optional-dep': no node_modules/optional-dep folder in the upload holds it; the call is guarded by a catch, so it fails only when it runs",
      "index.js: Cannot find module './nope.js'; the call is guarded by a catch, so it fails only when it runs",
    ]);
  });

  it('LOAD_MODULE_NOT_FOUND: a missing file and a missing package', async () => {
    const file = await rejection(fromZip({ 'index.js': "export const a = 1;\nimport x from './nope.js';\nexport const handler = x;" }));
    expect(file.code).toBe('LOAD_MODULE_NOT_FOUND');
    expect(file.message).toBe("Cannot find module './nope.js' (imported by index.js:2)");
    const pkg = await rejection(fromFile('index.js', "import _ from 'lodash';\nexport const handler = _;"));
    expect(pkg.message).toBe("Cannot find module 'lodash': no node_modules/lodash folder in the upload holds it (imported by index.js:1)");
    const outside = await rejection(fromFile('index.js', "import x from '../../etc/passwd';\nexport const handler = x;"));
    expect(outside.message).toContain("it points outside the function's files");
  });

  it('LOAD_UNSUPPORTED_FILE: an import esbuild has no loader for', async () => {
    const err = await rejection(fromZip({ 'index.js': "import './style.css';\nexport const handler = 1;", 'style.css': 'body {}' }));
    expect(err.code).toBe('LOAD_UNSUPPORTED_FILE');
    expect(err.message).toContain("Cannot import 'style.css'");
  });

  it('LOAD_SYNTAX: file:line:column and the parser message', async () => {
    const err = await rejection(
      fromZip({
        'index.js': "import { f } from './lib/bad.js';\nexport const handler = f;",
        'lib/bad.js': 'export function f() {\n  const x = = 1;\n}\n',
      }),
    );
    expect(err.code).toBe('LOAD_SYNTAX');
    expect(err.message).toBe('lib/bad.js:2:13: Unexpected "="');
  });

  it('LOAD_SYNTAX: columns count characters, not UTF-8 bytes', async () => {
    const err = await rejection(fromFile('index.js', 'const s = "héllo wörld"; const x = = 1;\nexport const handler = s;'));
    expect(err.message).toBe('index.js:1:36: Unexpected "="');
  });

  it('LOAD_SYNTAX: a TypeScript syntax error', async () => {
    const err = await rejection(fromFile('fn.ts', 'export const handler = (x: number) => {\n  return x +;\n};'));
    expect(err.code).toBe('LOAD_SYNTAX');
    expect(err.message).toMatch(/^fn\.ts:2:\d+: /);
  });

  it('LOAD_SYNTAX: several errors are listed, at most 5', async () => {
    const files: Record<string, string> = { 'index.js': '' };
    for (let i = 0; i < 7; i++) {
      files['index.js'] += `import './m${i}.js';\n`;
      files[`m${i}.js`] = `let a${i} = ;`;
    }
    files['index.js'] += 'export const handler = 1;';
    const err = await rejection(fromZip(files));
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe('... and 2 more errors');
    expect(lines[0]).toMatch(/^m\d\.js:1:\d+: Unexpected ";"$/);
  });

  it('top-level await is refused with a clear message', async () => {
    const err = await rejection(fromFile('index.js', 'const config = await Promise.resolve(1);\nexport const handler = () => config;'));
    expect(err.code).toBe('LOAD_SYNTAX');
    expect(err.message).toBe(
      'index.js:1:16: top-level await is not supported in redlet functions; move the await into the handler (or into a function it calls)',
    );
  });

  it('ZIP and handler errors pass through', async () => {
    expect(
      (await rejection(bundleFunction({ kind: 'zip', filename: 'x.zip', data: new Uint8Array([1, 2, 3]) }, 'handler', { name: 't' }))).code,
    ).toBe('ZIP_CORRUPT');
    expect((await rejection(fromFile('usermodule.js', 'export const handler = 1;', 'other.handler'))).code).toBe(
      'HANDLER_MODULE_NOT_FOUND',
    );
    const tooMany = bundleFunction({ kind: 'zip', filename: 'x.zip', data: await zipOf({ 'a.js': '', 'b.js': '' }) }, 'a.handler', {
      name: 't',
      zipLimits: { maxEntries: 1 },
    });
    expect((await rejection(tooMany)).code).toBe('ZIP_TOO_MANY_ENTRIES');
  });

  it('warnings are reported, not fatal', async () => {
    const b = await fromZip({
      'index.js': "import * as lib from './lib.js';\nexport const handler = () => lib.missing;",
      'lib.js': 'export const present = 1;',
    });
    expect(b.warnings.join('\n')).toMatch(/index\.js:2:\d+: Import "missing" will always be undefined/);
  });
});
