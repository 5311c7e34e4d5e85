/**
 * zod building blocks whose messages name the field they check, so one rule reads the
 * same wherever it applies: in the environment (`FUNCTION_MEMORY_MB must be at least 8`)
 * and in the API and the pages (`memoryMb must be at least 8`). The limits themselves
 * are written once, in function-definition.ts (functions) and config.ts (the process).
 *
 * @example
 * intIn('PORT', 0, 65535).parse('8080'); // 8080
 * onOff('REDLET_DEMO').parse('yes');      // true
 */
import { z } from 'zod';

/** How a number may come: `text` reads "5" as 5 (the environment, forms); `json` wants a JSON number. */
export type NumberFrom = 'text' | 'json';

const number = (from: NumberFrom, error: string) => (from === 'text' ? z.coerce.number({ error }) : z.number({ error }));

/** A whole number in [min, max]. */
export function intIn(label: string, min: number, max: number, from: NumberFrom = 'text') {
  return number(from, `${label} must be a number`)
    .int(`${label} must be a whole number`)
    .min(min, `${label} must be at least ${min}`)
    .max(max, `${label} must be at most ${max}`);
}

/** A number of seconds in [min, max], fractions allowed. */
export function secondsIn(label: string, min: number, max: number, from: NumberFrom = 'text') {
  return number(from, `${label} must be a number of seconds`)
    .min(min, `${label} must be at least ${min} seconds`)
    .max(max, `${label} must be at most ${max} seconds`);
}

/** The words an on/off switch accepts, in any case. */
export const ON_WORDS = ['1', 'true', 'yes', 'on'] as const;
export const OFF_WORDS = ['0', 'false', 'no', 'off'] as const;

/** An on/off switch written as text: `1/true/yes/on` or `0/false/no/off`, in any case. */
export function onOff(label: string) {
  const words: readonly string[] = [...ON_WORDS, ...OFF_WORDS];
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => words.includes(v), `${label} must be ${ON_WORDS.join('/')} or ${OFF_WORDS.join('/')}`)
    .transform((v) => (ON_WORDS as readonly string[]).includes(v));
}

/** One of a closed set of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(label: string, values: T) {
  return z.enum(values, { error: `${label} must be one of ${values.join(', ')}` });
}

/**
 * The first problem zod found, as one line: the message, and where in the value it is
 * when that is not the whole value.
 */
export function firstIssue(error: z.ZodError): { message: string; path: string } {
  const issue = error.issues[0];
  return { message: issue?.message ?? 'invalid', path: issue ? issue.path.join('.') : '' };
}
