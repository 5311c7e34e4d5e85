/**
 * A package.json's `exports` and `imports` maps, resolved by `resolve.exports` (a small,
 * well-tested implementation of Node's algorithm: subpath keys, `*` patterns, condition
 * objects tried in key order, arrays as fallbacks, `null` as "not exported"). This file
 * only adds what a sandbox needs on top: the targets must stay inside the package.
 */
import { exports as resolveExports, imports as resolveImports } from 'resolve.exports';

/**
 * Maps a package subpath (`.` or `./sub`) to the package-relative file it exports,
 * or null when the package does not export it under the given conditions.
 *
 * @example
 * resolvePackageExports({ '.': { import: './esm.js', require: './cjs.js' } }, '.', ['import', 'default']);
 * // './esm.js'
 */
export function resolvePackageExports(exportsField: unknown, subpath: string, conditions: readonly string[]): string | null {
  if (!isMapping(exportsField) || subpath.split('/').includes('..')) return null;
  const targets = attempt(() => resolveExports({ name: 'pkg', exports: exportsField }, subpath, { unsafe: true, conditions }));
  return targets?.find(isPackageRelative) ?? null;
}

/**
 * Maps a `#name` specifier through a package.json `imports` field: a package-relative
 * file (`./src/x.js`) or a bare package name to resolve in `node_modules`; null when
 * the package does not map it.
 *
 * @example
 * resolvePackageImports({ '#util': './src/util.js' }, '#util', ['import', 'default']); // './src/util.js'
 * resolvePackageImports({ '#dep': 'lodash' }, '#dep', ['import', 'default']);         // 'lodash'
 */
export function resolvePackageImports(importsField: unknown, specifier: string, conditions: readonly string[]): string | null {
  if (!isMapping(importsField) || Array.isArray(importsField)) return null;
  const targets = attempt(() => resolveImports({ name: 'pkg', imports: importsField }, specifier, { unsafe: true, conditions }));
  return targets?.find((t) => isPackageRelative(t) || !/^[./]/.test(t)) ?? null;
}

function isMapping(field: unknown): boolean {
  if (typeof field === 'string' || Array.isArray(field)) return true;
  if (field === null || typeof field !== 'object') return false;
  // Mixing "./sub" keys with condition names is invalid in Node too.
  const keys = Object.keys(field);
  const dotted = keys.filter((k) => k.startsWith('.')).length;
  return dotted === 0 || dotted === keys.length;
}

/** A target inside the package: `./x`, never climbing out with `..`. */
function isPackageRelative(target: string): boolean {
  return target.startsWith('./') && !target.split('/').includes('..');
}

/** resolve.exports throws for "not exported"; here that is a null like any other miss. */
function attempt(fn: () => string[] | void): string[] | null {
  try {
    return fn() ?? null;
  } catch {
    return null;
  }
}
