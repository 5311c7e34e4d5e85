/**
 * The handler setting of a function: which export of which module to call. Accepts
 * `handler` (an export of the default entry module), the course's `module.handler`
 * and an explicit `path/to/file.js:handler`, and finds the module among the files.
 */
import { RedletError } from './errors.js';
import { CODE_EXTENSIONS, ModuleResolver } from './module-resolver.js';
import type { SourceFiles } from './types.js';

export interface HandlerSpec {
  /** Module path as written (no extension needed), or null for the default entry module. */
  module: string | null;
  exportName: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const MODULE_PATH = /^[\w\-.@+~/]+$/;
const MAX_LISTED_FILES = 20;

/**
 * Splits a handler setting into module and export name; the LAST `:` or `.` separates.
 *
 * @example
 * parseHandlerSpec('handler');                 // { module: null, exportName: 'handler' }
 * parseHandlerSpec('lib/stats.handler');       // { module: 'lib/stats', exportName: 'handler' }
 * parseHandlerSpec('lib/stats.js:handler');    // { module: 'lib/stats.js', exportName: 'handler' }
 */
export function parseHandlerSpec(spec: string): HandlerSpec {
  const text = spec.trim();
  if (text === '') throw invalid(spec, 'it is empty');
  const colon = text.lastIndexOf(':');
  const cut = colon >= 0 ? colon : text.lastIndexOf('.');
  const exportName = cut >= 0 ? text.slice(cut + 1) : text;
  if (!IDENTIFIER.test(exportName)) {
    throw invalid(
      spec,
      exportName === '' ? 'the export name after the last separator is missing' : `'${exportName}' is not a JavaScript identifier`,
    );
  }
  if (cut < 0) return { module: null, exportName };
  if (colon < 0 && CODE_EXTENSIONS.includes(`.${exportName}`)) {
    throw invalid(spec, `it names a file but no export; add the export name, e.g. '${text}:handler'`);
  }
  return { module: checkedModule(spec, text.slice(0, cut)), exportName };
}

/**
 * Finds the entry file for a handler setting among the function's files.
 *
 * @example
 * resolveEntry(new Map([['usermodule.js', bytes]]), 'usermodule.handler');
 * // { entry: 'usermodule.js', exportName: 'handler' }
 */
export function resolveEntry(
  files: SourceFiles,
  spec: string | HandlerSpec,
  resolver: ModuleResolver = new ModuleResolver(files),
): { entry: string; exportName: string } {
  const parsed = typeof spec === 'string' ? parseHandlerSpec(spec) : spec;
  const shown = typeof spec === 'string' ? spec : `${spec.module === null ? '' : `${spec.module}:`}${spec.exportName}`;
  const { exportName } = parsed;
  if (parsed.module === null) return { entry: defaultEntry(files, resolver, shown, exportName), exportName };

  const entry = resolver.resolvePath(parsed.module, CODE_EXTENSIONS);
  if (entry !== null) return { entry, exportName };
  const only = singleFile(files);
  if (only !== null) {
    throw new RedletError(
      'HANDLER_MODULE_NOT_FOUND',
      `Handler '${shown}' names module '${parsed.module}', but the function is the single file '${only}'. Use '${stem(only)}.${exportName}' or just '${exportName}'.`,
    );
  }
  throw new RedletError(
    'HANDLER_MODULE_NOT_FOUND',
    `Handler '${shown}' names module '${parsed.module}', which is not among the function's files (tried ${parsed.module}, ${parsed.module}${CODE_EXTENSIONS.join('/')} and ${parsed.module}/index.*). Files: ${listFiles(files)}.`,
    { details: { module: parsed.module } },
  );
}

/** package.json `main`, else `index.*`, else `main.*`, else the only file there is. */
function defaultEntry(files: SourceFiles, resolver: ModuleResolver, shown: string, exportName: string): string {
  const main = resolver.packageJson('')?.main;
  if (typeof main === 'string' && main !== '') {
    const path = main.replace(/^(\.\/)+/, '');
    const found = resolver.resolvePath(path, CODE_EXTENSIONS);
    if (found !== null) return found;
    throw new RedletError(
      'HANDLER_MODULE_NOT_FOUND',
      `package.json "main" is '${main}', which is not among the function's files. Fix "main" or name the module in the handler ('path/to/file.js:${exportName}'). Files: ${listFiles(files)}.`,
    );
  }
  for (const name of ['index', 'main']) {
    const found = resolver.resolveFile(name, CODE_EXTENSIONS);
    if (found !== null) return found;
  }
  const only = singleFile(files);
  if (only !== null) return only;
  throw new RedletError(
    'HANDLER_MODULE_NOT_FOUND',
    `Handler '${shown}' names no module and there is no package.json "main", index.js or main.js to take it from. Name the module: 'module.${exportName}' or 'path/to/file.js:${exportName}'. Files: ${listFiles(files)}.`,
  );
}

function checkedModule(spec: string, raw: string): string {
  const module = raw.replace(/^(\.\/)+/, '');
  if (module === '') throw invalid(spec, 'the module name before the last separator is missing');
  if (!MODULE_PATH.test(module)) throw invalid(spec, `module '${raw}' may only use letters, digits and _ - . @ + ~ /`);
  const segments = module.split('/');
  if (module.startsWith('/') || segments.includes('..') || segments.includes('')) {
    throw invalid(spec, `module '${raw}' must be a relative path inside the function, without '..' or empty segments`);
  }
  return module;
}

function invalid(spec: string, why: string): RedletError {
  return new RedletError(
    'HANDLER_INVALID',
    `Handler '${spec}' is not valid: ${why}. Use 'handler', 'module.handler' or 'path/to/file.js:handler'.`,
  );
}

function singleFile(files: SourceFiles): string | null {
  if (files.size !== 1) return null;
  for (const path of files.keys()) return path;
  return null;
}

function stem(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? path.slice(0, path.length - base.length + dot) : path;
}

/** The user's own files first; a node_modules tree would drown them. */
function listFiles(files: SourceFiles): string {
  const all = [...files.keys()].sort(
    (a, b) => Number(a.includes('node_modules/')) - Number(b.includes('node_modules/')) || a.localeCompare(b),
  );
  const shown = all.slice(0, MAX_LISTED_FILES).join(', ');
  return all.length > MAX_LISTED_FILES ? `${shown} and ${all.length - MAX_LISTED_FILES} more` : shown;
}
