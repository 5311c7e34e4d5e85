// Hostile functions: each case in a process of its own (test/hostile/run-case.ts), next
// to a well-behaved neighbour. The runtime must stay up, the offender must end in a
// clear error state, the neighbour must keep running (after the offence, and during the
// offender's invocations), and nothing may reach the host process.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_CASES } from './hostile/cases.js';
import { deletePrefix, redisClient, testPrefix } from './helpers/redis.js';

const root = resolve(import.meta.dirname, '..');

// The case's JSON report, read field by field by the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Report = any;

function runCase(
  name: string,
  prefix: string,
  mode: 'process' | 'inline',
): Promise<{ code: number | null; report: Report; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'test/hostile/run-case.ts', name, prefix], {
      cwd: root,
      env: { ...process.env, HOSTILE_SANDBOX: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      let report: Report = null;
      try {
        report = JSON.parse(line);
      } catch {
        // Reported below with the output.
      }
      done({ code, report, stderr: err });
    });
  });
}

describe('hostile functions', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    await redis.quit();
  });

  // Every case in worker processes (the default); the second round's classes inline too.
  const runs = HOSTILE_CASES.flatMap((c) => [
    [`${c.name} (process)`, c, 'process'] as const,
    ...(c.bothModes ? [[`${c.name} (inline)`, c, 'inline'] as const] : []),
  ]);
  it.each(runs)(
    '%s',
    async (_name, c, mode) => {
      const prefix = testPrefix();
      prefixes.push(prefix);
      const { code, report, stderr } = await runCase(c.name, prefix, mode);
      expect(report, `no report; stderr:\n${stderr.slice(-2000)}`).not.toBeNull();
      // The runtime stayed up and stopped cleanly.
      expect(code).toBe(0);

      if (c.rejectedAtLoad) {
        expect(c.expect).toContain(report.loadError?.code);
        if (/^(LOAD|HANDLER)_/.test(report.loadError.code)) expect(report.loadError.message).toMatch(/offender\.js:\d+/);
        expect(report.offender).toBeNull();
      } else {
        expect(report.loadError).toBeNull();
        expect(report.offender.state, JSON.stringify(report.offender)).toBe('error');
        expect(c.expect, JSON.stringify(report.offender.lastError)).toContain(report.offender.lastError.code);
        expect(report.offender.lastError.message.length).toBeGreaterThan(0);
      }

      // The neighbour kept running, untouched: after the offence, and while the offender
      // was in an invocation (once it spent long enough in them for that to be sure).
      const n = report.neighbour;
      const why = JSON.stringify({ neighbour: n, offender: report.offenderRuns, host: report.host });
      expect(n.errors, why).toBe(0);
      expect(n.invocations, why).toBeGreaterThanOrEqual(3);
      if (!c.rejectedAtLoad) expect(n.afterOffence, why).toBeGreaterThanOrEqual(1);
      if (report.offenderRuns.busyEnough) expect(n.duringOffender, why).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(n.lastOutput).polluted).toBeNull();

      // Nothing reached the host process, and its own timers kept running while the offender ran.
      expect(report.host).toMatchObject({ envUnchanged: true, protoUnchanged: true, builtinsUnchanged: true, globalsUnchanged: true });
      if (report.offenderRuns.busyEnough) expect(report.host.beatsDuringOffender, why).toBeGreaterThanOrEqual(1);

      if (c.name === 'console-flood') {
        // Lines kept are capped and the rest counted.
        expect(report.offender.logLines).toBeLessThanOrEqual(500);
        expect(report.offender.droppedLogs).toBeGreaterThan(100_000);
      }
      if (c.name === 'replaced-builtins-flood') {
        // The caps held although the prelude's built-ins were replaced: re-checked on the host.
        expect(report.offender.logLines).toBeLessThanOrEqual(500);
        expect(report.offender.maxLogChars).toBeLessThanOrEqual(4001);
        expect(report.offender.lastError.message.length).toBeLessThanOrEqual(4001);
      }
      if (c.name === 'wasm-memory-bomb') expect(report.offender.lastError.message).toMatch(/memory limit|memory\.grow refused/);
      if (c.name === 'spoofed-error-code' || c.name === 'proxy-thrown-value') expect(report.offender.sandbox?.crashes ?? 0).toBe(0);
      if (c.name === 'global-search-for-host-objects') expect(report.offender.lastError.message).toBe('found: []');
      if (c.name === 'function-constructor-escape') expect(report.offender.lastError.message).toMatch(/process is not defined/);
      if (c.name === 'array-fill-bomb' && report.offender.sandbox.crashes > 0)
        expect(report.offender.sandbox.lastCrash).toMatch(/SIGABRT|exit/);
    },
    60_000,
  );
});
