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
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { AuthConfig } from '../config.js';

export const TOKEN_COOKIE = 'redlet_token';

/** The header the pages send the CSRF token in (htmx `hx-headers` on the page's body). */
export const CSRF_HEADER = 'x-redlet-csrf';

/** Keys the CSRF token when no API token is configured (loopback mode): new at each start. */
const PROCESS_SECRET = randomBytes(32);

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

/**
 * The CSRF token the pages send with every change (`X-Redlet-CSRF`). It is keyed by the
 * API token (the same on every replica), or by a per-process secret in loopback mode,
 * and only rendered into pages for visitors who may already change things, so a page
 * of another origin can neither read nor compute it.
 */
export function csrfToken(auth: AuthConfig): string {
  return createHmac('sha256', auth.token ?? PROCESS_SECRET)
    .update('redlet csrf v1')
    .digest('base64url');
}

/** The origin this request was addressed to (`http://host:port`), as a browser would name it. */
function ownOrigin(c: Context): string {
  const url = new URL(c.req.url);
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : url.protocol.replace(':', '');
  return `${proto}://${(c.req.header('host') ?? url.host).toLowerCase()}`;
}

/**
 * Why a state-changing request is refused as possibly cross-site, or null when it
 * carries a same-origin proof. A request authenticated by an `Authorization` header
 * needs none (a browser never adds that header across sites on its own). Anything
 * else (the pages' cookie, loopback trust) must not come from another site: a
 * `Sec-Fetch-Site` other than same-origin, or an `Origin` other than ours, is refused;
 * and a browser request (a session cookie, an `Origin` or `Sec-Fetch-Site` header)
 * must also carry the CSRF token. Non-browser clients in loopback mode (curl, the CLI
 * without a token) send none of these and pass.
 */
export function crossSiteReason(c: Context, auth: AuthConfig): string | null {
  if (c.req.header('authorization')) return null;
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site} request (Sec-Fetch-Site)`;
  const origin = c.req.header('origin');
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin(c)) return `a request from origin ${origin}`;
  const cookieSession = auth.token !== null && getCookie(c, TOKEN_COOKIE) !== undefined;
  if (cookieSession || origin !== undefined || site !== undefined) {
    const given = c.req.header(CSRF_HEADER);
    if (!given || !tokensEqual(given, csrfToken(auth))) return `a browser request without the page's CSRF token (${CSRF_HEADER})`;
  }
  return null;
}

/** Refuses (403 `CSRF_REJECTED`) a state-changing request without a same-origin proof. */
export function requireSameOrigin(c: Context, auth: AuthConfig): void {
  const why = crossSiteReason(c, auth);
  if (why !== null) {
    throw new HTTPException(403, {
      message: `refused ${why}: changes from a browser must come from redlet's own pages; scripts send "Authorization: Bearer <token>"`,
      cause: 'CSRF_REJECTED',
    });
  }
}

/** Rejects requests that may not mutate: 401 with a message saying what to send; 403 when cross-site. */
export function requireAuth(auth: AuthConfig): MiddlewareHandler {
  const authorized = requireToken(auth);
  return async (c, next) =>
    authorized(c, async () => {
      requireSameOrigin(c, auth);
      await next();
    });
}

/** 401 unless the request may change things (token, or loopback when none is configured). */
function requireToken(auth: AuthConfig): MiddlewareHandler {
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
  const guard = requireToken(auth);
  return async (c, next) => (auth.protectReads ? guard(c, next) : next());
}
