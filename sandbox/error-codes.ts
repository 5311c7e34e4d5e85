/**
 * The closed set of redlet's error codes: one table, one line each, saying whose fault
 * it is (`user`: the caller's or the function's; `system`: redlet's or its Redis's)
 * and the HTTP status an API request failing with it gets (`null`: the code describes
 * an invocation, reported in its result and the function's status, never as an HTTP
 * error). The API's error mapping, the README's error table (checked by a test) and
 * the type of every RedletError's `code` come from here.
 */
import { DEFAULT_ZIP_LIMITS, sizeText } from './limits.js';

export interface ErrorCodeInfo {
  kind: 'user' | 'system';
  http: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 500 | 503 | null;
  /** What happened, in one line. */
  doc: string;
}

export const ERROR_CODES = {
  // --- the request (400): fix the field the message names
  BAD_REQUEST: { kind: 'user', http: 400, doc: 'the request was rejected by the HTTP layer (malformed)' },
  INVALID_NAME: { kind: 'user', http: 400, doc: 'the function name does not match the name pattern' },
  INVALID_SETTINGS: { kind: 'user', http: 400, doc: 'a setting is out of range or of the wrong type' },
  INVALID_FIELD: { kind: 'user', http: 400, doc: 'an upload field is malformed' },
  UNKNOWN_FIELD: { kind: 'user', http: 400, doc: 'an upload field redlet does not know (a typo such as inputkey)' },
  INVALID_JSON: { kind: 'user', http: 400, doc: 'the body (or an invoke input) is not valid JSON' },
  INVALID_MULTIPART: { kind: 'user', http: 400, doc: 'the multipart body cannot be parsed' },
  INVALID_BASE64: { kind: 'user', http: 400, doc: 'zipBase64 is not base64' },
  INVALID_QUERY: { kind: 'user', http: 400, doc: 'a query parameter is out of range' },
  UNSUPPORTED_FILE: { kind: 'user', http: 400, doc: 'the code file has an extension redlet does not run' },
  CODE_NOT_UTF8: { kind: 'user', http: 400, doc: 'a source file is not UTF-8' },
  CODE_EMPTY: { kind: 'user', http: 400, doc: 'the code is empty' },
  CODE_MISSING: { kind: 'user', http: 400, doc: 'no code was sent' },
  NAME_MISMATCH: { kind: 'user', http: 400, doc: 'the name in the body differs from the name in the URL' },
  NOTHING_TO_UPDATE: { kind: 'user', http: 400, doc: 'an update with neither code nor settings' },
  RESERVED_KEY: { kind: 'user', http: 400, doc: "an input or output key inside redlet's own namespace (any spelling of its prefix)" },
  KEY_NOT_ALLOWED: { kind: 'user', http: 400, doc: 'an input or output key outside the REDLET_FUNCTION_KEYS patterns' },
  SELF_TRIGGER: { kind: 'user', http: 400, doc: 'a keyspace function whose output key is its own input key' },
  // --- who is asking (401), what exists (404, 405, 409), how much (413, 415)
  UNAUTHORIZED: { kind: 'user', http: 401, doc: 'no or wrong API token (or not loopback when no token is configured)' },
  CSRF_REJECTED: { kind: 'user', http: 403, doc: "a change from a browser without a same-origin proof or the pages' CSRF token" },
  NOT_FOUND: { kind: 'user', http: 404, doc: 'no such route' },
  FUNCTION_NOT_FOUND: { kind: 'user', http: 404, doc: 'no function of that name' },
  METHOD_NOT_ALLOWED: { kind: 'user', http: 405, doc: 'the route exists, not with this method' },
  FUNCTION_EXISTS: { kind: 'user', http: 409, doc: 'the name is taken (use PUT to replace)' },
  FUNCTION_FROM_CONFIG: { kind: 'user', http: 409, doc: 'the function comes from configuration; change it there' },
  FUNCTION_QUARANTINED: { kind: 'user', http: 409, doc: 'what Redis holds for the function failed validation; it is not run (delete it)' },
  INPUT_MISSING: { kind: 'user', http: 409, doc: 'invoke found no input: the input key is empty and no body was sent' },
  INPUT_WRONG_TYPE: { kind: 'user', http: 409, doc: 'the input key holds something other than a string' },
  BODY_TOO_LARGE: { kind: 'user', http: 413, doc: 'the body is over REDLET_MAX_BODY_BYTES' },
  UNSUPPORTED_MEDIA_TYPE: { kind: 'user', http: 415, doc: 'the body is neither multipart/form-data nor JSON' },
  // --- the code arrived but cannot be used (422)
  LOAD_SYNTAX: { kind: 'user', http: 422, doc: 'a syntax error (file:line in the message)' },
  LOAD_MODULE_NOT_FOUND: { kind: 'user', http: 422, doc: 'an import names a file or package that is not in the upload' },
  LOAD_BUILTIN: { kind: 'user', http: 422, doc: 'an import of a Node built-in (fs, net, ...), which functions do not have' },
  LOAD_EVALUATION: { kind: 'user', http: 422, doc: 'the code threw while loading' },
  LOAD_UNSUPPORTED_FILE: { kind: 'user', http: 422, doc: 'the entry file is of a kind the loader cannot run' },
  LOAD_FAILED: { kind: 'user', http: 422, doc: 'the function could not be started in its isolate' },
  HANDLER_INVALID: { kind: 'user', http: 422, doc: 'the handler spec is malformed' },
  HANDLER_MODULE_NOT_FOUND: { kind: 'user', http: 422, doc: 'the module the handler spec names is not in the upload' },
  HANDLER_NOT_FOUND: { kind: 'user', http: 422, doc: 'the module has no export of that name' },
  HANDLER_NOT_FUNCTION: { kind: 'user', http: 422, doc: 'the export is not a function' },
  ZIP_CORRUPT: { kind: 'user', http: 422, doc: 'not a ZIP, or a damaged one' },
  ZIP_EMPTY: { kind: 'user', http: 422, doc: 'a ZIP without files' },
  ZIP_BAD_NAME: { kind: 'user', http: 422, doc: 'an entry name that is not UTF-8 or not a usable path' },
  ZIP_DUPLICATE_ENTRY: { kind: 'user', http: 422, doc: 'two entries of one name' },
  ZIP_UNSAFE_PATH: { kind: 'user', http: 422, doc: 'an entry escaping the archive (../, absolute paths)' },
  ZIP_SYMLINK: { kind: 'user', http: 422, doc: 'a symbolic link in the archive' },
  ZIP_TOO_LARGE: {
    kind: 'user',
    http: 422,
    doc: `over ${sizeText(DEFAULT_ZIP_LIMITS.maxFileBytes)} inflated per file or ${sizeText(DEFAULT_ZIP_LIMITS.maxTotalBytes)} in all (counted while inflating)`,
  },
  ZIP_TOO_MANY_ENTRIES: { kind: 'user', http: 422, doc: `more than ${DEFAULT_ZIP_LIMITS.maxEntries} entries` },
  // --- an invocation's outcome (the function's result and status, not an HTTP error)
  HANDLER_ERROR: { kind: 'user', http: null, doc: 'the handler threw (or rejected)' },
  TIMEOUT: { kind: 'user', http: null, doc: 'the invocation ran past timeoutMs and was stopped' },
  MEMORY_LIMIT: { kind: 'user', http: null, doc: 'the function went over memoryMb; its isolate was replaced' },
  INPUT_NOT_JSON: { kind: 'user', http: null, doc: 'the input key holds text that is not JSON; the input is skipped' },
  OUTPUT_NOT_SERIALIZABLE: { kind: 'user', http: null, doc: 'the result cannot be written as JSON' },
  OUTPUT_TOO_LARGE: { kind: 'user', http: null, doc: 'the result is over REDLET_MAX_OUTPUT_BYTES' },
  ENV_NOT_OBJECT: { kind: 'user', http: null, doc: 'context.env was replaced by something other than a plain object' },
  ENV_NOT_SERIALIZABLE: { kind: 'user', http: null, doc: 'context.env cannot be saved as JSON' },
  ENV_TOO_LARGE: { kind: 'user', http: null, doc: 'context.env is over its byte cap' },
  WORKER_CRASHED: { kind: 'system', http: null, doc: 'the worker process running the function died during the call' },
  CRASH_LOOP_BACKOFF: { kind: 'system', http: null, doc: 'the function crashed its worker repeatedly; its runs wait out a backoff' },
  LEASE_LOST: { kind: 'system', http: null, doc: 'another replica took the function over; this run was not written' },
  // --- start-up (no HTTP status: redlet prints one line and exits 1)
  CONFIG_INVALID: { kind: 'user', http: null, doc: 'a configuration value (environment, mounted file, ZIP_URL) is invalid' },
  STACK_OVERFLOW: {
    kind: 'user',
    http: null,
    doc: "the function recursed too deeply and overflowed the interpreter's stack; its interpreter was replaced",
  },
  SANDBOX_ERROR: { kind: 'system', http: null, doc: "the sandbox failed in a way that is not the function's fault" },
  // --- redlet's own failures (500, 503): the detail is in the log under a request id
  INTERNAL: { kind: 'system', http: 500, doc: 'an unexpected failure inside redlet' },
  REGISTRY_CORRUPT: { kind: 'system', http: 500, doc: 'a stored definition or state cannot be read back' },
  DEFINITION_INVALID: {
    kind: 'system',
    http: 500,
    doc: 'a stored definition fails the rules the API applies; the function is quarantined',
  },
  STATE_INVALID: { kind: 'system', http: 500, doc: 'a stored state (env, marker) fails its rules; the function is quarantined' },
  FUNCTION_NOT_LOADED: { kind: 'system', http: 500, doc: 'the sandbox has no isolate for the function' },
  WORKER_ERROR: { kind: 'system', http: 500, doc: 'a sandbox worker process failed to answer' },
  WORKER_BUSY: { kind: 'system', http: 500, doc: 'a sandbox worker did not answer a request in time' },
  SANDBOX_FULL: {
    kind: 'system',
    http: 503,
    doc: "the process cannot map another isolate (the kernel's vm.max_map_count): more worker processes or replicas, or raise it",
  },
  REDIS_UNAVAILABLE: { kind: 'system', http: 503, doc: 'Redis does not answer; retry when it is back' },
  REDIS_NOPERM: { kind: 'system', http: 503, doc: "Redis refused a command or key to redlet's ACL user (NOPERM): grant it" },
  REDIS_NOAUTH: { kind: 'system', http: 503, doc: 'Redis wants a password, or rejected the one given (NOAUTH, WRONGPASS)' },
  REDIS_READONLY: { kind: 'system', http: 503, doc: 'redlet is connected to a read-only replica (READONLY): point it at the primary' },
  REDIS_OOM: { kind: 'system', http: 503, doc: 'Redis is out of memory (OOM: maxmemory reached)' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every code a RedletError or an invocation result can carry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * True for a string that is one of the codes.
 *
 * @example
 * isErrorCode('TIMEOUT'); // true
 * isErrorCode('EVIL');    // false
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The codes guest code may report about its own invocation. A guest can write any
 * text; the host keeps only these and reads anything else as HANDLER_ERROR, so a
 * function cannot pass itself off as a timeout or a memory limit (codes the host
 * derives from what it observed).
 */
const GUEST_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'HANDLER_ERROR',
  'INPUT_NOT_JSON',
  'OUTPUT_NOT_SERIALIZABLE',
  'OUTPUT_TOO_LARGE',
  'ENV_NOT_SERIALIZABLE',
  'ENV_NOT_OBJECT',
  'ENV_TOO_LARGE',
  'SANDBOX_ERROR',
]);

/**
 * A code reported by guest code, as the host will believe it.
 *
 * @example
 * guestCode('ENV_TOO_LARGE'); // 'ENV_TOO_LARGE'
 * guestCode('MEMORY_LIMIT');  // 'HANDLER_ERROR'
 */
export function guestCode(value: unknown): ErrorCode {
  return isErrorCode(value) && GUEST_CODES.has(value) ? value : 'HANDLER_ERROR';
}

/**
 * A load failure code reported by guest code (a Python import check): a `LOAD_*` or
 * `HANDLER_*` code, else LOAD_FAILED.
 */
export function guestLoadCode(value: unknown): ErrorCode {
  return isErrorCode(value) && /^(LOAD|HANDLER)_/.test(value) ? value : 'LOAD_FAILED';
}
