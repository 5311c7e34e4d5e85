import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FunctionStatus } from './function-status.js';
import { createLogger } from './logger.js';
import { stateChangeLogger } from './state-log.js';

function watched(shared?: { log: object; lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> }, name = 'avg') {
  if (shared) {
    const s = new FunctionStatus(name);
    s.set('idle');
    s.onChange = stateChangeLogger(shared.log as never);
    return { s, lines: shared.lines, log: shared.log };
  }
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const log = {
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', msg, fields }),
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', msg, fields }),
  };
  const s = new FunctionStatus('avg');
  s.set('idle');
  s.onChange = stateChangeLogger(log as never);
  return { s, lines, log };
}

const boom = {
  code: 'HANDLER_ERROR' as const,
  name: 'TypeError',
  message: 'x is undefined',
  stack: 'TypeError: x is undefined\n    at handler (avg.js:3:9)',
};

describe('state-change logs', () => {
  it('logs the first error with the error, not every failing run, then the recovery', () => {
    const { s, lines } = watched();
    for (let i = 0; i < 5; i++) {
      s.set('running');
      s.recordFailure(boom, 1, Date.now());
      s.set('error', boom.message);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      msg: 'function failing',
      fields: { function: 'avg', reason: 'HANDLER_ERROR: x is undefined' },
    });
    expect(lines[0]!.fields.stack).toContain('avg.js:3:9');
    s.recordSuccess(1, Date.now(), '{}');
    s.set('idle');
    s.set('running');
    s.set('idle');
    expect(lines.map((l) => l.msg)).toEqual(['function failing', 'function recovered']);
  });

  it('logs Redis lost and back, crash-loop backoff, paused and resumed', () => {
    const { s, lines } = watched();
    s.recordProblem({ code: 'REDIS_UNAVAILABLE', name: 'RedletError', message: 'connection refused' }, Date.now());
    s.set('error', 'Redis unavailable');
    s.set('error', 'Redis unavailable');
    s.set('idle');
    s.recordProblem({ code: 'CRASH_LOOP_BACKOFF', name: 'RedletError', message: 'crashed 3 times' }, Date.now());
    s.set('error', 'crashed 3 times');
    s.set('paused');
    s.set('idle');
    expect(lines.map((l) => `${l.level} ${l.msg.split(':')[0]}`)).toEqual([
      'warn Redis lost',
      'info Redis back',
      'warn crash-loop backoff',
      'info function paused',
      'info function resumed',
    ]);
  });
});

describe('a Redis outage', () => {
  it('is logged once for the process, not once per function, and its end once', () => {
    const a = watched();
    const b = watched({ log: a.log, lines: a.lines }, 'b');
    const down = { code: 'REDIS_UNAVAILABLE' as const, name: 'RedletError', message: 'connection refused' };
    for (const f of [a, b]) {
      f.s.recordProblem(down, Date.now());
      f.s.set('error', 'Redis unavailable');
    }
    a.s.set('idle');
    expect(a.lines.map((l) => l.msg.split(':')[0])).toEqual(['Redis lost']);
    b.s.set('idle');
    expect(a.lines.map((l) => l.msg.split(':')[0])).toEqual(['Redis lost', 'Redis back']);
  });
});

describe('log format', () => {
  function capture(format: 'json' | 'pretty' | 'auto', tty: boolean): string {
    const out = new PassThrough();
    Object.assign(out, { isTTY: tty });
    let text = '';
    out.on('data', (d) => (text += d));
    createLogger('info', out, format).warn({ function: 'avg' }, 'function failing');
    return text;
  }

  it('writes JSON lines when not a terminal, readable lines on a terminal, and LOG_FORMAT forces either', () => {
    const json = capture('auto', false);
    expect(JSON.parse(json.trim())).toMatchObject({ level: 40, function: 'avg', msg: 'function failing' });
    const pretty = capture('auto', true);
    expect(pretty.trim().split('\n')).toHaveLength(1);
    expect(pretty).toMatch(/WARN.*\[avg\] function failing/);
    expect(pretty).toContain('\u001b['); // coloured
    expect(capture('pretty', false)).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: \[avg\] function failing\n$/);
    expect(() => JSON.parse(capture('json', true).trim())).not.toThrow();
  });
});
