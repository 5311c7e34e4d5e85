/**
 * The module-loading pipeline: a function's source (one file or a ZIP) and handler
 * setting in, ONE classic script out. Evaluated in a bare V8 context (no Node, no
 * `require`), the script defines the global `__redlet_exports`: the entry module's
 * exports (ESM namespace or CommonJS `module.exports`). One esbuild call per load,
 * over in-memory files only.
 */
import { build, transform, type BuildOptions } from 'esbuild';
import { resolveEntry } from './handler-spec.js';
import { describeMessage, loadError, userPath } from './load-errors.js';
import { loaderFor, ModuleResolver, RESOLVE_EXTENSIONS } from './module-resolver.js';
import type { FunctionSource, SourceFiles } from './types.js';
import { virtualFsPlugin, type ResolveFailures } from './virtual-fs-plugin.js';
import type { ZipLimits } from './limits.js';
import { readZip } from './zip.js';

/** The global the bundle assigns the entry module's exports to. */
export const EXPORTS_GLOBAL = '__redlet_exports';

export interface Bundle {
  /** Classic script; evaluating it defines `globalThis.__redlet_exports`. */
  code: string;
  /** Source map (JSON text) from `code` back to the user's files (`lib/x.js`). */
  map: string;
  /** The module file the handler lives in, e.g. `lib/handler.js`. */
  entry: string;
  exportName: string;
  /** Every file of the function (posix paths), sorted. */
  files: string[];
  /** esbuild's warnings (`file:line:col: text`), e.g. an import that will always be undefined. */
  warnings: string[];
  /**
   * Set when `code` is the entry file itself, not esbuild's output (see verbatimBundle):
   * `module` is the file's text as V8 must accept it as a module, `firstLine` the line
   * of `code` it starts on (positions map by that offset; `map` is empty).
   */
  verbatim?: { module: string; firstLine: number };
}

export interface BundleOptions {
  /** The function's name; the map's `file` becomes `bundleScriptName(name)`. */
  name: string;
  zipLimits?: Partial<ZipLimits>;
  /**
   * Allow a verbatim bundle (see verbatimBundle) when the file qualifies. The caller must
   * then have V8 parse `verbatim.module` as a module and use esbuild's bundle (this
   * option off) on any failure. Default false.
   */
  verbatim?: boolean;
}

/** Options shared by every load; only the entry and the plugin differ per function. */
const BASE_OPTIONS = {
  write: false,
  bundle: true,
  format: 'iife',
  globalName: EXPORTS_GLOBAL,
  platform: 'neutral',
  target: 'es2022',
  // The virtual FS resolves every import itself with these same rules (module/main;
  // import or require by import kind, then default), so esbuild's resolver never runs.
  mainFields: ['module', 'main'],
  conditions: [],
  resolveExtensions: [...RESOLVE_EXTENSIONS],
  sourcemap: 'external',
  sourcesContent: false,
  outfile: 'bundle.js',
  logLevel: 'silent',
  // npm packages branch on it; there is no `process` in an isolate.
  define: { 'process.env.NODE_ENV': '"production"' },
  tsconfigRaw: '{}',
  // esbuild still stats and lists its working folder on every build; make that a fixed, tiny one.
  absWorkingDir: '/',
} satisfies BuildOptions;

/**
 * The script name the bundle should be compiled under, so stack traces read `redlet://<name>/…`.
 *
 * @example
 * bundleScriptName('avg'); // 'redlet://avg/bundle.js'
 */
export function bundleScriptName(name: string): string {
  return `redlet://${name}/bundle.js`;
}

/**
 * Bundles a function into one self-contained script. Throws RedletError (kind
 * `user`): `ZIP_*` for a bad upload, `HANDLER_*` for a bad handler setting,
 * `LOAD_SYNTAX` / `LOAD_BUILTIN` / `LOAD_MODULE_NOT_FOUND` when the code does not load.
 *
 * @example
 * const b = await bundleFunction({ kind: 'file', filename: 'usermodule.js', code }, 'usermodule.handler', { name: 'avg' });
 * // b.code defines __redlet_exports; b.entry === 'usermodule.js'
 */
export async function bundleFunction(source: FunctionSource, handlerSpec: string, opts: BundleOptions): Promise<Bundle> {
  const files = await sourceFilesOf(source, opts.zipLimits);
  const resolver = new ModuleResolver(files);
  const { entry, exportName } = resolveEntry(files, handlerSpec, resolver);
  const failures: ResolveFailures = new Map();

  // A single ES module that imports nothing needs no bundling: esbuild's transform does
  // the same job in half the time (a faster first run after registration), and the
  // simplest ones need no esbuild at all.
  if (source.kind === 'file' && isStandaloneModule(source.code)) {
    const verbatim = opts.verbatim ? verbatimBundle(source.code, entry, exportName, [...files.keys()]) : null;
    if (verbatim) return verbatim;
    let t;
    try {
      t = await transform(source.code, {
        loader: loaderForEntry(entry),
        format: 'iife',
        globalName: EXPORTS_GLOBAL,
        target: 'es2022',
        sourcemap: 'external',
        sourcesContent: false,
        sourcefile: entry,
        define: BASE_OPTIONS.define,
        tsconfigRaw: '{}',
        logLevel: 'silent',
      });
    } catch (err) {
      throw loadError(err, failures);
    }
    return {
      code: t.code,
      map: cleanMap(t.map, bundleScriptName(opts.name)),
      entry,
      exportName,
      files: [...files.keys()],
      warnings: t.warnings.map((w) => describeMessage(w).message),
    };
  }

  let result;
  try {
    result = await build({ ...BASE_OPTIONS, entryPoints: [entry], plugins: [virtualFsPlugin(files, resolver, failures)] });
  } catch (err) {
    throw loadError(err, failures);
  }
  let code = '';
  let map = '';
  for (const out of result.outputFiles) {
    if (out.path.endsWith('.map')) map = out.text;
    else code = out.text;
  }
  return {
    code,
    map: cleanMap(map, bundleScriptName(opts.name)),
    entry,
    exportName,
    files: [...files.keys()].sort(),
    warnings: [
      ...result.warnings.map((w) => describeMessage(w).message),
      // The build succeeded, so each of these is guarded by a catch and only fails when it runs.
      ...[...failures.values()].map((f) => `${f.importer}: ${f.text}; the call is guarded by a catch, so it fails only when it runs`),
    ],
  };
}

