/**
 * A registered function: its settings (validated here, in one place, for the API,
 * the compat env and the registry alike) and metadata. Code is kept apart
 * (`FunctionSource`), since it can be megabytes and settings are read often.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FunctionSource } from '../sandbox/types.js';
import { RedletError } from './errors.js';
import { isReservedKey } from './keys.js';
import { intIn, secondsIn, type NumberFrom } from './schema-fields.js';

/**
 * Every limit of a function, written once: the API, the pages, the CLI, the compat
 * environment variables and definitions read back from Redis all check these.
 */
export const LIMITS = {
  /** Seconds between polls (or between a keyspace function's safety polls). */
  period: { min: 0.1, max: 86_400 },
  memoryMb: { min: 8, max: 1024 },
  timeoutMs: { min: 1, max: 60_000 },
  /** A function's name is a DNS label: at most 63 characters. */
  nameLength: 63,
  /** Input and output key names. */
  keyLength: 1024,
  handlerLength: 300,
  filenameLength: 255,
} as const;

/**
 * A DNS label (lowercase letters, digits and '-', starting and ending with a letter or
 * digit); see LIMITS.nameLength. Written without '-' inside a character class, so its
 * `source` is also a valid HTML `pattern` attribute (browsers compile those with the
 * `v` flag, where a bare '-' in a class is a syntax error).
 */
export const NAME_PATTERN = /^[a-z0-9]+(-+[a-z0-9]+)*$/;

export const TRIGGERS = ['poll', 'keyspace'] as const;
export const INVOKE_ON = ['change', 'always'] as const;

/**
 * The rules of the numeric settings, with messages naming `label` (a settings field or
 * an environment variable); `from: 'json'` for values read back from Redis.
 */
export const periodSchema = (label = 'period', from?: NumberFrom) => secondsIn(label, LIMITS.period.min, LIMITS.period.max, from);
export const memoryMbSchema = (label = 'memoryMb', from?: NumberFrom) => intIn(label, LIMITS.memoryMb.min, LIMITS.memoryMb.max, from);
export const timeoutMsSchema = (label = 'timeoutMs', from?: NumberFrom) => intIn(label, LIMITS.timeoutMs.min, LIMITS.timeoutMs.max, from);

/** What a function's author chooses (see settingsSchema). */
export type FunctionSettings = z.output<typeof settingsSchema>;

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(' or ');

export const settingsSchema = z.object({
  handler: z
    .string()
    .trim()
    .min(1, 'handler must not be empty')
    .max(LIMITS.handlerLength, 'handler is too long')
    .regex(/^[\w./@-]+(:[\w$]+)?$/, "handler must look like 'handler', 'module.handler' or 'path/file.js:exportName'"),
  inputKey: z.string().min(1, 'inputKey must not be empty').max(LIMITS.keyLength, 'inputKey is too long'),
  outputKey: z.string().min(1).max(LIMITS.keyLength, 'outputKey is too long').nullable(),
  trigger: z.enum(TRIGGERS, { error: `trigger must be ${quoted(TRIGGERS)}` }),
  /** Seconds between polls (poll) or between safety polls (keyspace with invokeOn change). */
  period: periodSchema(),
  invokeOn: z.enum(INVOKE_ON, { error: `invokeOn must be ${quoted(INVOKE_ON)}` }),
  memoryMb: memoryMbSchema(),
  timeoutMs: timeoutMsSchema(),
});

export const nameSchema = z
  .string({ error: 'name is required' })
  .max(LIMITS.nameLength, `name must be at most ${LIMITS.nameLength} characters`)
  .regex(NAME_PATTERN, "name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit");

/**
 * Which Redis keys functions may use. `reserved`: redlet's own prefixes (this
 * replica's, the default `redlet:`, REDLET_RESERVED_PREFIXES); `allowed`: the globs of
 * REDLET_FUNCTION_KEYS, or null for any key outside the reserved ones.
 */
export interface KeyPolicy {
  reserved: readonly string[];
  allowed: readonly string[] | null;
}

/** No reserved prefix and no confinement: for code that has no configuration at hand. */
export const OPEN_KEY_POLICY: KeyPolicy = { reserved: [], allowed: null };

/** A glob (`*`: any run of characters, `?`: one character, `\\x`: x itself) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i]!);
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Refuses a key a function may not use: `RESERVED_KEY` inside redlet's own namespace,
 * `KEY_NOT_ALLOWED` outside REDLET_FUNCTION_KEYS. The one check behind the API, the
 * compat env, the CLI, the pages, stored definitions and the runner's commits.
 */
