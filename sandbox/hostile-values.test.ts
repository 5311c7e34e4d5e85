// Hostile code against the host's checks, in one isolate: thrown values built to run
// code when read, spoofed error codes, replaced built-ins, caps counted in UTF-8
// bytes, and WebAssembly memory held to the memory limit.
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessSandbox } from './in-process.js';
import type { ContextFields, InvokeRequest } from './types.js';

const context: ContextFields = {
  host: 'h',
  port: 1,
  input_key: 'in',
  output_key: 'out',
  function_getmtime: '2024-01-01 00:00:00',
  last_execution: null,
  function_name: 'fn',
};
let box: InProcessSandbox | null = null;
afterEach(async () => {
  await box?.close();
  box = null;
});

async function loaded(code: string, memoryMb = 16, timeoutMs = 5000) {
  box = new InProcessSandbox();
  await box.load('fn', {
    source: { kind: 'file', filename: 'fn.js', code },
    handler: 'handler',
    memoryMb,
    timeoutMs,
    env: '{}',
    name: 'fn',
  });
  return box;
}
const call = (b: InProcessSandbox, input: unknown = {}, extra: Partial<InvokeRequest> = {}) =>
  b.invoke('fn', { input: JSON.stringify(input), context, maxOutputBytes: 1 << 20, ...extra });

describe('thrown values', () => {
  it('a Proxy whose traps throw objects with getters is read inside the isolate, and the host goes on', async () => {
    const b = await loaded(`
      const evil = () => ({ get message() { throw evilProxy() }, get name() { throw evilProxy() }, get stack() { throw evilProxy() } });
      function evilProxy() { return new Proxy({}, { get() { throw evil() }, getPrototypeOf() { throw evil() }, has() { throw evil() }, ownKeys() { throw evil() } }) }
      export function handler(i) { if (i.async) return Promise.reject(evilProxy()); throw evilProxy() }`);
    for (const input of [{}, { async: true }]) {
      const r = await call(b, input);
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('HANDLER_ERROR');
    }
    expect((await call(b)).ok).toBe(false);
  });

  it.each(['MEMORY_LIMIT', 'TIMEOUT', 'CRASH_LOOP_BACKOFF', 'WORKER_CRASHED'])('a guest cannot claim %s', async (code) => {
    const b = await loaded(`export function handler() {
      const e = new Error('Script execution timed out. Isolate was disposed during execution due to memory limit'); e.code = '${code}';
      Object.prototype.then = undefined; throw e }`);
    const r = await call(b);
    expect(r.error?.code).toBe('HANDLER_ERROR');
    expect(r.error?.message).toContain('timed out');
  });

  it('a guest that hijacks promise resolution cannot spoof its result code', async () => {
    const b = await loaded(`export async function handler() {
      Object.prototype.then = function (ok) { delete Object.prototype.then; ok({ ok: false, error: { code: 'MEMORY_LIMIT', name: 'x', message: 'x'.repeat(1e5) }, logs: Array(5000).fill({ t: 1, level: 'evil', msg: 'y'.repeat(1e4) }) }) };
      return 1 }`);
    const r = await call(b);
    expect(r.error?.code ?? 'none').not.toBe('MEMORY_LIMIT');
    expect(r.logs.length).toBeLessThanOrEqual(200);
    for (const l of r.logs) expect(['log', 'info', 'warn', 'error', 'debug']).toContain(l.level);
  });
});

describe('built-ins replaced by the function', () => {
  it('the log and error caps hold when String.prototype.slice and Array.prototype.push are replaced', async () => {
    const b = await loaded(`export function handler() {
      String.prototype.slice = function () { return String(this) };
      Array.prototype.push = function (x) { this[this.length] = x; return this.length };
      Array.prototype.filter = function () { return this };
      const z = 'z'.repeat(10000); for (let i = 0; i < 300; i++) console.log(z);
      throw new Error('m'.repeat(2e6)) }`);
    const r = await call(b);
    expect(r.ok).toBe(false);
    expect(r.logs.length).toBeLessThanOrEqual(200);
    expect(r.droppedLogs).toBeGreaterThan(0);
    for (const l of r.logs) expect(l.msg.length).toBeLessThanOrEqual(4001);
    expect(r.error!.message.length).toBeLessThanOrEqual(4001);
  });
});

