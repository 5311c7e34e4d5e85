/**
 * The pages' static assets, served by redlet itself (a cluster may be offline, so no
 * CDN): htmx from the installed `htmx.org` package, our stylesheet and small client
 * script (string modules, so they ship in the compiled package), and an SVG icon.
 * URLs carry a hash of the content, so browsers may cache them for good.
 *
 * @example
 * mountStatic(app);
 * STATIC.htmx; // '/static/htmx.min.js?v=1a2b3c4d'
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Hono } from 'hono';
import { DASHBOARD_CLIENT_JS } from './static/dashboard-client.js';
import { DASHBOARD_CSS } from './static/dashboard-css.js';

const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#c8312b"/>' +
  '<path d="M9 23V9h7.5a4.5 4.5 0 0 1 0 9H13m3 0 5 5" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>';

interface Asset {
  path: string;
  type: string;
  body: string;
}

/** htmx's minified build, wherever npm put the package (works from src/ and dist/). */
function readHtmx(): string {
  const file = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
  return readFileSync(file, 'utf8');
}

const hash = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 10);

const ASSETS: Record<'htmx' | 'css' | 'client' | 'favicon', Asset> = {
  htmx: { path: '/static/htmx.min.js', type: 'text/javascript; charset=utf-8', body: readHtmx() },
  css: { path: '/static/dashboard.css', type: 'text/css; charset=utf-8', body: DASHBOARD_CSS },
  client: { path: '/static/dashboard.js', type: 'text/javascript; charset=utf-8', body: DASHBOARD_CLIENT_JS },
  favicon: { path: '/static/favicon.svg', type: 'image/svg+xml', body: FAVICON_SVG },
};

/** The versioned URL of each asset, for the layout. */
export const STATIC = Object.fromEntries(Object.entries(ASSETS).map(([k, a]) => [k, `${a.path}?v=${hash(a.body)}`])) as Record<
  keyof typeof ASSETS,
  string
>;

/** Adds the asset routes (GET and HEAD) to the app. */
export function mountStatic(app: Hono): void {
  for (const asset of Object.values(ASSETS)) {
    const etag = `"${hash(asset.body)}"`;
    app.get(asset.path, (c) => {
      c.header('Cache-Control', c.req.query('v') ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
      c.header('ETag', etag);
      c.header('X-Content-Type-Options', 'nosniff');
      if (c.req.header('if-none-match') === etag) return c.body(null, 304);
      c.header('Content-Type', asset.type);
      return c.body(asset.body);
    });
  }
  app.get('/favicon.ico', (c) => c.redirect(STATIC.favicon, 301));
}
