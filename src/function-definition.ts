/**
 * A registered function: its settings (validated here, in one place, for the API,
 * the compat env and the registry alike) and metadata. Code is kept apart
 * (`FunctionSource`), since it can be megabytes and settings are read often.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FunctionSource } from '../sandbox/types.js';
import { RedletError } from './errors.js';

export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type Origin = 'api' | 'config';

export interface FunctionSettings {
  handler: string;
  inputKey: string;
  outputKey: string | null;
  trigger: 'poll' | 'keyspace';
  /** Seconds between polls (poll) or between safety polls (keyspace with invokeOn change). */
  period: number;
  invokeOn: 'change' | 'always';
  memoryMb: number;
  timeoutMs: number;
}

export interface FunctionDefinition extends FunctionSettings {
  name: string;
  origin: Origin;
  /** Name of the uploaded file or ZIP, e.g. `usermodule.js`. */
  filename: string;
  sourceKind: 'file' | 'zip';
  /** When the code last changed: epoch ms (context.function_getmtime). */
  codeUpdatedAt: number;
  createdAt: number;
  updatedAt: number;
  paused: boolean;
}

export const settingsSchema = z.object({
  handler: z
    .string()
    .trim()
    .min(1, 'handler must not be empty')
    .max(300, 'handler is too long')
    .regex(/^[\w./@-]+(:[\w$]+)?$/, "handler must look like 'handler', 'module.handler' or 'path/file.js:exportName'"),
  inputKey: z.string().min(1, 'inputKey must not be empty').max(1024, 'inputKey is too long'),
  outputKey: z.string().min(1).max(1024, 'outputKey is too long').nullable(),
  trigger: z.enum(['poll', 'keyspace'], { error: "trigger must be 'poll' or 'keyspace'" }),
  period: z.coerce.number({ error: 'period must be a number of seconds' }).min(0.1, 'period must be at least 0.1 seconds').max(86_400, 'period must be at most 86400 seconds'),
  invokeOn: z.enum(['change', 'always'], { error: "invokeOn must be 'change' or 'always'" }),
  memoryMb: z.coerce.number({ error: 'memoryMb must be a number' }).int('memoryMb must be a whole number').min(8, 'memoryMb must be at least 8').max(1024, 'memoryMb must be at most 1024'),
  timeoutMs: z.coerce.number({ error: 'timeoutMs must be a number' }).int('timeoutMs must be a whole number').min(1, 'timeoutMs must be at least 1').max(60_000, 'timeoutMs must be at most 60000'),
});

export const nameSchema = z
  .string({ error: 'name is required' })
  .max(63, 'name must be at most 63 characters')
  .regex(NAME_PATTERN, "name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit");

/** Validates settings; throws a RedletError `INVALID_SETTINGS` naming the first bad field. */
export function validateSettings(input: unknown): FunctionSettings {
  const r = settingsSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new RedletError('INVALID_SETTINGS', issue.message, { details: { field: issue.path.join('.') } });
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
  h.update(JSON.stringify({ handler, inputKey, outputKey, trigger, invokeOn, memoryMb, timeoutMs, kind: source.kind, filename: source.filename }));
  h.update('\0');
  h.update(source.kind === 'zip' ? source.data : source.code);
  return h.digest('base64url').slice(0, 16);
}
