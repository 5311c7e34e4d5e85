// The glue inside a Python function's isolate: loads Pyodide (shell mode, shims from
// shims.js already installed), from a memory snapshot when there is one, and hands the
// host plain-string entry points into `_redlet` (runner.py). Module specifiers are
// resolved by the host to the two files of the `pyodide` package.
import { loadPyodide } from 'pyodide.mjs';
import createPyodideModule from 'pyodide.asm.mjs';

const INDEX = '/lib/pyodide/';
/** Standard-library modules the snapshot already holds, so user imports of them are cheap. */
const PREWARM = ['ast', 'json', 'datetime', 'traceback', 'importlib.util', 'logging', 'collections', 'statistics', 're', 'math', 'time', 'functools', 'itertools', 'typing', 'dataclasses'];

/**
 * @param {{lockInfo: object, makeSnapshot: boolean,
 *   runner: string, limits: string}} opts
 * @param {SharedArrayBuffer | null} snapshot
 * @param {SharedArrayBuffer | null} interrupt
 */
export async function boot(opts, snapshot, interrupt) {
  const output = [];
  const pyodide = await loadPyodide({
    indexURL: INDEX,
    packageBaseUrl: INDEX,
    lockFileContents: JSON.stringify({ info: opts.lockInfo, packages: {} }),
    createPyodideModule,
    stdout: (line) => output.push(line),
    stderr: (line) => output.push(line),
    checkAPIVersion: true,
    env: { HOME: '/home/pyodide', PYTHONINSPECT: '' },
    ...(opts.makeSnapshot ? { _makeSnapshot: true } : {}),
    ...(snapshot ? { _loadSnapshot: new Uint8Array(snapshot) } : {}),
  });
  for (const name of ['read', 'load', 'readbuffer', 'print', 'printErr']) delete globalThis[name];

  if (opts.makeSnapshot) {
    pyodide.runPython(`import sys, types\n_m = types.ModuleType('_redlet')\n_m.__file__ = '<redlet>'\nexec(compile(${JSON.stringify(opts.runner)}, '<redlet>', 'exec'), _m.__dict__)\nsys.modules['_redlet'] = _m\ndel _m\nimport ${PREWARM.join(', ')}`);
    const bytes = pyodide.makeMemorySnapshot();
    return { snapshot: bytes, output };
  }

  const redlet = pyodide.pyimport('_redlet');
  redlet.after_restore();
  redlet.configure(opts.limits);
  if (interrupt) pyodide.setInterruptBuffer(new Int32Array(interrupt));
  const FS = pyodide.FS;

  /** @param {Record<string, Uint8Array>} files */
  function writeFiles(files) {
    FS.mkdirTree('/function');
    for (const [path, bytes] of Object.entries(files)) {
      const full = `/function/${path}`;
      const dir = full.slice(0, full.lastIndexOf('/'));
      FS.mkdirTree(dir);
      FS.writeFile(full, bytes);
    }
  }
  const call = (name) => {
    const fn = redlet[name];
    return (...args) => fn(...args);
  };
  return { output, writeFiles, load: call('load'), setEnv: call('set_env'), invoke: call('invoke'), takeLogs: call('take_logs') };
}
