import JSZip from 'jszip';
import { afterEach, describe, expect, it } from 'vitest';
import { WireSender, unpack } from './worker-wire.js';
import type { ContextFields, LoadRequest } from './types.js';
import { WorkerPoolSandbox } from './worker-pool.js';

/** What Node's `json` IPC does to a message. */
const overJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('worker wire framing', () => {
  it('sends the messages of one event-loop turn as one batch, in order', async () => {
    const sent: unknown[][] = [];
    const out = new WireSender<{ id: number }>((b) => sent.push(b));
    out.push({ id: 1 });
    out.push({ id: 2 });
    await Promise.resolve();
    out.push({ id: 3 });
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual([[{ id: 1 }, { id: 2 }, { id: 3 }]]);
    out.push({ id: 4 });
    await nextTurn();
    expect(sent).toEqual([[{ id: 1 }, { id: 2 }, { id: 3 }], [{ id: 4 }]]);
  });

  it('flush sends at once and leaves nothing for the scheduled turn', async () => {
    const sent: unknown[][] = [];
    const out = new WireSender<{ id: number }>((b) => sent.push(b));
    out.push({ id: 1 });
    out.flush();
    await nextTurn();
    expect(sent).toEqual([[{ id: 1 }]]);
  });

  it('carries the bytes of a load request through JSON and leaves other messages alone', async () => {
    const sent: unknown[][] = [];
    const out = new WireSender<unknown>((b) => sent.push(b));
    const data = new Uint8Array([0, 1, 2, 250, 255]);
    out.push({ id: 1, op: 'load', fn: 'z', req: { source: { kind: 'zip', filename: 'f.zip', data }, handler: 'handler' } });
    out.push({ id: 2, op: 'invoke', fn: 'z', req: { input: '{"$bytes":"AAE="}' } });
    await nextTurn();
    const [load, invoke] = unpack(overJson(sent[0]!)) as Array<{ req: { source?: { data: unknown }; input?: string } }>;
    expect(load!.req.source!.data).toBeInstanceOf(Uint8Array);
    expect([...(load!.req.source!.data as Uint8Array)]).toEqual([0, 1, 2, 250, 255]);
    expect(invoke!.req.input).toBe('{"$bytes":"AAE="}');
  });

  it('accepts a single, unbatched message', () => {
    expect(unpack({ id: 7, op: 'ping' })).toEqual([{ id: 7, op: 'ping' }]);
  });
});

describe('worker processes over the framing', () => {
  let box: WorkerPoolSandbox | null = null;
  afterEach(async () => {
    await box?.close();
    box = null;
  });
  const context: ContextFields = {
    host: 'h',
    port: 1,
    input_key: 'in',
    output_key: 'out',
    function_getmtime: '2024-01-01 00:00:00',
    last_execution: null,
    function_name: 'f',
  };

  it('loads a ZIP source in a worker and answers concurrent calls each with its own result', async () => {
    const zip = new JSZip();
    zip.file('lib/double.js', 'export const double = (x) => x * 2;\n');
    zip.file('main.js', "import { double } from './lib/double.js';\nexport function handler(input) { return double(input.v); }\n");
    const data = await zip.generateAsync({ type: 'uint8array' });
    box = new WorkerPoolSandbox({ workers: 1 });
    const req: LoadRequest = {
      source: { kind: 'zip', filename: 'f.zip', data },
      handler: 'main.handler',
      memoryMb: 32,
      timeoutMs: 2000,
      env: '{}',
      name: 'f',
    };
    await box.load('f', req);
    await box.load('g', { ...req, name: 'g' });
    const calls = Array.from({ length: 50 }, (_, i) =>
      box!.invoke(i % 2 ? 'f' : 'g', { input: JSON.stringify({ v: i }), context, maxOutputBytes: 1 << 20 }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 50 }, (_, i) => String(i * 2)));
  });
});
