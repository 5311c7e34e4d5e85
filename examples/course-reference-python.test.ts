/**
 * examples/course-reference.py computes what examples/course-reference.js computes:
 * both run in redlet's sandbox on the same sequence of snapshots (window edges, a
 * repeated snapshot, time going backwards, missing and non-numeric values) and every
 * output and saved env must be identical.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessSandbox } from '../sandbox/in-process.js';
import type { ContextFields } from '../sandbox/types.js';

const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
const example = JSON.parse(read('../test/fixtures/metrics-example.json')) as Record<string, unknown>;

function snapshot(timestamp: string, cpu: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(example)) if (!key.startsWith('cpu_percent-')) base[key] = value;
  base.timestamp = timestamp;
  cpu.forEach((v, n) => (base[`cpu_percent-${n}`] = v));
  return { ...base, ...overrides };
}

const sequence: Record<string, unknown>[] = [
  example,
  snapshot('2024-11-20 14:03:00', [10, 20.5, 0, 99.9]),
  snapshot('2024-11-20 14:03:05.000001', [11.1, 20.25, 1, 98]),
  snapshot('2024-11-20 14:03:05.000001', [50, 50, 50, 50]),
  snapshot('2024-11-20 14:03:10.5', [12.3, null, 2, 97]),
  snapshot('2024-11-20 14:03:59.999999', [13, 'n/a', 3, 96]),
  snapshot('2024-11-20 14:04:00', [14, 22, 4, 95]),
  snapshot('2024-11-20 14:04:05.000002', [15.7, 23, 5, 94.4], {
    'net_io_counters_eth0-bytes_sent': 0,
    'net_io_counters_eth0-bytes_recv': 0,
  }),
  snapshot('2024-11-20 14:02:00', [1, 2, 3, 4], { 'virtual_memory-total': 0 }),
  snapshot('2024-11-20 14:02:30.25', [0.1, 0.2, 0.3, 0.7, 33.3, 66.6, 1e-9, 100]),
  snapshot('2024-11-20 14:03:29', [0.3, 0.3, 0.3], {
    'net_io_counters_eth0-bytes_sent': undefined,
    'net_io_counters_eth0-bytes_sent1': 123456789,
  }),
];

const context: ContextFields = {
  host: 'localhost',
  port: 6379,
  input_key: 'metrics',
  output_key: 'out',
  function_getmtime: '2024-11-20 14:00:00',
  last_execution: null,
  function_name: 'ref',
};

let box: InProcessSandbox;
beforeAll(async () => {
  box = new InProcessSandbox();
  const common = { handler: 'handler', memoryMb: 128, timeoutMs: 5000, env: '{}' };
  await box.load('js', {
    ...common,
    source: { kind: 'file', filename: 'course-reference.js', code: read('./course-reference.js') },
    name: 'js',
  });
  await box.load('py', {
    ...common,
    source: { kind: 'file', filename: 'course-reference.py', code: read('./course-reference.py') },
    name: 'py',
  });
}, 120_000);
afterAll(async () => {
  await box?.close();
});

describe('course reference in Python', () => {
  it('gives the same outputs and env as the JavaScript reference for the same snapshots', async () => {
    for (const [i, input] of sequence.entries()) {
      const req = { input: JSON.stringify(input), context, maxOutputBytes: 1 << 20 };
      const [js, py] = [await box.invoke('js', req), await box.invoke('py', req)];
      expect(py.error, `snapshot ${i}`).toBeUndefined();
      expect(js.ok && py.ok, `snapshot ${i}`).toBe(true);
      expect(JSON.parse(py.output!), `snapshot ${i}`).toEqual(JSON.parse(js.output!));
      expect(py.env === null ? null : JSON.parse(py.env), `env after snapshot ${i}`).toEqual(js.env === null ? null : JSON.parse(js.env));
    }
  }, 60_000);

  it('fails the same way on a snapshot without a usable timestamp', async () => {
    const req = { input: JSON.stringify({ ...example, timestamp: '20/11/2024' }), context, maxOutputBytes: 1 << 20 };
    const [js, py] = [await box.invoke('js', req), await box.invoke('py', req)];
    expect(js.error?.name).toBe('TypeError');
    expect(py.error?.name).toBe('TypeError');
    expect(py.error?.message).toContain('input.timestamp must look like');
  });
});
