/**
 * The one error type of redlet. Every error carries a string `code`; `kind` splits
 * the caller's mistakes (`user`: bad upload, bad handler, bad input, shown as 4xx)
 * from redlet's own failures (`system`: 5xx). The host side re-exports it from
 * `src/errors.ts`, so both halves of the project throw and map the same type.
 *
 * @example
 * throw new RedletError('LOAD_SYNTAX', 'handler.js:3:7: Expected ";" but found "x"');
 */
import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, guestCode, guestLoadCode, isErrorCode, type ErrorCode } from './error-codes.js';

export type ErrorKind = 'user' | 'system';

export class RedletError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details?: Record<string, unknown>;

  /** `kind` defaults to the code's own (see ERROR_CODES). */
  constructor(code: ErrorCode, message: string, opts: { kind?: ErrorKind; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RedletError';
    this.code = code;
    this.kind = opts.kind ?? ERROR_CODES[code].kind;
    this.details = opts.details;
  }

  /** A plain object that survives JSON and process boundaries. */
  toJSON(): { code: ErrorCode; kind: ErrorKind; message: string; details?: Record<string, unknown> } {
    return { code: this.code, kind: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * How an error raised by guest code (or by the sandbox on its behalf: a timeout, the
 * memory limit) crosses the boundary: plain data, never a live object.
 */
export interface GuestError {
  /** `HANDLER_ERROR`, `TIMEOUT`, `MEMORY_LIMIT`, `INPUT_NOT_JSON`, `OUTPUT_NOT_SERIALIZABLE`, ... */
  code: ErrorCode;
  name: string;
  message: string;
  stack?: string;
}

/** Wraps anything thrown by host code into a RedletError without losing its message. */
export function asRedletError(err: unknown, code: ErrorCode = 'INTERNAL', kind: ErrorKind = 'system'): RedletError {
  if (err instanceof RedletError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RedletError(code, message, { kind, cause: err });
}
