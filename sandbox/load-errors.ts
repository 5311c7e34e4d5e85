/**
 * Turns esbuild's messages into redlet load errors a person can act on: user file
 * names (without the virtual namespace), 1-based `file:line:column`, a string code
 * per kind of failure, and at most a handful of lines.
 */
import type { Message } from 'esbuild';
import { RedletError, isErrorCode, type ErrorCode } from './errors.js';
import { VIRTUAL_NAMESPACE, failureKey, type ResolveFailures } from './virtual-fs-plugin.js';

export const MAX_REPORTED_ERRORS = 5;

export interface LoadProblem {
  code: ErrorCode;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

/** Codes the virtual FS plugin attaches to import failures; they read "… (imported by file:line)". */
const IMPORT_CODES = new Set<ErrorCode>(['LOAD_BUILTIN', 'LOAD_MODULE_NOT_FOUND', 'LOAD_UNSUPPORTED_FILE']);
const TOP_LEVEL_AWAIT = /top-level await/i;
const UNRESOLVED = /^Could not resolve ("(?:[^"\\]|\\.)*")$/;

/**
 * One esbuild message as a redlet problem.
 *
 * @example
 * describeMessage(failure.errors[0]).message; // 'lib/a.js:3:7: Expected ";" but found "x"'
 */
export function describeMessage(msg: Message, failures?: ResolveFailures): LoadProblem {
  const detailCode: unknown = msg.detail !== null && typeof msg.detail === 'object' ? (msg.detail as { code?: unknown }).code : undefined;
  let code: ErrorCode = isErrorCode(detailCode) ? detailCode : 'LOAD_SYNTAX';
  let text = msg.text;
  const unresolved =
    failures === undefined || msg.location === null ? null : unresolvedImport(msg.text, userPath(msg.location.file), failures);
  if (unresolved !== null) ({ code, text } = unresolved);
  if (code === 'LOAD_SYNTAX' && TOP_LEVEL_AWAIT.test(text)) {
    code = 'LOAD_SYNTAX';
    text = 'top-level await is not supported in redlet functions; move the await into the handler (or into a function it calls)';
  }
  const loc = msg.location;
  if (loc === null) return { code, message: text };
  const file = userPath(loc.file);
  const column = utf16Column(loc.lineText, loc.column) + 1;
  const message = IMPORT_CODES.has(code) ? `${text} (imported by ${file}:${loc.line})` : `${file}:${loc.line}:${column}: ${text}`;
  return { code, message, file, line: loc.line, column };
}

/**
 * Wraps whatever `esbuild.build` threw into a RedletError; build failures become user
 * errors with the first problem's code, anything else a system error.
 *
 * @example
 * try { await esbuild.build(options); } catch (err) { throw loadError(err); }
 */
export function loadError(err: unknown, failures?: ResolveFailures): RedletError {
  if (err instanceof RedletError) return err;
  const errors = (err as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    const message = err instanceof Error ? err.message : String(err);
    return new RedletError('LOAD_FAILED', `Bundling failed: ${message}`, { kind: 'system', cause: err });
  }
  const problems = (errors as Message[]).map((m) => describeMessage(m, failures));
  const first = problems[0] as LoadProblem;
  const lines = problems.slice(0, MAX_REPORTED_ERRORS).map((p) => p.message);
  if (problems.length > MAX_REPORTED_ERRORS) lines.push(`... and ${problems.length - MAX_REPORTED_ERRORS} more errors`);
  return new RedletError(first.code, lines.join('\n'), { details: { errors: problems.slice(0, MAX_REPORTED_ERRORS) } });
}

/** esbuild's own "Could not resolve" for a require()/import() the virtual FS left to it. */
function unresolvedImport(text: string, importer: string, failures: ResolveFailures): { code: ErrorCode; text: string } | null {
  const quoted = UNRESOLVED.exec(text)?.[1];
  if (quoted === undefined) return null;
  const specifier: unknown = JSON.parse(quoted);
  const failed = typeof specifier === 'string' ? failures.get(failureKey(importer, specifier)) : undefined;
  return failed === undefined ? null : { code: failed.code, text: failed.text };
}

/**
 * esbuild names virtual files `redlet:lib/a.js`; users know them as `lib/a.js`.
 *
 * @example
 * userPath('redlet:lib/a.js'); // 'lib/a.js'
 */
export function userPath(file: string): string {
  return file.startsWith(`${VIRTUAL_NAMESPACE}:`) ? file.slice(VIRTUAL_NAMESPACE.length + 1) : file;
}

/** esbuild counts columns in UTF-8 bytes; editors and V8 count UTF-16 units. */
function utf16Column(lineText: string, byteColumn: number): number {
  // eslint-disable-next-line no-control-regex -- ASCII is exactly \x00-\x7f
  if (!/[^\x00-\x7f]/.test(lineText)) return byteColumn;
  return Buffer.from(lineText, 'utf8').subarray(0, byteColumn).toString('utf8').length;
}