export function checkFunctionKey(key: string, field: string, policy: KeyPolicy): void {
  if (isReservedKey(key, policy.reserved)) {
    throw new RedletError(
      'RESERVED_KEY',
      `${field} '${key}' is inside redlet's own key namespace (${policy.reserved.map((p) => `'${p}'`).join(', ')}); use a key outside it`,
      { details: { field } },
    );
  }
  if (policy.allowed && !policy.allowed.some((g) => globToRegExp(g).test(key))) {
    throw new RedletError(
      'KEY_NOT_ALLOWED',
      `${field} '${key}' is not among the keys functions may use here (REDLET_FUNCTION_KEYS: ${policy.allowed.join(',')})`,
      { details: { field } },
    );
  }
}

/**
 * Validates settings; throws a RedletError `INVALID_SETTINGS` naming the first bad field,
 * `RESERVED_KEY`/`KEY_NOT_ALLOWED` for a key the policy refuses.
 */
export function validateSettings(input: unknown, policy: KeyPolicy = OPEN_KEY_POLICY): FunctionSettings {
  const r = settingsSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new RedletError('INVALID_SETTINGS', issue.message, { details: { field: issue.path.join('.') } });
  }
  const s = r.data;
  checkFunctionKey(s.inputKey, 'inputKey', policy);
  if (s.outputKey !== null) checkFunctionKey(s.outputKey, 'outputKey', policy);
  if (s.trigger === 'keyspace' && s.outputKey === s.inputKey) {
    throw new RedletError(
      'SELF_TRIGGER',
      `outputKey '${s.outputKey}' is the input key of this keyspace function: every result would trigger it again; use another output key or the poll trigger`,
      {
        details: { field: 'outputKey' },
      },
    );
  }
  return s;
}

/** A function: its settings and what redlet records about it. */
const definitionSchema = z.strictObject({
  name: nameSchema,
  /** `config`: from the compat environment variables, never stored; `api`: registered through the API or the pages. */
  origin: z.enum(['api', 'config']),
  /** Name of the uploaded file or ZIP, e.g. `usermodule.js`. */
  filename: z.string().min(1).max(LIMITS.filenameLength),
  sourceKind: z.enum(['file', 'zip']),
  /** When the code last changed: epoch ms (context.function_getmtime). */
  codeUpdatedAt: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  paused: z.boolean(),
  ...settingsSchema.shape,
});

/**
 * A definition as the registry stores it (JSON), read back: the same rules, except that
 * numbers must be JSON numbers (the API reads "5" as 5; a stored "5" was not written by
 * redlet) and only the API's functions are ever stored.
 */
const storedSchema = definitionSchema.extend({
  origin: z.literal('api', { error: "origin must be 'api' (functions from configuration are never stored)" }),
  period: periodSchema('period', 'json'),
  memoryMb: memoryMbSchema('memoryMb', 'json'),
  timeoutMs: timeoutMsSchema('timeoutMs', 'json'),
});

export type FunctionDefinition = z.output<typeof definitionSchema>;
export type Origin = FunctionDefinition['origin'];

/**
 * Checks a definition read back from Redis against the API's rules (limits, origin,
 * keys). Throws `DEFINITION_INVALID` with the reason; such a function is quarantined.
 */
export function validateStoredDefinition(raw: unknown, expectedName: string, policy: KeyPolicy): FunctionDefinition {
  const r = storedSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.') || 'definition';
    throw new RedletError('DEFINITION_INVALID', `stored definition refused: ${field}: ${issue.message}`, {
      kind: 'system',
      details: { field },
    });
  }
  if (r.data.name !== expectedName)
    throw new RedletError('DEFINITION_INVALID', `stored definition refused: it names '${r.data.name}', not '${expectedName}'`, {
      kind: 'system',
    });
  try {
    validateSettings(r.data, policy);
  } catch (err) {
    throw new RedletError('DEFINITION_INVALID', `stored definition refused: ${(err as Error).message}`, { kind: 'system' });
  }
  return r.data;
}

export function validateName(name: unknown): string {
  const r = nameSchema.safeParse(name);
  if (!r.success) throw new RedletError('INVALID_NAME', r.error.issues[0]!.message, { details: { field: 'name' } });
  return r.data;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as the course's context.function_getmtime. */
export function formatMtime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The revision of a definition: a hash of everything that can change a result (the
 * code, handler, input and output keys, trigger, invokeOn, memory and time limits).
 * Change detection compares `(input hash, revision)`, so a changed definition handles
 * the current input once. Deterministic, so a restart computes the same one.
 *
 * @example
 * definitionRevision(def, { kind: 'file', filename: 'f.js', code }); // 'k3V...'
 */
export function definitionRevision(s: FunctionSettings, source: FunctionSource): string {
  const h = createHash('sha1');
  const { handler, inputKey, outputKey, trigger, invokeOn, memoryMb, timeoutMs } = s;
  h.update(
    JSON.stringify({ handler, inputKey, outputKey, trigger, invokeOn, memoryMb, timeoutMs, kind: source.kind, filename: source.filename }),
  );
  h.update('\0');
  h.update(source.kind === 'zip' ? source.data : source.code);
  return h.digest('base64url').slice(0, 16);
}
