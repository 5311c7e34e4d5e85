/**
 * The README's table of API error codes agrees with ERROR_CODES, the one list of codes:
 * every code a client can receive is in the row of its status, and the table names
 * no code that does not exist or has another status.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../sandbox/error-codes.js';

function readmeTable(): Map<string, number[]> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('| status | codes | cause |');
  expect(start, 'the README has an error table').toBeGreaterThan(0);
  const rows = readme.slice(start).split('\n').slice(2);
  const table = new Map<string, number[]>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [statusCell = '', codesCell = ''] = row.split('|').slice(1);
    const statuses = statusCell.split(',').map((s) => Number(s.trim()));
    for (const [, code] of codesCell.matchAll(/`([A-Z0-9_]+)`/g)) table.set(code!, statuses);
  }
  return table;
}

/** What a client can see: user codes with a status, and 503s; other system failures surface as INTERNAL. */
function visibleCodes(): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => {
    const info = ERROR_CODES[code];
    return info.http !== null && (info.kind === 'user' || info.http === 503 || code === 'INTERNAL');
  });
}

describe('README error table', () => {
  const table = readmeTable();

  it('lists every code a client can receive, in the row of its status', () => {
    for (const code of visibleCodes()) {
      expect(table.get(code), `${code} is in the README's error table`).toBeDefined();
      expect(table.get(code), `${code}'s status`).toContain(ERROR_CODES[code].http);
    }
  });

  it('names only codes that exist and that a client can receive', () => {
    const visible = new Set<string>(visibleCodes());
    for (const code of table.keys()) {
      expect(isErrorCode(code), `${code} is a code of ERROR_CODES`).toBe(true);
      expect(visible.has(code), `${code} reaches clients`).toBe(true);
    }
  });
});
