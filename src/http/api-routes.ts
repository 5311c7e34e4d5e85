/**
 * The functions API under `/api`: register, update, list, read, delete, invoke (a dry
 * run), pause, resume and logs, each a thin call into the Runtime. Mutating routes
 * (every method but GET/HEAD) need the API token; reads need it only with
 * REDLET_PROTECT_READS. Errors are thrown and turned into responses by `app.onError`.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AuthConfig } from '../config.js';
import { sizeText } from '../../sandbox/limits.js';
import { RedletError } from '../errors.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../json-text.js';
import type { Runtime } from '../runtime/runtime.js';
import { readAuth, requireAuth } from './auth.js';
import { describeFunction } from './describe-function.js';
import { readRegisterRequest, readUpdateRequest } from './upload.js';

/** What the API routes need besides the runtime. */
export interface ApiOptions {
  auth: AuthConfig;
  /** Largest accepted request body in bytes (REDLET_MAX_BODY_BYTES). */
  maxBodyBytes: number;
}

const MAX_LOG_LINES = 500;

/**
 * The `/api` routes as a Hono app to mount.
 *
 * @example
 * app.route('/api', apiRoutes(runtime, { auth: config.auth, maxBodyBytes: 10 << 20 }));
 */
export function apiRoutes(runtime: Runtime, opts: ApiOptions): Hono {
  const api = new Hono();
  const mutate = requireAuth(opts.auth);
  const read = readAuth(opts.auth);
  // Auth before the body is read: an unauthorized upload is never parsed.
  api.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? read(c, next) : mutate(c, next)));
  api.use(
    '*',
    bodyLimit({
      maxSize: opts.maxBodyBytes,
      onError: () => {
        throw new RedletError(
          'BODY_TOO_LARGE',
          `the request body is larger than ${sizeText(opts.maxBodyBytes)} (REDLET_MAX_BODY_BYTES); make the upload smaller (leave tests, docs and dev dependencies out of the ZIP)`,
        );
      },
    }),
  );

  api.get('/functions', async (c) => c.json({ functions: (await runtime.list()).map(describeFunction) }));

  api.post('/functions', async (c) => {
    const view = await runtime.register(await readRegisterRequest(c));
    c.header('Location', `/api/functions/${view.definition.name}`);
    return c.json(describeFunction(view), 201);
  });

  api.get('/functions/:name', async (c) => c.json(describeFunction(await runtime.view(c.req.param('name')))));

  api.put('/functions/:name', async (c) => {
    const name = c.req.param('name');
    // 404 or 409 before the upload is read.
    runtime.checkChangeable(name, 'replace');
    return c.json(describeFunction(await runtime.update(name, await readUpdateRequest(c, name))));
  });

  api.delete('/functions/:name', async (c) => {
    const name = c.req.param('name');
    await runtime.remove(name);
    return c.body(null, 204);
  });

  api.post('/functions/:name/invoke', async (c) => {
    const name = c.req.param('name');
    // 404 before the body is read.
    runtime.existing(name);
    // The body is the input, passed on as the JSON text it is; empty: the input key's value.
    const text = await c.req.text();
    const r = await runtime.invoke(name, text.trim() === '' ? undefined : text, { dryRun: true });
    return c.json({
      ok: r.ok,
      input: jsonOrText(r.input),
      output: r.output === null ? null : jsonOrText(r.output),
      durationMs: r.durationMs,
      logs: r.logs,
      droppedLogs: r.droppedLogs,
      error: r.error ?? null,
    });
  });

  api.post('/functions/:name/pause', async (c) => c.json(describeFunction(await runtime.pause(c.req.param('name')))));
  api.post('/functions/:name/resume', async (c) => c.json(describeFunction(await runtime.resume(c.req.param('name')))));

  api.get('/functions/:name/logs', (c) => {
    const name = c.req.param('name');
    const runner = runtime.existing(name);
    const limit = logLimit(c.req.query('limit'));
    return c.json({ name, logs: runner.status.recentLogs(limit), droppedLogs: runner.status.droppedLogs });
  });

  return api;
}

/** The value of JSON text; the text itself when it is not JSON (an input key holding garbage). */
function jsonOrText(text: string): unknown {
  // Too deep to serialize back without recursing past the stack: give it as text.
  if (jsonDepth(text) > MAX_JSON_DEPTH) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function logLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return MAX_LOG_LINES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOG_LINES) {
    throw new RedletError('INVALID_QUERY', `limit must be a whole number from 1 to ${MAX_LOG_LINES} (got '${raw}')`, {
      details: { field: 'limit' },
    });
  }
  return n;
}
