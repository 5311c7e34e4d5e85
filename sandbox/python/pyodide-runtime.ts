/**
 * Pyodide (CPython compiled to WebAssembly) booted inside isolated-vm isolates, never in
 * the host's own JavaScript realm: there, Python's `import js` reaches only the
 * isolate's globals. This module owns what is shared by every Python function of a
 * process: the package's files, the WebAssembly module (compiled once, shared into each
 * isolate) and the memory snapshot of an initialised interpreter (made once per Pyodide
 * version, cached on disk, rebuilt when missing). `createInterpreter` gives a fresh
 * interpreter restored from that snapshot.
 *
 * @example
 * const py = await createInterpreter({ memoryMb: 128, timeoutMs: 1000, limits });
 * py.refs.writeFiles.applySync(undefined, [files], { arguments: { copy: true } });
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ivm from 'isolated-vm';
import type { SandboxLimits } from '../limits.js';

const require = createRequire(import.meta.url);
const PKG_DIR = dirname(require.resolve('pyodide/package.json'));
const GUEST = (name: string) => readFileSync(new URL(`./guest/${name}`, import.meta.url), 'utf8');

// isolated-vm's Reference is generic over the guest value's type, which the host never
// knows (nor reads): `any` keeps apply() callable on it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ref = ivm.Reference<any>;

/** The interpreter's own isolate heap (JavaScript side of Pyodide), on top of the function's memory. */
export const PYODIDE_HEAP_MB = 64;

/** Node's WebAssembly, which this project's TypeScript lib settings do not declare. */
declare const WebAssembly: { compile: (bytes: Uint8Array) => Promise<WebAssembly.Module> };
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace WebAssembly {
  interface Module {
    readonly __brand?: 'WebAssembly.Module';
  }
}

interface Assets {
  version: string;
  lockInfo: object;
  wasm: ivm.ExternalCopy<WebAssembly.Module>;
  stdlib: ivm.ExternalCopy<ArrayBuffer>;
  sources: { shims: string; boot: string; runner: string; pyodide: string; asm: string };
  cached: Map<string, ivm.ExternalCopy<ArrayBuffer>>;
}

let assets: Promise<Assets> | null = null;

/** The package's files, read once; the WebAssembly module compiled off this thread (a worker must keep answering its heartbeat). */
function loadAssets(): Promise<Assets> {
  assets ??= readAssets();
  assets.catch(() => {
    assets = null;
  });
  return assets;
}

async function readAssets(): Promise<Assets> {
  const file = (name: string) => readFileSync(join(PKG_DIR, name));
  const lock = JSON.parse(file('pyodide-lock.json').toString('utf8')) as { info: object };
  const pkg = JSON.parse(file('package.json').toString('utf8')) as { version: string };
  const wasmBytes = file('pyodide.asm.wasm');
  const stdlibBytes = file('python_stdlib.zip');
  const wasm = await WebAssembly.compile(wasmBytes);
  return {
    version: pkg.version,
    lockInfo: lock.info,
    wasm: new ivm.ExternalCopy(wasm),
    stdlib: new ivm.ExternalCopy(stdlibBytes.buffer.slice(stdlibBytes.byteOffset, stdlibBytes.byteOffset + stdlibBytes.byteLength)),
    sources: {
      shims: GUEST('shims.js'),
      boot: GUEST('boot.mjs'),
      runner: GUEST('runner.py'),
      pyodide: file('pyodide.mjs').toString('utf8'),
      asm: file('pyodide.asm.mjs').toString('utf8'),
    },
    cached: new Map(),
  };
}

export interface InterpreterOptions {
  /** Cap of the interpreter's WebAssembly memory (the Python heap), in MB. */
  memoryMb: number;
  /** Passed to `_redlet.configure`: log and env caps. */
  limits: Pick<SandboxLimits, 'maxLogLines' | 'maxLogLineChars' | 'maxEnvBytes'>;
  onCatastrophicError?: (message: string) => void;
}

/** A live interpreter and its plain-string entry points. */
export interface Interpreter {
  isolate: ivm.Isolate;
  context: ivm.Context;
  /** Writing 2 here raises KeyboardInterrupt in Python (the soft stop). */
  interrupt: Int32Array;
  refs: { writeFiles: Ref; load: Ref; setEnv: Ref; invoke: Ref; takeLogs: Ref };
}

/** Times of the last interpreter start, for the bench and load timings. */
export interface BootTimings {
  isolateMs: number;
  modulesMs: number;
  restoreMs: number;
}

let snapshot: Promise<SharedArrayBuffer> | null = null;
/** Where snapshots are cached; each file name carries the Pyodide version and a digest of redlet's runner. */
let snapshotDir = join(tmpdir(), 'redlet-pyodide');

/** Sets the snapshot cache folder (before the first Python function loads). */
export function setSnapshotDir(dir: string): void {
  snapshotDir = dir;
}

function snapshotPath(a: Assets): string {
  const digest = require('node:crypto')
    .createHash('sha256')
    .update(a.sources.runner)
    .update(a.sources.boot)
    .update(a.sources.shims)
    .digest('hex')
    .slice(0, 16);
  return join(snapshotDir, `pyodide-${a.version}-${digest}.snap`);
}

