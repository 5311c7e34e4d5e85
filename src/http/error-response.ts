/**
 * The one place where an error becomes an HTTP response. Every route throws
 * (RedletError, Hono's HTTPException, or anything else) and `app.onError` calls
 * `errorResponse`, so the status codes below are the whole story:
 *
 * - 400: the request is malformed or a field is wrong (bad JSON, bad name, bad setting,
 *   unsupported file type, unknown field); the caller fixes the request.
 * - 401: no or wrong API token. 404: no such function or route. 405: wrong method.
 * - 409: the request conflicts with what exists (name taken, a function from
 *   configuration, an empty or non-string input key for invoke).
 * - 413: body over REDLET_MAX_BODY_BYTES. 415: neither multipart nor JSON.
 * - 422: the upload arrived but its code cannot be used: `ZIP_*` (unsafe or oversized
 *   archive), `LOAD_*` (syntax error, missing module), `HANDLER_*` (no such export).
 * - 500 / 503: redlet's own failures (kind `system`): a generic message, the detail
 *   only in the log under a request id.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RedletError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; requestId?: string };
}

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  FUNCTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  FUNCTION_EXISTS: 409,
  FUNCTION_FROM_CONFIG: 409,
  INPUT_MISSING: 409,
  INPUT_WRONG_TYPE: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REDIS_UNAVAILABLE: 503,
};

/** Codes of code that arrived but cannot be loaded: 422. */
const UNPROCESSABLE = /^(ZIP|LOAD|HANDLER)_/;

/**
 * The status for an error code and kind.
 *
 * @example
 * statusFor('LOAD_SYNTAX', 'user'); // 422
 * statusFor('INVALID_SETTINGS', 'user'); // 400
 */
export function statusFor(code: string, kind: 'user' | 'system'): ContentfulStatusCode {
  if (kind === 'system') return code.startsWith('REDIS_') ? 503 : 500;
  return STATUS_BY_CODE[code] ?? (UNPROCESSABLE.test(code) ? 422 : 400);
}

/**
 * Turns anything thrown while handling a request into the JSON error response; logs
 * system errors with a request id the response repeats.
 *
 * @example
 * app.onError((err, c) => errorResponse(c, err, log));
 */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  if (err instanceof HTTPException) {
    const code = typeof err.cause === 'string' ? err.cause : httpCode(err.status);
    return c.json<ErrorBody>({ error: { code, message: err.message || defaultMessage(err.status) } }, err.status as ContentfulStatusCode);
  }
  if (err instanceof RedletError && err.kind === 'user') {
    const error: ErrorBody['error'] = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    return c.json<ErrorBody>({ error }, statusFor(err.code, 'user'));
  }
  const requestId = randomBytes(6).toString('hex');
  const code = err instanceof RedletError ? err.code : 'INTERNAL';
  log.error({ err, requestId, method: c.req.method, path: c.req.path }, 'request failed');
  const status = statusFor(code, 'system');
  // Redis' refusals (NOPERM, NOAUTH, READONLY, OOM) say what to fix and hold no secret.
  const refusal = err instanceof RedletError && code.startsWith('REDIS_') && code !== 'REDIS_UNAVAILABLE';
  const message = refusal
    ? `${err.message} (request id ${requestId})`
    : status === 503
      ? `Redis is unavailable, so redlet cannot do this now; try again when it is back (request id ${requestId})`
      : `redlet failed to handle this request; the details are in its log under request id ${requestId}`;
  return c.json<ErrorBody>({ error: { code: status === 503 ? code : 'INTERNAL', message, requestId } }, status);
}

function httpCode(status: number): string {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 404:
      return 'NOT_FOUND';
    case 413:
      return 'BODY_TOO_LARGE';
    default:
      return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
  }
}

function defaultMessage(status: number): string {
  return status >= 500 ? 'redlet failed to handle this request' : 'the request was rejected';
}