/**
 * The files of a source: a ZIP is checked and inflated, a single file becomes a
 * one-file map under its base name.
 *
 * @example
 * await sourceFilesOf({ kind: 'file', filename: 'usermodule.js', code: 'export const handler = () => 1;' });
 * // Map { 'usermodule.js' => Uint8Array }
 */
export async function sourceFilesOf(source: FunctionSource, zipLimits?: Partial<ZipLimits>): Promise<SourceFiles> {
  if (source.kind === 'zip') return readZip(source.data, zipLimits);
  const base = source.filename.replace(/\\/g, '/').split('/').pop() ?? '';
  const name = base === '' || base === '.' || base === '..' ? 'index.js' : base;
  return new Map([[name, new TextEncoder().encode(source.code)]]);
}

/** The glue before the user's code in a verbatim bundle: one line. */
const VERBATIM_HEAD = `var ${EXPORTS_GLOBAL} = (() => {`;
/** `export` in front of a declaration at the start of a line, and the declared name. */
const EXPORTED_DECLARATION = /^export([ \t]+)(?:(?:async\s+)?function\s*\*?\s*|(?:const|let|var|class)\s+)([A-Za-z_$][\w$]*)/gm;
/** What a verbatim bundle must not contain: text esbuild would change or that could hide an `export`. */
const NOT_VERBATIM = /`|\bthis\b|use strict|\bprocess\b|<!--|-->|source(?:Mapping)?URL|__redlet|\r|\u2028|\u2029|\\\n/;
/** Largest entry file run verbatim. */
const MAX_VERBATIM_CHARS = 64 * 1024;

/**
 * The code as esbuild's transform would make it, without the esbuild round trip (about a
 * millisecond, several on a busy machine): for a lone ES module whose only module syntax
 * is `export` in front of declarations at the start of a line, and which contains nothing
 * esbuild would rewrite (top-level `this`, a 'use strict' directive, `process.env`, a
 * function declared in a block: the `function` keyword appears only in those exported
 * declarations) or that could hide an `export` (template literals, line continuations). Those `export`
 * words become spaces, so every position stays the user's; the file runs in a function
 * scope in sloppy mode and its handler is the one export handed out, as with esbuild.
 * Null when the file does not qualify. The caller makes V8 parse `verbatim.module` as a
 * module (refusing what esbuild's parser refuses) and falls back to esbuild's bundle on
 * any failure, so what a user sees of code that does not load is always esbuild's.
 */
function verbatimBundle(code: string, entry: string, exportName: string, files: string[]): Bundle | null {
  if (!/\.m?js$/.test(entry) || code.length > MAX_VERBATIM_CHARS || NOT_VERBATIM.test(code)) return null;
  let declared = false;
  let exported = 0;
  let functions = 0;
  const module = code.replace(EXPORTED_DECLARATION, (whole: string, space: string, name: string) => {
    exported++;
    if (/\bfunction\b/.test(whole)) functions++;
    if (name === exportName) declared = true;
    return ' '.repeat('export'.length + space.length) + whole.slice('export'.length + space.length);
  });
  // Every `export` is one of those; and every `function` too (esbuild turns a function
  // declared in a block into a block-scoped `let`, as a module's strict mode has it).
  const count = (word: RegExp) => (code.match(word) ?? []).length;
  if (!declared || exported !== count(/\bexport\b/g) || functions !== count(/\bfunction\b/g)) return null;
  return {
    code: `${VERBATIM_HEAD}\n${module}\nreturn { ${JSON.stringify(exportName)}: ${exportName} };\n})();\n`,
    map: '',
    entry,
    exportName,
    files,
    warnings: [],
    verbatim: { module, firstLine: 2 },
  };
}

/** An ES module with exports and no way to load another module (conservative: any mention disqualifies). */
function isStandaloneModule(code: string): boolean {
  return /\bexport\b/.test(code) && !/\b(import|require|module|exports)\b|\bfrom\s*['"`]/.test(code);
}

function loaderForEntry(entry: string): 'ts' | 'js' {
  return loaderFor(entry) === 'ts' ? 'ts' : 'js';
}

/**
 * Makes the map name the user's files (`lib/x.js`, not `redlet:lib/x.js`) and the
 * script it describes.
 */
function cleanMap(text: string, file: string): string {
  const map = JSON.parse(text) as { sources?: string[]; file?: string };
  map.sources = (map.sources ?? []).map(userPath);
  map.file = file;
  return JSON.stringify(map);
}

/**
 * Starts esbuild's service process ahead of the first load, which would otherwise
 * pay for it (about 20 ms).
 *
 * @example
 * await warmBundler(); // at host start-up
 */
export async function warmBundler(): Promise<void> {
  await build({ ...BASE_OPTIONS, stdin: { contents: '', loader: 'js' }, sourcemap: false });
}
