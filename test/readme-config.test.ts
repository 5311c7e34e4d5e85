/**
 * The README's configuration tables (and docs/security.md's limits) agree with
 * src/config-schema.ts and function-definition.ts, where each environment variable and
 * limit is defined once: every variable redlet reads is documented, the tables name no
 * variable it does not read, and a default the table writes as a value (`8080`, on,
 * off) is the schema's default.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_EXTENSIONS } from '../src/code-files.js';
import { ENV, type EnvName } from '../src/config-schema.js';
import { LIMITS } from '../src/function-definition.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('<!-- section: configuration'), readme.indexOf('<!-- /section: configuration'));

/** Each table row: the variables of its first cell, the defaults of its second. */
function rows(): Array<{ vars: string[]; defaults: string[] }> {
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const [vars = '', defaults = ''] = l.split('|').slice(1);
      return { vars: [...vars.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!), defaults: defaults.split(',').map((d) => d.trim()) };
    });
}

const isEnvName = (name: string): name is EnvName => Object.hasOwn(ENV, name);

describe('README configuration tables', () => {
  const documented = rows().flatMap((r) => r.vars);

  it('document every variable redlet reads, and only those', () => {
    // HOSTNAME is read for REDLET_REPLICA_ID's default; REDLET_URL is the CLI client's (documented with the CLI).
    for (const name of Object.keys(ENV)) if (name !== 'HOSTNAME') expect(readme, `${name} is in the README`).toContain(`\`${name}\``);
    for (const name of documented) expect(isEnvName(name), `${name} (README) is read by redlet`).toBe(true);
    expect(documented.length).toBeGreaterThan(40);
  });

  it('give the defaults the schemas have', () => {
    let compared = 0;
    for (const { vars, defaults } of rows()) {
      vars.forEach((name, i) => {
        const written = defaults.length === vars.length ? defaults[i]! : defaults.length === 1 ? defaults[0]! : '';
        const literal = /^`([^`]+)`$/.exec(written)?.[1] ?? (written === 'on' || written === 'off' ? written : null);
        // `$HOSTNAME-<pid>` and the like are computed, not a schema's default.
        if (literal === null || literal.includes('$') || !isEnvName(name)) return;
        const actual = ENV[name].safeParse(undefined);
        expect(actual.success && actual.data !== undefined, `${name} has a default in its schema`).toBe(true);
        const shown = typeof actual.data === 'boolean' ? (actual.data ? 'on' : 'off') : String(actual.data);
        expect(shown, `${name}'s default`).toBe(literal);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(15);
  });

  it('name every kind of file FUNCTION_FILE may be', () => {
    const row = section.split('\n').find((l) => l.startsWith('| `FUNCTION_FILE`'))!;
    expect([...row.matchAll(/`(\.[a-z]+)`/g)].map((m) => m[1])).toEqual([...CODE_EXTENSIONS]);
  });

  it("docs/security.md's limits table gives the ranges and defaults the schemas have", () => {
    const security = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');
    const row = (start: string) => security.split('\n').find((l) => l.startsWith(start)) ?? '';
    expect(row('| memory per function')).toContain(
      `${ENV.REDLET_DEFAULT_MEMORY_MB.parse(undefined)} MB (${LIMITS.memoryMb.min}–${LIMITS.memoryMb.max})`,
    );
    expect(row('| time per invocation')).toContain(
      `${ENV.REDLET_DEFAULT_TIMEOUT_MS.parse(undefined)} ms (${LIMITS.timeoutMs.min}–${LIMITS.timeoutMs.max})`,
    );
  });
});
