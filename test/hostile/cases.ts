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
  { name: 'deep-recursion', code: `function f(n) { return f(n + 1) + 1 }\nexport function handler() { return f(0) }`, expect: ['HANDLER_ERROR'] },
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
  { name: 'dynamic-import-fs', code: `export async function handler() { const fs = await import('fs'); return fs.readFileSync('/etc/passwd', 'utf8') }`, expect: ['LOAD_BUILTIN'], rejectedAtLoad: true },
  { name: 'require-child-process', code: `const cp = require('child_process');\nmodule.exports.handler = () => cp.execSync('id').toString()`, expect: ['LOAD_BUILTIN'], rejectedAtLoad: true },
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
  { name: 'huge-output', code: `export function handler() { return 'x'.repeat(20 * 1024 * 1024) }`, expect: ['OUTPUT_TOO_LARGE', 'MEMORY_LIMIT'] },
  { name: 'output-with-function', code: `export function handler() { return { f() {} } }`, expect: ['OUTPUT_NOT_SERIALIZABLE'] },
  { name: 'output-with-bigint', code: `export function handler() { return { n: 2n ** 64n } }`, expect: ['OUTPUT_NOT_SERIALIZABLE'] },
  { name: 'output-with-cycle', code: `export function handler() { const a = {}; a.self = a; return a }`, expect: ['OUTPUT_NOT_SERIALIZABLE'] },
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
];
