/**
 * Who may change functions. Registering a function is running code, so mutating
 * routes need the API token: `Authorization: Bearer <token>` (the API, the CLI) or the
 * `redlet_token` cookie set by the pages' sign-in (HttpOnly, SameSite=Strict). Tokens
 * are compared in constant time. With no token configured, only loopback clients may
 * mutate. Reads are open unless `protectReads` is set.
 *
 * @example
 * app.post('/api/functions', requireAuth(config.auth), handler);
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { AuthConfig } from '../config.js';

export const TOKEN_COOKIE = 'redlet_token';

/** Constant-time comparison, whatever the lengths (both sides are hashed first). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function isLoopback(c: Context): boolean {
  let address: string | undefined;
  try {
    address = getConnInfo(c).remote.address;
  } catch {
    // app.request() in tests has no socket: treat as not loopback unless the test says so.
    address = (c.env as { remoteAddress?: string } | undefined)?.remoteAddress;
  }
  if (!address) return false;
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || address.startsWith('127.');
}

/** The token the request presents (header first, then the pages' cookie), or null. */
export function presentedToken(c: Context): string | null {
  const header = c.req.header('authorization');
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return m ? m[1]!.trim() : null;
  }
  return getCookie(c, TOKEN_COOKIE) ?? null;
}

/**
 * The Host header names this machine (localhost, 127.x, ::1). Trust by loopback needs
 * it too: otherwise a web page could reach a local redlet through DNS rebinding (its
 * own name resolving to 127.0.0.1) and the connection would look local.
 */
export function isLoopbackHost(c: Context): boolean {
  const host = (c.req.header('host') ?? new URL(c.req.url).host).toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** True when the request may mutate. */
export function isAuthorized(c: Context, auth: AuthConfig): boolean {
  if (auth.token === null) return isLoopback(c) && isLoopbackHost(c);
  const given = presentedToken(c);
  return given !== null && tokensEqual(given, auth.token);
}

/** Rejects requests that may not mutate: 401 with a message saying what to send. */
export function requireAuth(auth: AuthConfig): MiddlewareHandler {
  return async (c, next) => {
    if (!isAuthorized(c, auth)) {
      const message =
        auth.token === null
          ? 'no API token is configured, so changes are accepted from this machine (loopback) only; set REDLET_API_TOKEN to allow remote clients'
          : presentedToken(c) === null
            ? 'this request changes redlet: send the API token as "Authorization: Bearer <token>"'
            : 'the API token is wrong';
      throw new HTTPException(401, { message, cause: 'UNAUTHORIZED' });
    }
    await next();
  };
}

/** Guards reads when `protectReads` is on; otherwise lets everything through. */
export function readAuth(auth: AuthConfig): MiddlewareHandler {
  const guard = requireAuth(auth);
  return async (c, next) => (auth.protectReads ? guard(c, next) : next());
}
