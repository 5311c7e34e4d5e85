/** @jsxImportSource hono/jsx */
/**
 * The mutating routes of the pages, each answering with the partial that shows its
 * result: sign-in/out, register (the upload read by the same function as the API's
 * `POST /api/functions`, so uploads have one validation path), invoke now (a dry
 * run), pause/resume and delete. Each calls the runtime, which applies the rules.
 * Expected failures (a bad upload, an empty input key) come back as 200 with the
 * message rendered next to the control: htmx swaps it and the browser logs nothing.
 * A change to the list of functions is announced with `HX-Trigger: functions-changed`,
 * which refreshes the functions table at once.
 *
 * @example
 * mountActions(app, { runtime, history, clock: Date.now });
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { accessOf, isOwnPageRequest, mutationGuard } from './access.js';
import { FunctionActions } from './function-detail.js';
import { InvokeError, InvokeResult } from './invoke-result.js';
import type { PageDeps } from './pages.js';
import { RegisterForm, RegisterResult } from './register-form.js';
import { AuthStatus } from './sign-in.js';
import { RedletError } from '../src/errors.js';
import { TOKEN_COOKIE, tokensEqual } from '../src/http/auth.js';
import { limitFormFields, readRegisterRequest } from '../src/http/upload.js';

const CHANGED = 'functions-changed';

export function mountActions(app: Hono, deps: PageDeps): void {
  const { runtime } = deps;
  const { auth, http } = runtime.config;
  const guard = mutationGuard(auth);
  /** A user error's own message; anything else goes to the log and is summarised. */
  const userMessage = (err: unknown): string => {
    if (isUserError(err)) return err.message;
    runtime.log.error({ err }, 'a dashboard action failed');
    return 'redlet failed to do this; the details are in its log';
  };
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new HTTPException(413, { message: `the request body is larger than ${maxSize} bytes`, cause: 'BODY_TOO_LARGE' });
      },
    });

  app.post('/ui/sign-in', limit(4096), async (c) => {
    if (!isOwnPageRequest(c)) throw new HTTPException(403, { message: 'sign in from the dashboard page', cause: 'FORBIDDEN' });
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    if (auth.token === null || token === '' || !tokensEqual(token, auth.token)) {
      const error = auth.token === null ? 'no API token is configured on this redlet' : 'that is not the API token';
      return c.html(<AuthStatus access={accessOf(c, auth)} error={error} />);
    }
    setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: isHttps(c) });
    // Every panel changes with the rights: reload the page once.
    c.header('HX-Refresh', 'true');
    return c.html(<AuthStatus access={{ ...accessOf(c, auth), signedIn: true, canWrite: true, canRead: true }} />);
  });

  app.post('/ui/sign-out', async (c) => {
    if (!isOwnPageRequest(c)) throw new HTTPException(403, { message: 'sign out from the dashboard page', cause: 'FORBIDDEN' });
    deleteCookie(c, TOKEN_COOKIE, { path: '/', secure: isHttps(c) });
    c.header('HX-Refresh', 'true');
    return c.html(<AuthStatus access={{ ...accessOf(c, auth), signedIn: false, canWrite: false }} />);
  });

  app.post('/ui/functions', guard, limit(http.maxBodyBytes), async (c) => {
    try {
      const view = await runtime.register(await readRegisterRequest(c));
      c.header('HX-Trigger', CHANGED);
      return c.html(
        <>
          <RegisterResult ok message={`Registered ${view.definition.name}. It is in the functions table; click it to invoke it.`} />
          <RegisterForm access={accessOf(c, auth)} defaults={runtime.defaults()} oob />
        </>,
      );
    } catch (err) {
      const field = isUserError(err) && typeof err.details?.field === 'string' ? err.details.field : undefined;
      return c.html(<RegisterResult ok={false} message={userMessage(err)} field={field} />);
    }
  });

  app.post('/ui/functions/:name/invoke', guard, limit(http.maxBodyBytes), async (c) => {
    const name = c.req.param('name');
    await limitFormFields(c);
    const form = await c.req.parseBody();
    const input = typeof form.input === 'string' && form.input.trim() !== '' ? form.input : undefined;
    try {
      return c.html(<InvokeResult result={await runtime.invoke(name, input, { dryRun: true })} />);
    } catch (err) {
      return c.html(<InvokeError message={userMessage(err)} />);
    }
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/ui/functions/:name/${action}`, guard, async (c) => {
      const name = c.req.param('name');
      try {
        const view = action === 'pause' ? await runtime.pause(name) : await runtime.resume(name);
        c.header('HX-Trigger', CHANGED);
        const deleteRefused = runtime.changeRefusal(name, 'delete')?.message ?? null;
        return c.html(<FunctionActions view={view} access={accessOf(c, auth)} deleteRefused={deleteRefused} />);
      } catch (err) {
        return c.html(<p class="form-error">{userMessage(err)}</p>);
      }
    });
  }

  app.delete('/ui/functions/:name', guard, async (c) => {
    const name = c.req.param('name');
    try {
      await runtime.remove(name);
    } catch (err) {
      return c.html(<p class="form-error">{userMessage(err)}</p>);
    }
    c.header('HX-Trigger', CHANGED);
    return c.html(
      <p class="form-ok" role="status" data-deleted={name}>
        Deleted {name}.
      </p>,
    );
  });
}

function isUserError(err: unknown): err is RedletError {
  return err instanceof RedletError && err.kind === 'user';
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}
