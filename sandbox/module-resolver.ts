/**
 * Node's module resolution over a function's in-memory files: relative paths with
 * extension probing and folder `index.*`, folders with a package.json `main`, and
 * bare specifiers found in `node_modules/` folders walking up from the importer.
 * Never touches the real disk; the bundler's virtual filesystem asks this class.
 */
import type { Loader } from 'esbuild';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { RedletError } from './errors.js';
import { resolvePackageExports, resolvePackageImports } from './package-exports.js';
import type { SourceFiles } from './types.js';

/**
 * The one list of the files a function's JavaScript/TypeScript module graph may hold, with
 * the esbuild loader that reads each; the resolver, the bundler and the upload checks
 * (src/code-files.ts) all take their extensions from here.
 */
export const LOADERS: Readonly<Record<string, Loader>> = {
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.json': 'json',
};
/** Probed, in this order, after a path that does not name a file as written. */
export const RESOLVE_EXTENSIONS: readonly string[] = Object.keys(LOADERS);
/** The files a handler can live in: every kind but data. */
export const CODE_EXTENSIONS: readonly string[] = RESOLVE_EXTENSIONS.filter((ext) => LOADERS[ext] !== 'json');

/**
 * The esbuild loader for a file, from its extension (any case); undefined when redlet does not load it.
 *
 * @example
 * loaderFor('lib/x.cts'); // 'ts'
 */
export function loaderFor(path: string): Loader | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? undefined : LOADERS[base.slice(dot).toLowerCase()];
}

/** `import`/`import()` or `require()`: picks the `exports` condition and the main field. */
export type ImportKind = 'import' | 'require';

export type Resolution = { kind: 'file'; path: string } | { kind: 'builtin'; name: string } | { kind: 'missing'; reason?: string };

const BUILTINS = new Set(builtinModules);
const CONDITIONS: Record<ImportKind, readonly string[]> = { import: ['import', 'default'], require: ['require', 'default'] };
const MAIN_FIELDS: Record<ImportKind, readonly string[]> = { import: ['module', 'main'], require: ['main', 'module'] };
/** TypeScript sources import their siblings by the name they will have once compiled. */
const TS_TWINS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

export interface PackageJson {
  main?: unknown;
  module?: unknown;
  exports?: unknown;
  imports?: unknown;
  [field: string]: unknown;
}

/**
 * Resolves specifiers the way Node does, over the files of one function.
 *
 * @example
 * const resolver = new ModuleResolver(files);
 * resolver.resolve('./lib/stats', 'index.js', 'import'); // { kind: 'file', path: 'lib/stats.js' }
 * resolver.resolve('fs', 'index.js', 'require');         // { kind: 'builtin', name: 'fs' }
 */
export class ModuleResolver {
  private readonly files: SourceFiles;
  private dirs: Set<string> | null = null;
  private readonly packages = new Map<string, PackageJson | null>();

  constructor(files: SourceFiles) {
    this.files = files;
  }

  /** Where `specifier`, imported from the file `importer`, leads. */
  resolve(specifier: string, importer: string, kind: ImportKind): Resolution {
    if (specifier.startsWith('node:')) return { kind: 'builtin', name: specifier };
    if (isPathSpecifier(specifier)) {
      const target = specifier.startsWith('/') ? normalize(specifier) : normalize(posix.join(dirOf(importer), specifier));
      if (target === null) return { kind: 'missing', reason: "it points outside the function's files" };
      // Like Node, `.`, `..` and a trailing slash name a folder, never a file.
      const folderOnly = /(^|\/)\.{0,2}$/.test(specifier);
      const path = folderOnly ? this.resolveDirectory(target, RESOLVE_EXTENSIONS) : this.resolvePath(target);
      return path === null ? { kind: 'missing' } : { kind: 'file', path };
    }
    const found = this.resolvePackage(specifier, importer, kind);
    // A package the user ships (a `buffer` or `events` polyfill) beats the missing built-in.
    if (found.kind === 'missing' && BUILTINS.has(specifier)) return { kind: 'builtin', name: specifier };
    return found;
  }

  /** The file a root-relative path names: as written, with an extension, or as a folder. */
  resolvePath(path: string, extensions: readonly string[] = RESOLVE_EXTENSIONS): string | null {
    return this.resolveFile(path, extensions) ?? this.resolveDirectory(path, extensions);
  }

