/**
 * Hostile and broken functions, each with the error state it must end in. Each case
 * runs in a process of its own (test/hostile/run-case.ts) next to a well-behaved
 * neighbour. Named for the behaviour they trigger.
 */
export interface HostileCase {
  name: string;
  code: string;
  /** Error codes the offender may end with (any one of them). */
  expect: string[];
  /** Rejected when registered: never runs. */
  rejectedAtLoad?: boolean;
  memoryMb?: number;
  timeoutMs?: number;
  period?: number;
  /** Extra check on the offender's last output (JSON text), when it has one. */
  output?: (json: string | null) => boolean;
  /** An output key inside redlet's own namespace, made from the run's REDLET_PREFIX. */
  reservedOutputKey?: (ownPrefix: string) => string;
  trigger?: 'poll' | 'keyspace';
  /** The output key is the input key. */
  selfTrigger?: boolean;
  /** Run in both sandbox modes (inline and worker processes), not only in worker processes. */
  bothModes?: boolean;
}

export const HOSTILE_CASES: HostileCase[] = [
  { name: 'sync-infinite-loop', code: `export function handler() { for (;;) {} }`, expect: ['TIMEOUT'] },
  { name: 'loop-after-await', code: `export async function handler() { await null; for (;;) {} }`, expect: ['TIMEOUT'] },
  { name: 'never-settling-promise', code: `export function handler() { return new Promise(() => {}) }`, expect: ['TIMEOUT'] },
  {
    name: 'array-fill-bomb',
    code: `export function handler() { const a = new Array(1e8).fill(1.1); return a.length }`,
    expect: ['WORKER_CRASHED', 'MEMORY_LIMIT', 'CRASH_LOOP_BACKOFF'],
    timeoutMs: 20_000,
  },
  {
    name: 'map-growth-bomb',
    code: `export function handler() { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i }) }`,
    expect: ['WORKER_CRASHED', 'MEMORY_LIMIT', 'CRASH_LOOP_BACKOFF', 'HANDLER_ERROR'],
    timeoutMs: 20_000,
  },
  {
    name: 'string-growth-bomb',
    code: `export function handler() { let s = 'x'; const keep = []; for (;;) { s += s; keep.push(s + '!') } }`,
    expect: ['MEMORY_LIMIT', 'HANDLER_ERROR', 'WORKER_CRASHED', 'CRASH_LOOP_BACKOFF'],
    timeoutMs: 20_000,
  },
  {
    name: 'arraybuffer-bomb',
    code: `export function handler() { const keep = []; for (;;) keep.push(new ArrayBuffer(1 << 20)) }`,
    expect: ['MEMORY_LIMIT', 'HANDLER_ERROR', 'WORKER_CRASHED', 'CRASH_LOOP_BACKOFF'],
    timeoutMs: 20_000,
  },
  {
    name: 'deep-recursion',
    code: `function f(n) { return f(n + 1) + 1 }\nexport function handler() { return f(0) }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'function-constructor-escape',
    code: `export function handler() { return this.constructor.constructor('return process')().env }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'global-search-for-host-objects',
    // Walks everything reachable from globalThis looking for a way out; it finds nothing to call.
    code: `export function handler() {
      const found = []; const seen = new Set(); const todo = [[globalThis, 'globalThis']];
      while (todo.length && seen.size < 5000) {
        const [o, path] = todo.pop();
        if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
        seen.add(o);
        for (const k of Reflect.ownKeys(o)) {
          let v; try { v = o[k]; } catch { continue; }
          const name = String(k);
          let ctor = ''; try { ctor = v && v.constructor && v.constructor.name; } catch {}
          // Host-ish names at the top level, or any isolated-vm object anywhere.
          if ((path === 'globalThis' && /^(_?ivm|Reference|ExternalCopy|Callback|Isolate|process|require|module|exports|Buffer|global)$/.test(name)) ||
              /^(Reference|Dereference|ExternalCopy|Callback|NativeModule|Isolate)$/.test(ctor)) found.push(path + '.' + name + ':' + typeof v);
          if (v && (typeof v === 'object' || typeof v === 'function')) todo.push([v, path + '.' + name]);
        }
      }
      throw new Error('found: ' + JSON.stringify(found));
    }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'dynamic-import-fs',
    code: `export async function handler() { const fs = await import('fs'); return fs.readFileSync('/etc/passwd', 'utf8') }`,
    expect: ['LOAD_BUILTIN'],
    rejectedAtLoad: true,
  },
  {
    name: 'require-child-process',
    code: `const cp = require('child_process');\nmodule.exports.handler = () => cp.execSync('id').toString()`,
    expect: ['LOAD_BUILTIN'],
    rejectedAtLoad: true,
  },
  {
    name: 'dynamic-require-at-run-time',
    code: `export function handler() { const name = ['child', 'process'].join('_'); return require(name).execSync('id').toString() }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'prototype-pollution',
    code: `export function handler() {
      Object.prototype.polluted = 'yes'; Object.prototype.toJSON = function () { return 'hijacked' };
      Array.prototype.push = function () { return -1 }; JSON.stringify = () => '"hijacked"';
      throw new Error('polluted everything I can reach');
    }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'context-tampering',
    code: `export function handler(input, context) {
      context.env.__proto__ = { injected: true };
      Object.defineProperty(context, 'env', { get() { throw new Error('no env for you') } });
      Object.freeze(context);
      throw new Error('tampered');
    }`,
    expect: ['HANDLER_ERROR'],
  },
  {
    name: 'huge-output',
    code: `export function handler() { return 'x'.repeat(20 * 1024 * 1024) }`,
    expect: ['OUTPUT_TOO_LARGE', 'MEMORY_LIMIT'],
  },
  { name: 'output-with-function', code: `export function handler() { return { f() {} } }`, expect: ['OUTPUT_NOT_SERIALIZABLE'] },
  { name: 'output-with-bigint', code: `export function handler() { return { n: 2n ** 64n } }`, expect: ['OUTPUT_NOT_SERIALIZABLE'] },
  {
    name: 'output-with-cycle',
    code: `export function handler() { const a = {}; a.self = a; return a }`,
    expect: ['OUTPUT_NOT_SERIALIZABLE'],
  },
  {
    name: 'console-flood',
    code: `export function handler() { for (let i = 0; i < 200000; i++) console.log('flood', i, 'x'.repeat(100)); throw new Error('flooded') }`,
    expect: ['HANDLER_ERROR'],
  },
  { name: 'throw-number', code: `export function handler() { throw 42 }`, expect: ['HANDLER_ERROR'] },
  { name: 'throw-undefined', code: `export function handler() { throw undefined }`, expect: ['HANDLER_ERROR'] },
  { name: 'reject-with-object', code: `export async function handler() { throw { message: 'not an Error' } }`, expect: ['HANDLER_ERROR'] },
  {
    name: 'cpu-burner-every-tick',
    // Burns (almost) its whole time limit at every tick, forever.
    code: `export function handler() { const t = Date.now(); while (Date.now() - t < 290) {} throw new Error('burned') }`,
    expect: ['HANDLER_ERROR', 'TIMEOUT'],
    timeoutMs: 300,
    period: 0.3,
  },
  // --- Classes of the second round: each runs in both sandbox modes. ---
  {
    name: 'proxy-thrown-value',
    // Reading what is thrown throws again, with getters, from Proxy traps: read in the isolate, under its limit.
    code: `const evil = () => ({ get message() { throw proxy() }, get name() { throw proxy() }, get stack() { throw proxy() } });
      function proxy() { return new Proxy({}, { get() { throw evil() }, getPrototypeOf() { throw evil() }, has() { throw evil() }, ownKeys() { throw evil() }, getOwnPropertyDescriptor() { throw evil() } }) }
      export function handler(i, ctx) { if (ctx.env.n = (ctx.env.n || 0) + 1, ctx.env.n % 2) throw proxy(); return Promise.reject(proxy()) }`,
    expect: ['HANDLER_ERROR'],
    bothModes: true,
  },
  {
    name: 'spoofed-error-code',
    code: `export function handler() { const e = new Error('Isolate was disposed during execution due to memory limit; Script execution timed out.'); e.code = 'MEMORY_LIMIT'; e.name = 'RangeError'; throw e }`,
    expect: ['HANDLER_ERROR'],
    bothModes: true,
  },
  {
    name: 'replaced-builtins-flood',
    // Replaces what a naive prelude would call at run time, then floods the log and throws a 2 MB message.
    code: `export function handler() {
      String.prototype.slice = function () { return String(this) };
      Array.prototype.push = function (x) { this[this.length] = x; return this.length };
      Array.prototype.filter = function () { return this };
      const big = 'z'.repeat(50000); for (let i = 0; i < 300; i++) console.log(big);
      throw new Error('m'.repeat(2e6)) }`,
    expect: ['HANDLER_ERROR'],
    memoryMb: 64,
    timeoutMs: 3000,
    period: 1,
    bothModes: true,
  },
  {
    name: 'wasm-memory-bomb',
    // 1 GiB of WebAssembly memory in a 32 MB function: refused (RangeError, or memory.grow gives -1).
    code: `const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,14,2,4,103,114,111,119,0,0,3,109,101,109,2,0,10,8,1,6,0,32,0,64,0,11]);
      export function handler() {
        const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        if (exports.grow(16384) === -1) { new WebAssembly.Memory({ initial: 1, maximum: 65536 }).grow(16384); throw new Error('memory.grow refused') }
        new Uint8Array(exports.mem.buffer).fill(1);
        return { heldMiB: exports.mem.buffer.byteLength / 1048576 } }`,
    expect: ['HANDLER_ERROR'],
    timeoutMs: 3000,
    bothModes: true,
  },
  {
    name: 'utf8-output-over-cap',
    // 400k characters, 1.2 MB of UTF-8: over the 1 MiB output cap.
    code: `export function handler() { return '€'.repeat(400000) }`,
    expect: ['OUTPUT_TOO_LARGE'],
    bothModes: true,
  },
  {
    name: 'utf8-env-over-cap',
    code: `export function handler(i, ctx) { ctx.env.big = '€'.repeat(400000); return 1 }`,
    expect: ['ENV_TOO_LARGE'],
    bothModes: true,
  },
  {
    name: 'reserved-output-key',
    code: `export function handler() { return { name: 'victim', origin: 'config', memoryMb: 100000 } }`,
    reservedOutputKey: (own) => `${own}fn:neighbour`,
    rejectedAtLoad: true,
    expect: ['RESERVED_KEY'],
    bothModes: true,
  },
  {
    name: 'reserved-output-key-hash-tagged',
    code: `export function handler() { return 'mine' }`,
    // '{redlet-test:…:redlet}:owner:neighbour': a Redis Cluster hash tag around the prefix.
    reservedOutputKey: (own) => `{${own.slice(0, -1)}}:owner:neighbour`,
    rejectedAtLoad: true,
    expect: ['RESERVED_KEY'],
    bothModes: true,
  },
  {
    name: 'keyspace-self-trigger',
    code: `export function handler(i) { return { v: (i.v || 0) + 1 } }`,
    trigger: 'keyspace',
    selfTrigger: true,
    rejectedAtLoad: true,
    expect: ['SELF_TRIGGER'],
    bothModes: true,
  },
];
