/**
 * Which files make a Python function, and which module and function its handler
 * setting names. Python handler settings are dotted like the course's
 * `HANDLER_FUNCTION=handler_module.handler`: `handler`, `module.handler`,
 * `package.module.func`, or `path/to/file.py:func`.
 *
 * @example
 * resolvePythonEntry(new Map([['usermodule.py', bytes]]), 'handler_module.handler');
 * // { entry: 'usermodule.py', module: 'usermodule', exportName: 'handler' }
 */
import { RedletError } from '../errors.js';
import { CODE_EXTENSIONS } from '../module-resolver.js';
import type { FunctionSource, SourceFiles } from '../types.js';

/** File extensions of Python source files. */
export const PYTHON_EXTENSIONS: readonly string[] = ['.py'];
const IDENTIFIER = /^[A-Za-z_]\w*$/;
/** Tried in order when the handler names no module and there is more than one file. */
const DEFAULT_MODULES = ['main', 'handler', 'handler_module', 'usermodule', 'function', 'index', 'app'];
const MAX_LISTED = 20;

export function isPythonFile(filename: string): boolean {
  const lower = filename.toLowerCase();
  return PYTHON_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** A JavaScript or TypeScript file (one of the module graph's code files). */
function isJsFile(path: string): boolean {
  const lower = path.toLowerCase();
  return CODE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** A single `.py` file, or a ZIP holding Python modules and no JavaScript/TypeScript (outside vendored folders). */
export function isPythonSource(source: FunctionSource, files: SourceFiles | null, handler: string): boolean {
  if (source.kind === 'file') return isPythonFile(source.filename);
  if (!files) return false;
  const paths = [...files.keys()];
  if (!paths.some(isPythonFile)) return false;
  const colon = handler.lastIndexOf(':');
  if (colon > 0) return isPythonFile(handler.slice(0, colon));
  return !paths.some((p) => isJsFile(p) && !p.includes('node_modules/'));
}

export interface PythonEntry {
  /** The module's file, e.g. `pkg/stats.py`. */
  entry: string;
  /** The dotted name it is imported as, e.g. `pkg.stats`. */
  module: string;
  exportName: string;
}

export function resolvePythonEntry(files: SourceFiles, spec: string): PythonEntry {
  const text = spec.trim();
  if (text === '') throw invalid(spec, 'it is empty');
  const colon = text.lastIndexOf(':');
  const cut = colon >= 0 ? colon : text.lastIndexOf('.');
  const exportName = cut >= 0 ? text.slice(cut + 1) : text;
  if (!IDENTIFIER.test(exportName))
    throw invalid(
      spec,
      exportName === '' ? 'the function name after the last separator is missing' : `'${exportName}' is not a Python identifier`,
    );
  const pyFiles = [...files.keys()].filter(isPythonFile).sort();
  const only = pyFiles.length === 1 && !pyFiles[0]!.includes('/') ? pyFiles[0]! : null;
  if (cut < 0) {
    if (only) return entryFor(only, exportName);
    for (const name of DEFAULT_MODULES) if (files.has(`${name}.py`)) return entryFor(`${name}.py`, exportName);
    throw new RedletError(
      'HANDLER_MODULE_NOT_FOUND',
      `Handler '${spec}' names no module and there is no main.py or handler.py to take it from. Name the module: 'module.${exportName}' or 'package.module.${exportName}'. Python files: ${list(pyFiles)}.`,
    );
  }
  const raw = text.slice(0, cut);
  if (raw.startsWith('/') || raw.split(/[./]/).includes('..')) throw invalid(spec, `module '${raw}' must be inside the function`);
  const path = colon >= 0 ? raw.replace(/^(\.\/)+/, '').replace(/\.py$/i, '') : raw.replace(/\./g, '/');
  for (const candidate of [`${path}.py`, `${path}/__init__.py`]) if (files.has(candidate)) return entryFor(candidate, exportName);
  // The course mounts the student's `handler_module.py` as /opt/usermodule.py and still
  // names `handler_module.handler`: a single-file function is that module, whatever its name.
  if (only) return entryFor(only, exportName);
  throw new RedletError(
    'HANDLER_MODULE_NOT_FOUND',
    `Handler '${spec}' names module '${raw}', which is not among the function's files (tried ${path}.py and ${path}/__init__.py). Python files: ${list(pyFiles)}.`,
    { details: { module: raw } },
  );
}

function entryFor(file: string, exportName: string): PythonEntry {
  const stem = file.replace(/\.py$/i, '').replace(/\/__init__$/, '');
  return { entry: file, module: stem.split('/').join('.'), exportName };
}

function invalid(spec: string, why: string): RedletError {
  return new RedletError(
    'HANDLER_INVALID',
    `Handler '${spec}' is not valid: ${why}. Use 'handler', 'module.handler', 'package.module.handler' or 'path/to/file.py:handler'.`,
  );
}

function list(paths: string[]): string {
  if (paths.length === 0) return 'none';
  const shown = paths.slice(0, MAX_LISTED).join(', ');
  return paths.length > MAX_LISTED ? `${shown} and ${paths.length - MAX_LISTED} more` : shown;
}
