/**
 * The command line's client commands (`redlet deploy`, `list`, `get`, `invoke`,
 * `logs`, `rm`, `pause`, `resume`): thin clients of a running redlet's HTTP API. They
 * print readable text (or the API's JSON with `--json`) and return the exit code:
 * 0 done, 1 the server or the network said no (its message is printed), 2 the command
 * line itself is wrong.
 *
 * `deploy` registers; when the name is taken it stops, unless `--force` is given, in
 * which case it replaces the code and settings (PUT), keeping `context.env`.
 */
import { basename } from 'node:path';
import { parseFlags, UsageError, type FlagSpec } from './cli-args.js';
import { helpFor } from './cli-help.js';
import type { LogLine } from '../sandbox/types.js';
import { nameFromFile, type ClientConfig } from './config.js';
import type { FunctionSettings } from './function-definition.js';
import type { FunctionDescription as Description } from './http/describe-function.js';

/** What the client commands touch outside themselves (replaced in tests). */
export interface ClientIo {
  config: ClientConfig;
  fetch: typeof fetch;
  out: (text: string) => void;
  err: (text: string) => void;
  readFile: (path: string) => Promise<Uint8Array>;
}

/** Commands runCli hands to runClient. */
export const CLIENT_COMMANDS = new Set(['deploy', 'list', 'ls', 'get', 'invoke', 'logs', 'rm', 'delete', 'pause', 'resume']);

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} satisfies FlagSpec;

