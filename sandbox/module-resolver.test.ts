import { describe, expect, it } from 'vitest';
import { RedletError } from './errors.js';
import { ModuleResolver } from './module-resolver.js';

function resolverOf(files: Record<string, string>): ModuleResolver {
  return new ModuleResolver(new Map(Object.entries(files).map(([p, t]) => [p, new TextEncoder().encode(t)])));
}

describe('ModuleResolver', () => {
  const r = resolverOf({
    'index.js': '',
    'lib/a.js': '',
    'lib/a/index.js': '',
    'lib/b.ts': '',
    'lib/c.json': '',
    'lib/pkg/package.json': '{ "main": "missing.js" }',
    'lib/pkg/index.mjs': '',
    'node_modules/top/index.js': '',
    'node_modules/top/node_modules/inner/index.js': '',
    'node_modules/top/lib/x.js': '',
    'node_modules/@s/p/package.json': '{ "module": "esm.js", "main": "cjs.js" }',
    'node_modules/@s/p/esm.js': '',
    'node_modules/@s/p/cjs.js': '',
    'node_modules/node_modules/nope/index.js': '',
  });

  it('relative paths: file first, then extensions, then folder; a trailing slash means the folder', () => {
    expect(r.resolve('./lib/a', 'index.js', 'import')).toEqual({ kind: 'file', path: 'lib/a.js' });
    expect(r.resolve('./lib/a/', 'index.js', 'import')).toEqual({ kind: 'file', path: 'lib/a/index.js' });
    expect(r.resolve('../c.json', 'lib/a/index.js', 'import')).toEqual({ kind: 'file', path: 'lib/c.json' });
    expect(r.resolve('/lib/a.js', 'lib/a/index.js', 'import')).toEqual({ kind: 'file', path: 'lib/a.js' });
    expect(r.resolve('.', 'lib/a/x.js', 'import')).toEqual({ kind: 'file', path: 'lib/a/index.js' });
  });

  it('TypeScript imports by the compiled name (./b.js finds b.ts)', () => {
    expect(r.resolve('./b.js', 'lib/a.js', 'import')).toEqual({ kind: 'file', path: 'lib/b.ts' });
  });

  it('a folder whose package.json main is missing falls back to index', () => {
    expect(r.resolve('./lib/pkg', 'index.js', 'import')).toEqual({ kind: 'file', path: 'lib/pkg/index.mjs' });
  });

  it('bare specifiers walk node_modules up from the importer, never into node_modules/node_modules', () => {
    expect(r.resolve('inner', 'node_modules/top/lib/x.js', 'require')).toEqual({
      kind: 'file',
      path: 'node_modules/top/node_modules/inner/index.js',
    });
    expect(r.resolve('inner', 'index.js', 'require').kind).toBe('missing');
    expect(r.resolve('top/lib/x', 'lib/a/index.js', 'import')).toEqual({ kind: 'file', path: 'node_modules/top/lib/x.js' });
    expect(r.resolve('nope', 'node_modules/top/index.js', 'import').kind).toBe('missing');
  });

  it('module field for import, main field for require', () => {
    expect(r.resolve('@s/p', 'index.js', 'import')).toEqual({ kind: 'file', path: 'node_modules/@s/p/esm.js' });
    expect(r.resolve('@s/p', 'index.js', 'require')).toEqual({ kind: 'file', path: 'node_modules/@s/p/cjs.js' });
  });

  it('built-ins, #imports and escapes', () => {
    expect(r.resolve('node:fs', 'index.js', 'import')).toEqual({ kind: 'builtin', name: 'node:fs' });
    expect(r.resolve('fs/promises', 'index.js', 'import')).toEqual({ kind: 'builtin', name: 'fs/promises' });
    expect(r.resolve('#internal', 'index.js', 'import')).toMatchObject({ kind: 'missing', reason: expect.stringContaining('"imports"') });
    expect(r.resolve('../../x', 'lib/a.js', 'import')).toMatchObject({ kind: 'missing', reason: expect.stringContaining('outside') });
  });

  it('#imports map through the nearest package.json, to a file of the package or to a dependency', () => {
    const pkg = resolverOf({
      'package.json': JSON.stringify({
        imports: {
          '#util': { require: './src/util.cjs', default: './src/util.js' },
          '#dep': 'dep',
          '#gone': './nope.js',
          '#lib/*': './lib/*.js',
        },
      }),
      'src/util.js': '',
      'src/util.cjs': '',
      'lib/x.js': '',
      'node_modules/dep/index.js': '',
      'node_modules/dep/package.json': JSON.stringify({ imports: { '#own': './own.js' } }),
      'node_modules/dep/own.js': '',
    });
    expect(pkg.resolve('#util', 'src/deep/a.js', 'import')).toEqual({ kind: 'file', path: 'src/util.js' });
    expect(pkg.resolve('#util', 'index.js', 'require')).toEqual({ kind: 'file', path: 'src/util.cjs' });
    expect(pkg.resolve('#lib/x', 'index.js', 'import')).toEqual({ kind: 'file', path: 'lib/x.js' });
    expect(pkg.resolve('#dep', 'index.js', 'import')).toEqual({ kind: 'file', path: 'node_modules/dep/index.js' });
    // A dependency's own #imports come from its own package.json, not the root's.
    expect(pkg.resolve('#own', 'node_modules/dep/index.js', 'import')).toEqual({ kind: 'file', path: 'node_modules/dep/own.js' });
    expect(pkg.resolve('#util', 'node_modules/dep/index.js', 'import')).toMatchObject({ kind: 'missing' });
    expect(pkg.resolve('#gone', 'index.js', 'import')).toMatchObject({
      kind: 'missing',
      reason: expect.stringContaining('not in the upload'),
    });
    expect(pkg.resolve('#nope', 'index.js', 'import')).toMatchObject({ kind: 'missing', reason: expect.stringContaining('"imports"') });
  });

  it('a package.json that is not JSON is a LOAD_SYNTAX error naming it', () => {
    const bad = resolverOf({ 'node_modules/p/package.json': '{ main: x }', 'node_modules/p/index.js': '' });
    expect(() => bad.resolve('p', 'index.js', 'import')).toThrow(RedletError);
    expect(() => bad.resolve('p', 'index.js', 'import')).toThrow(/^node_modules\/p\/package\.json: not valid JSON/);
  });
});
