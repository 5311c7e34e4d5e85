/** @jsxImportSource hono/jsx */
/**
 * The header's statement of the visitor's rights and the small sign-in that trades
 * the API token for the HttpOnly `redlet_token` cookie. A failed sign-in re-renders
 * this partial with the reason; a good one reloads the page (HX-Refresh) so every
 * panel shows its controls.
 *
 * @example
 * <AuthStatus access={accessOf(c, config.auth)} />
 */
import type { Access } from './access.js';

/** Who you are as far as changes go, and the sign-in/sign-out control. */
export function AuthStatus(p: { access: Access; error?: string }) {
  const a = p.access;
  if (!a.tokenConfigured) {
    return (
      <div id="auth" class="access" data-can-write={String(a.canWrite)}>
        {a.canWrite
          ? 'read-write from this machine only (no token configured)'
          : 'read-only: no API token is configured, so only this machine’s own clients may change functions'}
      </div>
    );
  }
  if (a.signedIn) {
    return (
      <div id="auth" class="signin" data-can-write="true">
        <span class="access">signed in: read-write</span>
        <button type="button" hx-post="/ui/sign-out" hx-target="#auth" hx-swap="outerHTML">
          Sign out
        </button>
      </div>
    );
  }
  return (
    <form id="auth" class="signin" data-can-write="false" hx-post="/ui/sign-in" hx-target="#auth" hx-swap="outerHTML">
      <span class="access">read-only ·</span>
      <label for="token-input" class="access">
        API token
      </label>
      <input id="token-input" type="password" name="token" autocomplete="current-password" placeholder="API token" required />
      <button type="submit">Sign in</button>
      {p.error ? (
        <span class="form-error" role="alert">
          {p.error}
        </span>
      ) : null}
    </form>
  );
}