describe('caps count UTF-8 bytes', () => {
  it('an output of 3-byte characters is measured in bytes', async () => {
    const b = await loaded(`export function handler() { return '€'.repeat(1000) }`);
    const r = await call(b, {}, { maxOutputBytes: 2000 });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('OUTPUT_TOO_LARGE');
    expect(r.error?.message).toContain('3002 bytes');
  });

  it('context.env of 3-byte characters is measured in bytes', async () => {
    box = new InProcessSandbox({ limits: { maxEnvBytes: 3000 } });
    await box.load('fn', {
      source: { kind: 'file', filename: 'fn.js', code: `export function handler(i, ctx) { ctx.env.s = '€'.repeat(1500); return 1 }` },
      handler: 'handler',
      memoryMb: 16,
      timeoutMs: 1000,
      env: '{}',
      name: 'fn',
    });
    const r = await call(box);
    expect(r.error?.code).toBe('ENV_TOO_LARGE');
  });
});

// A module with its own memory (1 page, no maximum) exporting grow(n) = memory.grow(n) and the memory.
const GROW_WASM = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01,
  0x00, 0x01, 0x07, 0x0e, 0x02, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x0a, 0x08, 0x01, 0x06, 0x00,
  0x20, 0x00, 0x40, 0x00, 0x0b,
];

describe('WebAssembly memory counts against memoryMb', () => {
  it('memory.grow from Wasm code stops at the limit (a module declaring no maximum)', async () => {
    const b = await loaded(
      `const bytes = new Uint8Array(${JSON.stringify(GROW_WASM)});
      export function handler() {
        const { instance } = { instance: new WebAssembly.Instance(new WebAssembly.Module(bytes), {}) };
        const before = instance.exports.grow(0);
        const huge = instance.exports.grow(16384);
        let pages = before; while (instance.exports.grow(16) !== -1) pages += 16;
        return { before, huge, pages: instance.exports.mem.buffer.byteLength / 65536 } }`,
      16,
    );
    const r = await call(b);
    expect(r.error).toBeUndefined();
    const out = JSON.parse(r.output!) as { before: number; huge: number; pages: number };
    expect(out.before).toBe(1);
    expect(out.huge).toBe(-1);
    expect(out.pages).toBeLessThanOrEqual(16 * 16);
  });

  it('WebAssembly.Memory is capped, also through the original constructor, and all memories share one budget', async () => {
    const b = await loaded(
      `export function handler() {
        const out = {};
        const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
        try { m.grow(60000); out.grew = true } catch (e) { out.grow = e.name }
        out.sameCtor = Object.getPrototypeOf(m).constructor === WebAssembly.Memory;
        try { new (Object.getPrototypeOf(m).constructor)({ initial: 1 }); out.second = 'made' } catch (e) { out.second = e.name }
        return out }`,
      16,
    );
    const r = await call(b);
    expect(r.error).toBeUndefined();
    expect(JSON.parse(r.output!)).toEqual({ grow: 'RangeError', sameCtor: true, second: 'RangeError' });
  });

  it('async instantiate is capped too, and each instance charges its own memory', async () => {
    const b = await loaded(
      `const bytes = new Uint8Array(${JSON.stringify(GROW_WASM)});
      export async function handler() {
        const out = {};
        const { instance } = await WebAssembly.instantiate(bytes, {});
        out.grow = instance.exports.grow(16384);
        try { await WebAssembly.instantiate(bytes, {}); out.second = 'made' } catch (e) { out.second = e.name }
        return out }`,
      16,
    );
    const r = await call(b);
    expect(r.error).toBeUndefined();
    expect(JSON.parse(r.output!)).toEqual({ grow: -1, second: 'RangeError' });
  });
});
