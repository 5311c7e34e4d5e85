import { describe, expect, it } from 'vitest';
import { resolvePackageExports } from './package-exports.js';

const IMPORT = ['import', 'default'];
const REQUIRE = ['require', 'default'];

describe('resolvePackageExports', () => {
  it('string, array and condition-object shorthands for "."', () => {
    expect(resolvePackageExports('./main.js', '.', IMPORT)).toBe('./main.js');
    expect(resolvePackageExports(['bad', './fallback.js'], '.', IMPORT)).toBe('./fallback.js');
    expect(resolvePackageExports({ import: './esm.js', require: './cjs.js' }, '.', REQUIRE)).toBe('./cjs.js');
    expect(resolvePackageExports('./main.js', './sub', IMPORT)).toBeNull();
  });

  it('conditions are tried in key order, nested, with default last resort', () => {
    const field = {
      '.': { node: './node.js', browser: './browser.js', import: { types: './x.d.ts', default: './esm.js' }, default: './any.js' },
    };
    expect(resolvePackageExports(field, '.', IMPORT)).toBe('./esm.js');
    expect(resolvePackageExports(field, '.', REQUIRE)).toBe('./any.js');
    expect(resolvePackageExports({ '.': { node: './node.js' } }, '.', IMPORT)).toBeNull();
  });

  it('subpaths, patterns (longest prefix wins) and null exclusions', () => {
    const field = {
      '.': './index.js',
      './utils': './src/utils.js',
      './*': './dist/*.js',
      './icons/*': './svg/*.js',
      './internal/*': null,
    };
    expect(resolvePackageExports(field, './utils', IMPORT)).toBe('./src/utils.js');
    expect(resolvePackageExports(field, './a/b', IMPORT)).toBe('./dist/a/b.js');
    expect(resolvePackageExports(field, './icons/star', IMPORT)).toBe('./svg/star.js');
    expect(resolvePackageExports(field, './internal/x', IMPORT)).toBeNull();
    expect(resolvePackageExports(field, './../escape', IMPORT)).toBeNull();
  });

  it('rejects targets that are not package-relative and maps mixing subpaths with conditions', () => {
    expect(resolvePackageExports({ '.': '../outside.js' }, '.', IMPORT)).toBeNull();
    expect(resolvePackageExports({ '.': './a.js', import: './b.js' }, '.', IMPORT)).toBeNull();
  });
});