const DEPLOY = {
  ...COMMON,
  name: { type: 'string', short: 'n' },
  handler: { type: 'string' },
  'input-key': { type: 'string' },
  'output-key': { type: 'string' },
  trigger: { type: 'string' },
  period: { type: 'string' },
  'invoke-on': { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  force: { type: 'boolean', short: 'f' },
  'reset-env': { type: 'boolean' },
} satisfies FlagSpec;

/** The flags of the commands other than deploy. */
const FLAGS: Record<string, FlagSpec> = {
  logs: { ...COMMON, limit: { type: 'string' } },
  invoke: { ...COMMON, 'input-file': { type: 'string' } },
};

/** Settings flags and the API fields they fill. */
const SETTING_FLAGS: Array<[keyof typeof DEPLOY, keyof FunctionSettings]> = [
  ['handler', 'handler'],
  ['input-key', 'inputKey'],
  ['output-key', 'outputKey'],
  ['trigger', 'trigger'],
  ['period', 'period'],
  ['invoke-on', 'invokeOn'],
  ['memory', 'memoryMb'],
  ['timeout', 'timeoutMs'],
];

/** The API said no, or could not be reached: printed as one line, exit 1. */
class ApiFailure extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Runs one client command; returns the process exit code.
 *
 * @example
 * const code = await runClient('list', ['--url', 'http://localhost:8080'], io);
 */
export async function runClient(command: string, argv: string[], io: ClientIo): Promise<number> {
  try {
    await dispatch(command, argv, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`redlet: ${err.message}\nrun 'redlet help ${command}' for its options\n`);
      return 2;
    }
    if (err instanceof ApiFailure) {
      io.err(`redlet: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function dispatch(command: string, argv: string[], io: ClientIo): Promise<void> {
  if (command === 'deploy') return deploy(argv, io);
  const { values, positionals } = parseFlags(argv, FLAGS[command] ?? COMMON, command);
  if (values.help) return io.out(helpFor(command) ?? '');
  const api = client(values as { url?: string; token?: string }, io);
  const name = (): string => {
    const n = positionals[0];
    if (!n) throw new UsageError(`'redlet ${command}' needs the function's name: redlet ${command} <name>`);
    return encodeURIComponent(n);
  };
  const maxArgs = command === 'invoke' ? 2 : command === 'list' || command === 'ls' ? 0 : 1;
  if (positionals.length > maxArgs)
    throw new UsageError(`too many arguments for 'redlet ${command}': ${positionals.slice(maxArgs).join(' ')}`);

  switch (command) {
    case 'list':
    case 'ls': {
      const body = (await api('GET', '/api/functions')) as { functions: Description[] };
      if (values.json) return io.out(json(body));
      return io.out(body.functions.length === 0 ? 'no functions registered\n' : table(body.functions));
    }
    case 'get':
      return io.out(json(await api('GET', `/api/functions/${name()}`)));
    case 'invoke': {
      const fn = name();
      const file = (values as { 'input-file'?: string })['input-file'];
      if (file !== undefined && positionals[1] !== undefined)
        throw new UsageError('give the input as an argument or with --input-file, not both');
      const input = file !== undefined ? new TextDecoder().decode(await readOrExplain(io, file)) : positionals[1];
      const r = (await api(
        'POST',
        `/api/functions/${fn}/invoke`,
        input === undefined ? undefined : { body: input, type: 'application/json' },
      )) as {
        ok: boolean;
        output: unknown;
        durationMs: number;
        logs: LogLine[];
        error: { code: string; message: string; stack?: string } | null;
      };
      if (values.json) io.out(json(r));
      else {
        for (const l of r.logs) io.err(`[${l.level}] ${l.msg}\n`);
        if (r.ok) io.out(json(r.output));
      }
      if (!r.ok)
        throw new ApiFailure(`the function failed (${r.error?.code ?? 'ERROR'}): ${r.error?.stack ?? r.error?.message ?? 'no message'}`);
      return;
    }
    case 'logs': {
      const limit = (values as { limit?: string }).limit;
      const body = (await api('GET', `/api/functions/${name()}/logs${limit ? `?limit=${encodeURIComponent(limit)}` : ''}`)) as {
        logs: LogLine[];
        droppedLogs: number;
      };
      if (values.json) return io.out(json(body));
      if (body.logs.length === 0) io.err('no log lines yet\n');
      io.out(body.logs.map((l) => `${new Date(l.t).toISOString()} ${l.level.padEnd(5)} ${l.msg}\n`).join(''));
      if (body.droppedLogs > 0)
        io.err(`(${body.droppedLogs} lines were dropped: the function printed more than redlet keeps per invocation)\n`);
      return;
    }
    case 'rm':
    case 'delete':
      await api('DELETE', `/api/functions/${name()}`);
      return io.out(`deleted '${positionals[0]}'\n`);
    case 'pause':
    case 'resume': {
      const d = (await api('POST', `/api/functions/${name()}/${command}`)) as Description;
      return io.out(values.json ? json(d) : `${command === 'pause' ? 'paused' : 'resumed'} '${d.name}' (${d.status.state})\n`);
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

async function deploy(argv: string[], io: ClientIo): Promise<void> {
  const { values, positionals } = parseFlags(argv, DEPLOY, 'deploy');
  if (values.help) return io.out(helpFor('deploy') ?? '');
  const file = positionals[0];
  if (!file) throw new UsageError('deploy needs the code: redlet deploy <file.js|file.ts|file.py|function.zip> --name <name>');
  if (positionals.length > 1)
    throw new UsageError(`deploy takes one file (got ${positionals.join(', ')}); zip a folder of modules into one .zip`);
  if (values['reset-env'] && !values.force) throw new UsageError('--reset-env applies when replacing a function: add --force');
  const api = client(values, io);
  const data = await readOrExplain(io, file);
  const name = values.name ?? nameFromFile(file);
  const form = new FormData();
  form.set('name', name);
  form.set('code', new File([data], basename(file)));
  for (const [flag, field] of SETTING_FLAGS) {
    const v = values[flag];
    if (typeof v === 'string') form.set(field, v);
  }

  let created = true;
  let body: unknown;
  try {
    body = await api('POST', '/api/functions', { body: form });
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.code !== 'FUNCTION_EXISTS') throw err;
    if (!values.force)
      throw new ApiFailure(
        `a function named '${name}' already exists; run again with --force to replace its code and settings (context.env is kept)`,
        err.code,
      );
    if (values['reset-env']) form.set('resetEnv', 'true');
    created = false;
    body = await api('PUT', `/api/functions/${encodeURIComponent(name)}`, { body: form });
  }
  if (values.json) return io.out(json(body));
  const d = body as Description;
  const s = d.settings;
  const schedule = s.trigger === 'keyspace' ? `on writes to '${s.inputKey}'` : `every ${s.period} s on '${s.inputKey}'`;
  io.out(
    `${created ? 'registered' : 'updated'} '${d.name}' from ${d.source.filename}: handler '${s.handler}', ${schedule}, output ${s.outputKey ? `'${s.outputKey}'` : 'not written (no --output-key)'}\n`,
  );
}

/** Reads a file named on the command line; a file that cannot be read is a usage error. */
async function readOrExplain(io: ClientIo, file: string): Promise<Uint8Array> {
  try {
    return await io.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read '${file}' (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder: zip it first' : (err as Error).message})`,
    );
  }
}

type Api = (method: string, path: string, body?: { body: string | FormData; type?: string }) => Promise<unknown>;

function client(values: { url?: string; token?: string }, io: ClientIo): Api {
  const base = (values.url ?? io.config.url).replace(/\/+$/, '');
  try {
    const u = new URL(base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--url must be an http:// or https:// URL (got '${base}')`);
  }
  const token = values.token ?? io.config.token;
  return async (method, path, body) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body?.type) headers['content-type'] = body.type;
    let res: Response;
    try {
      res = await io.fetch(`${base}${path}`, { method, headers, ...(body ? { body: body.body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiFailure(
        `cannot reach redlet at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Point to it with --url or REDLET_URL`,
      );
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not redlet (a proxy's error page?): said below.
    }
    if (res.ok && parsed !== undefined) return parsed;
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (error?.message) throw new ApiFailure(inCliTerms(error.code ?? null, error.message, token !== null), error.code ?? null);
    throw new ApiFailure(`${base} answered ${res.status} ${res.statusText} without a redlet error; is --url pointing at redlet?`);
  };
}

/** The API speaks of headers and request bodies; on the command line, say which flag to use. */
function inCliTerms(code: string | null, message: string, hadToken: boolean): string {
  if (code === 'UNAUTHORIZED' && !hadToken && /send the API token/.test(message)) {
    return 'this redlet needs its API token for this command (changes always need it; reads too, unless it runs with REDLET_PUBLIC_READS=1): pass --token <token> or set REDLET_API_TOKEN (or REDLET_API_TOKEN_FILE)';
  }
  if (code === 'UNAUTHORIZED' && hadToken && /token is wrong/.test(message))
    return 'the API token is wrong (check --token / REDLET_API_TOKEN)';
  if (code === 'INPUT_MISSING')
    return `${message.replace(/; send a JSON body.*$/, '')}; pass the input as an argument (redlet invoke <name> '{...}') or with --input-file <file>`;
  // The runtime names what it parsed "the input" (runtime.invoke): say where it came from.
  if (code === 'INVALID_JSON') return message.replace(/^the input\b/, 'the input (the argument or --input-file)');
  return message;
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

function table(fns: Description[]): string {
  const rows = [
    ['NAME', 'ORIGIN', 'STATE', 'TRIGGER', 'INPUT', 'OUTPUT', 'RUNS', 'ERRORS', 'LAST RUN'],
    ...fns.map((f) => [
      f.name,
      f.origin,
      f.status.state,
      f.settings.trigger === 'poll' ? `poll ${f.settings.period}s` : 'keyspace',
      f.settings.inputKey,
      f.settings.outputKey ?? '-',
      String(f.status.invocations),
      String(f.status.errors),
      f.status.lastRunAt ? ago(f.status.lastRunAt) : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function ago(at: number): string {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}
