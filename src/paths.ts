/**
 * Where redlet's own files are, whether it runs from TypeScript sources (tests, tsx)
 * or from the compiled dist/ tree: the package root is the nearest folder above this
 * module with redlet's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'redlet') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find redlet package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
