/**
 * The command line's one flag parser (over node:util parseArgs), shared by `start`,
 * `collect` and the client commands. A wrong command line becomes a UsageError whose
 * message says what to type instead: an unknown flag or command names the closest
 * known one (`--outputkey` -> `--output-key`).
 *
 * @example
 * parseFlags(['f.js', '--outputkey', 'o'], { 'output-key': { type: 'string' } }, 'deploy');
 * // throws UsageError: unknown option '--outputkey' for 'redlet deploy'; did you mean --output-key?
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** The command line is wrong: printed with a pointer to the help, exit 2. */
export class UsageError extends Error {}

/** `--help`/`-h` is understood by every command. */
export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } satisfies FlagSpec;

export function parseFlags<T extends FlagSpec>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: argv, options: { ...HELP_FLAG, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? '';
      const known = Object.keys({ ...HELP_FLAG, ...options }).map((k) => `--${k}`);
      const near = closest(given.split('=')[0]!, known);
      throw new UsageError(`unknown option '${given}' for 'redlet ${command}'${near ? `; did you mean ${near}?` : ''}`);
    }
    // parseArgs explains '--' at length after the first sentence; the first says what is wrong.
    throw new UsageError(e.message.split(/\.\s/)[0]!);
  }
}

/**
 * The candidate nearest to `word` (ignoring case, dashes and underscores), or null when
 * none is near enough to be a likely typo.
 *
 * @example
 * closest('--outputkey', ['--output-key', '--input-key']); // '--output-key'
 */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const w = norm(word);
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(w, norm(c));
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : null;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
