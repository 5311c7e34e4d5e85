/** @jsxImportSource hono/jsx */
/**
 * The one layout every full page renders through: head (our CSS, htmx and the small
 * client script, all served by redlet itself), the header with the store and the
 * visitor's rights, and the page's content.
 *
 * @example
 * c.html(<Layout title="redlet" header={<AuthStatus access={a} />}>{panels}</Layout>)
 */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { STATIC } from './static.js';

export interface LayoutProps {
  title: string;
  /** Right side of the header (sign-in status). */
  header?: Child;
  /** One line under the title: store, functions. */
  subtitle?: string;
  /** The CSRF token htmx sends with every request of the page (visitors who may write). */
  csrf?: string | null;
  /** Why Redis cannot be reached (shown as a banner on top of the page); null when it answers. */
  outage?: string | null;
  children?: Child;
}

export function Layout(p: LayoutProps) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          {/* No inline styles from htmx: the CSP allows none. */}
          <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"historyEnabled":false}' />
          <title>{p.title}</title>
          <link rel="icon" href={STATIC.favicon} type="image/svg+xml" />
          <link rel="stylesheet" href={STATIC.css} />
          <script src={STATIC.htmx} defer></script>
          <script src={STATIC.client} defer></script>
        </head>
        <body {...(p.csrf ? { 'hx-headers': JSON.stringify({ 'X-Redlet-CSRF': p.csrf }) } : {})}>
          <header class="top">
            <div class="brand">
              <a href="/" class="logo">
                redlet
              </a>
              {p.subtitle ? <span class="subtitle">{p.subtitle}</span> : null}
            </div>
            <div class="top-right">{p.header}</div>
          </header>
          {p.outage ? (
            <div id="outage" class="banner banner-error" role="alert">
              {p.outage}: nothing runs and the values below may be out of date until it answers again.
            </div>
          ) : null}
          <div id="connection" class="banner banner-error" role="alert" hidden>
            redlet is not answering; the values below are from before the connection was lost.
          </div>
          <main>{p.children}</main>
          <footer class="foot">
            redlet dashboard · refreshes every few seconds · <a href="/api/functions">JSON API</a>
          </footer>
        </body>
      </html>
    </>
  );
}
