/**
 * The `exports` field of a package.json, resolved the way Node does it: subpath keys
 * (`"."`, `"./sub"`, `"./*"` patterns), condition objects tried in key order, arrays
 * as fallbacks and `null` as "not exported". Pure data in, relative target out.
 */

/**
 * Maps a package subpath (`.` or `./sub`) to the package-relative file it exports,
 * or null when the package does not export it under the given conditions.
 *
 * @example
 * resolvePackageExports({ '.': { import: './esm.js', require: './cjs.js' } }, '.', ['import', 'default']);
 * // './esm.js'
 */
export function resolvePackageExports(exportsField: unknown, subpath: string, conditions: readonly string[]): string | null {
  const map = subpathMap(exportsField);
  if (map === null) return null;
  if (Object.hasOwn(map, subpath) && !subpath.includes('*')) {
    return resolveTarget(map[subpath], null, conditions) ?? null;
  }
  let best: { key: string; match: string } | null = null;
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star < 0 || key.indexOf('*', star + 1) >= 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.length < key.length || !subpath.startsWith(prefix) || !subpath.endsWith(suffix)) continue;
    // Node prefers the longest prefix, then the longest key.
    if (best === null || prefix.length > best.key.indexOf('*') || (prefix.length === best.key.indexOf('*') && key.length > best.key.length)) {
      best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
    }
  }
  return best === null ? null : resolveTarget(map[best.key], best.match, conditions) ?? null;
}

/** `"exports": "./x.js"` and `"exports": { "import": ... }` are shorthands for `{ ".": ... }`. */
function subpathMap(field: unknown): Record<string, unknown> | null {
  if (typeof field === 'string' || Array.isArray(field)) return { '.': field };
  if (field === null || typeof field !== 'object') return null;
  const keys = Object.keys(field);
  const dotted = keys.filter((k) => k.startsWith('.'));
  if (dotted.length === 0) return { '.': field };
  // Mixing "./sub" keys with condition names is invalid in Node too.
  return dotted.length === keys.length ? (field as Record<string, unknown>) : null;
}

/** undefined: no condition matched (keep looking); null: explicitly not exported. */
function resolveTarget(target: unknown, match: string | null, conditions: readonly string[]): string | null | undefined {
  if (typeof target === 'string') {
    if (!target.startsWith('./')) return null;
    if (match !== null && match.split('/').includes('..')) return null;
    return match === null ? target : target.replaceAll('*', match);
  }
  if (Array.isArray(target)) {
    for (const item of target) {
      const resolved = resolveTarget(item, match, conditions);
      if (typeof resolved === 'string') return resolved;
    }
    return null;
  }
  if (target !== null && typeof target === 'object') {
    for (const [key, value] of Object.entries(target)) {
      if (key !== 'default' && !conditions.includes(key)) continue;
      const resolved = resolveTarget(value, match, conditions);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  return null;
}
