/**
 * The one place where an error becomes an HTTP response. Every route throws
 * (RedletError, Hono's HTTPException, or anything else) and `app.onError` calls
 * `errorResponse`. The status of each code is written once, in ERROR_CODES
 * (sandbox/error-codes.ts): 400 the request, 401 the token, 404/405/409 what exists,
 * 413/415 the body, 422 code that arrived but cannot be used, 500/503 redlet's own
 * failures (a generic message, the detail only in the log under a request id).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, RedletError, isErrorCode, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown>; requestId?: string };
}

/**
 * The status for an error code and kind.
 *
 * @example
 * statusFor('LOAD_SYNTAX', 'user'); // 422
 * statusFor('INVALID_SETTINGS', 'user'); // 400
 */
export function statusFor(code: ErrorCode, kind: 'user' | 'system'): ContentfulStatusCode {
  const http = ERROR_CODES[code].http;
  if (kind === 'system') return http === 503 ? 503 : 500;
  // An invocation outcome raised by a request (no status of its own) is the request's fault.
  return http === null || http >= 500 ? 400 : http;
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
    const code = isErrorCode(err.cause) ? err.cause : httpCode(err.status);
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

function httpCode(status: number): ErrorCode {
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