  /** The parsed `package.json` of a folder ('' is the root), or null if there is none. */
  packageJson(dir: string): PackageJson | null {
    const cached = this.packages.get(dir);
    if (cached !== undefined) return cached;
    const path = dir === '' ? 'package.json' : `${dir}/package.json`;
    const bytes = this.files.get(path);
    let pkg: PackageJson | null = null;
    if (bytes !== undefined) {
      try {
        const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
        pkg = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as PackageJson) : null;
      } catch (err) {
        throw new RedletError('LOAD_SYNTAX', `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    this.packages.set(dir, pkg);
    return pkg;
  }

  /** The file a root-relative path names as written or with one of `extensions` (no folders). */
  resolveFile(path: string, extensions: readonly string[] = RESOLVE_EXTENSIONS): string | null {
    if (path === '') return null;
    if (this.files.has(path)) return path;
    const ext = posix.extname(path);
    const twin = TS_TWINS[ext];
    if (twin !== undefined) {
      const ts = path.slice(0, -ext.length) + twin;
      if (this.files.has(ts)) return ts;
    }
    for (const candidate of extensions) {
      if (this.files.has(path + candidate)) return path + candidate;
    }
    return null;
  }

  private resolveDirectory(dir: string, extensions: readonly string[]): string | null {
    if (!this.isDirectory(dir)) return null;
    const main = this.packageJson(dir)?.main;
    if (typeof main === 'string' && main !== '') {
      const target = normalize(posix.join(dir, main));
      const found = target === null ? null : (this.resolveFile(target, extensions) ?? this.resolveIndex(target, extensions));
      if (found !== null) return found;
    }
    return this.resolveIndex(dir, extensions);
  }

  private resolveIndex(dir: string, extensions: readonly string[]): string | null {
    for (const ext of extensions) {
      const candidate = dir === '' ? `index${ext}` : `${dir}/index${ext}`;
      if (this.files.has(candidate)) return candidate;
    }
    return null;
  }

  private resolvePackage(specifier: string, importer: string, kind: ImportKind): Resolution {
    if (specifier.startsWith('#')) return this.resolveImportsField(specifier, importer, kind);
    const parsed = /^((?:@[^/]+\/)?[^/@][^/]*)(\/.*)?$/.exec(specifier);
    const name = parsed?.[1];
    if (name === undefined) return { kind: 'missing', reason: 'it is not a valid package name' };
    const subpath = `.${parsed?.[2] ?? ''}`;
    for (let dir: string | null = dirOf(importer); dir !== null; dir = parentOf(dir)) {
      if (dir === 'node_modules' || dir.endsWith('/node_modules')) continue;
      const pkgDir = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
      if (!this.isDirectory(pkgDir)) continue;
      const pkg = this.packageJson(pkgDir);
      if (pkg?.exports !== undefined && pkg.exports !== null) {
        const target = resolvePackageExports(pkg.exports, subpath, CONDITIONS[kind]);
        if (target === null)
          return { kind: 'missing', reason: `package '${name}' does not export '${subpath}' (see its package.json "exports")` };
        const path = normalize(posix.join(pkgDir, target));
        if (path !== null && path.startsWith(`${pkgDir}/`) && this.files.has(path)) return { kind: 'file', path };
        return { kind: 'missing', reason: `package '${name}' exports '${subpath}' as '${target}', which is not in the upload` };
      }
      const found = subpath === '.' ? this.resolvePackageMain(pkgDir, pkg, kind) : this.resolvePath(`${pkgDir}/${subpath.slice(2)}`);
      if (found !== null) return { kind: 'file', path: found };
    }
    return { kind: 'missing', reason: `no node_modules/${name} folder in the upload holds it` };
  }

  /** `#name`: the `imports` map of the package the importer belongs to (its nearest package.json). */
  private resolveImportsField(specifier: string, importer: string, kind: ImportKind): Resolution {
    for (let dir: string | null = dirOf(importer); dir !== null; dir = parentOf(dir)) {
      const pkg = this.packageJson(dir);
      if (pkg === null) continue;
      const target = resolvePackageImports(pkg.imports, specifier, CONDITIONS[kind]);
      if (target === null)
        return { kind: 'missing', reason: `'${specifier}' is not in the "imports" of ${dir === '' ? '' : `${dir}/`}package.json` };
      if (!target.startsWith('./')) return this.resolvePackage(target, importer, kind);
      const path = normalize(posix.join(dir, target));
      if (path !== null && this.files.has(path)) return { kind: 'file', path };
      return { kind: 'missing', reason: `package.json "imports" maps '${specifier}' to '${target}', which is not in the upload` };
    }
    return {
      kind: 'missing',
      reason: `'${specifier}' needs a package.json with an "imports" field, and there is none above the importing file`,
    };
  }

  private resolvePackageMain(pkgDir: string, pkg: PackageJson | null, kind: ImportKind): string | null {
    for (const field of MAIN_FIELDS[kind]) {
      const value = pkg?.[field];
      if (typeof value !== 'string' || value === '') continue;
      const target = normalize(posix.join(pkgDir, value));
      const found = target === null ? null : this.resolvePath(target);
      if (found !== null) return found;
    }
    return this.resolveIndex(pkgDir, RESOLVE_EXTENSIONS);
  }

  private isDirectory(dir: string): boolean {
    if (dir === '') return true;
    if (this.dirs === null) {
      this.dirs = new Set();
      for (const path of this.files.keys()) {
        for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) this.dirs.add(path.slice(0, slash));
      }
    }
    return this.dirs.has(dir);
  }
}

function isPathSpecifier(specifier: string): boolean {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/');
}

/** A root-relative posix path without `.`/`..`, or null if it climbs above the root. */
function normalize(path: string): string | null {
  const out = posix.normalize(path).replace(/^\/+/, '').replace(/\/+$/, '');
  if (out === '..' || out.startsWith('../')) return null;
  return out === '.' ? '' : out;
}

function dirOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}

function parentOf(dir: string): string | null {
  return dir === '' ? null : dirOf(dir);
}
