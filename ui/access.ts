/**
 * What a page visitor may do, and the guards of the pages' routes. The rules are the
 * API's (`src/http/auth.ts`): with a token configured, changes need it (the pages
 * keep it in the HttpOnly, SameSite=Strict `redlet_token` cookie); with none, only
 * loopback clients may change anything. Pages hide the controls a visitor may not
 * use; the routes enforce it regardless.
 *
 * Mutating page routes also refuse requests a browser would not send from our own
 * pages (CSRF): they need htmx's `HX-Request` header (a cross-site form cannot set
 * it, and a cross-site fetch with it needs a CORS preflight we never grant), a
 * same-origin `Origin`/`Sec-Fetch-Site`, and the page's CSRF token; with no token
 * configured the Host must be a loopback name, so a DNS-rebinding page cannot borrow
 * the loopback trust.
 *
 * @example
 * app.post('/ui/functions/:name/pause', mutationGuard(config.auth), handler);
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AuthConfig } from '../src/config.js';
import { csrfToken, isAuthorized, isLoopback, presentedToken, requireSameOrigin, tokensEqual } from '../src/http/auth.js';

export interface Access {
  /** May change functions (register, invoke, pause, delete). */
  canWrite: boolean;
  /** May see the pages' data (always, unless reads are protected). */
  canRead: boolean;
  tokenConfigured: boolean;
  /** A valid token came with the request (cookie or header). */
  signedIn: boolean;
  loopback: boolean;
  /** The CSRF token the page sends with every change; only for visitors who may write. */
  csrf: string | null;
}

/** The visitor's rights for this request. */
export function accessOf(c: Context, auth: AuthConfig): Access {
  const loopback = isLoopback(c);
  const given = auth.token === null ? null : presentedToken(c);
  const signedIn = auth.token !== null && given !== null && tokensEqual(given, auth.token);
  const canWrite = isAuthorized(c, auth);
  return {
    canWrite,
    canRead: !auth.protectReads || canWrite,
    tokenConfigured: auth.token !== null,
    signedIn,
    loopback,
    csrf: canWrite ? csrfToken(auth) : null,
  };
}

/** Pages' read routes: open, unless REDLET_PROTECT_READS is on. */
export function readGuard(auth: AuthConfig): MiddlewareHandler {
  return async (c, next) => {
    if (!accessOf(c, auth).canRead)
      throw new HTTPException(401, { message: 'sign in with the API token to see this page', cause: 'UNAUTHORIZED' });
    await next();
  };
}

/** Pages' mutating routes: htmx requests from our own pages, by a visitor who may write. */
export function mutationGuard(auth: AuthConfig): MiddlewareHandler {
  return async (c, next) => {
    if (!isOwnPageRequest(c)) {
      throw new HTTPException(403, {
        message: 'this route only answers the dashboard pages (HX-Request header, same site)',
        cause: 'FORBIDDEN',
      });
    }
    if (!accessOf(c, auth).canWrite) {
      const message =
        auth.token === null
          ? 'no API token is configured, so changes are accepted from this machine (loopback) only'
          : 'sign in with the API token to change functions';
      throw new HTTPException(401, { message, cause: 'UNAUTHORIZED' });
    }
    requireSameOrigin(c, auth);
    await next();
  };
}

/** htmx sends `HX-Request: true`; browsers add `Sec-Fetch-Site` and it must not be cross-site. */
export function isOwnPageRequest(c: Context): boolean {
  if (c.req.header('hx-request') !== 'true') return false;
  const site = c.req.header('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}