/** The memory snapshot every interpreter starts from: read from the cache, else made now and cached. */
export function getSnapshot(): Promise<SharedArrayBuffer> {
  snapshot ??= (async () => {
    const a = await loadAssets();
    const path = snapshotPath(a);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      bytes = await makeSnapshot(a);
      try {
        mkdirSync(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
        writeFileSync(tmp, bytes);
        renameSync(tmp, path);
      } catch {
        // A read-only or full disk only costs the next process a cold boot.
      }
    }
    const shared = new SharedArrayBuffer(bytes.byteLength);
    new Uint8Array(shared).set(bytes);
    return shared;
  })();
  snapshot.catch(() => {
    snapshot = null;
  });
  return snapshot;
}

async function makeSnapshot(a: Assets): Promise<Uint8Array> {
  const { isolate, boot } = await prepare(a, 512, 1024, undefined);
  try {
    const r = (await boot.apply(
      undefined,
      [{ lockInfo: a.lockInfo, makeSnapshot: true, runner: a.sources.runner, limits: '{}' }, null, null],
      {
        arguments: { copy: true },
        result: { promise: true, copy: true },
      },
    )) as { snapshot: Uint8Array; output: string[] };
    return r.snapshot;
  } finally {
    isolate.dispose();
  }
}

/** An isolate with the shims installed and the Pyodide modules evaluated; `boot` not yet called. */
async function prepare(a: Assets, heapMb: number, wasmMb: number, onCatastrophicError?: (message: string) => void) {
  const isolate = new ivm.Isolate({ memoryLimit: heapMb, ...(onCatastrophicError ? { onCatastrophicError } : {}) });
  try {
    const context = await isolate.createContext();
    const shims: Ref = await (
      await isolate.compileScript(a.sources.shims, { filename: 'redlet://python/shims.js' })
    ).run(context, { reference: true });
    // The only host function the isolate gets, kept in the shims' closure: random bytes.
    const random = new ivm.Callback((n: number) => randomBytes(Math.max(0, Math.min(Number(n) || 0, 65536))).toString('base64'));
    await shims.apply(
      undefined,
      [
        new ivm.ExternalCopy({ 'python_stdlib.zip': a.stdlib.copy() }).copyInto({ release: true }),
        random,
        a.wasm.copyInto(),
        wasmMb * 1024 * 1024,
      ],
      {},
    );
    shims.release();
    const modules = new Map<string, ivm.Module>();
    for (const [name, src] of [
      ['pyodide.asm.mjs', a.sources.asm],
      ['pyodide.mjs', a.sources.pyodide],
      ['boot.mjs', a.sources.boot],
    ] as const) {
      const cachedData = a.cached.get(name);
      const m = await isolate.compileModule(src, {
        filename: `redlet://python/${name}`,
        ...(cachedData ? { cachedData } : { produceCachedData: true }),
      });
      const produced = (m as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
      if (!cachedData && produced) a.cached.set(name, produced);
      modules.set(name, m);
    }
    const boot = modules.get('boot.mjs')!;
    await boot.instantiate(context, (spec) => {
      const m = modules.get(spec);
      if (!m) throw new Error(`cannot import '${spec}'`);
      return m;
    });
    await boot.evaluate();
    const fn: Ref = await boot.namespace.get('boot', { reference: true });
    return { isolate, context, boot: fn };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

/**
 * A fresh interpreter for one function, restored from the snapshot.
 * Throws when the isolate cannot be set up (a system error).
 */
export async function createInterpreter(opts: InterpreterOptions): Promise<{ interp: Interpreter; timings: BootTimings }> {
  const t0 = performance.now();
  const a = await loadAssets();
  const snap = await getSnapshot();
  const t1 = performance.now();
  const { isolate, context, boot } = await prepare(a, PYODIDE_HEAP_MB, opts.memoryMb, opts.onCatastrophicError);
  const t2 = performance.now();
  try {
    const interruptBuffer = new SharedArrayBuffer(4);
    const api: Ref = await boot.apply(
      undefined,
      [
        new ivm.ExternalCopy({ lockInfo: a.lockInfo, makeSnapshot: false, runner: '', limits: JSON.stringify(opts.limits) }).copyInto({
          release: true,
        }),
        new ivm.ExternalCopy(snap).copyInto({ release: true }),
        new ivm.ExternalCopy(interruptBuffer).copyInto({ release: true }),
      ],
      { result: { promise: true, reference: true } },
    );
    const get = (k: string) => api.get(k, { reference: true }) as Promise<Ref>;
    const [writeFiles, load, setEnv, invoke, takeLogs] = await Promise.all(['writeFiles', 'load', 'setEnv', 'invoke', 'takeLogs'].map(get));
    api.release();
    return {
      interp: {
        isolate,
        context,
        interrupt: new Int32Array(interruptBuffer),
        refs: { writeFiles: writeFiles!, load: load!, setEnv: setEnv!, invoke: invoke!, takeLogs: takeLogs! },
      },
      timings: { isolateMs: t1 - t0, modulesMs: t2 - t1, restoreMs: performance.now() - t2 },
    };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}
