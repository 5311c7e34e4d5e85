// Runs first in a Python function's isolate (a plain script; its value is the function
// below). It gives Pyodide the few things Emscripten's "shell" mode expects from a
// JavaScript shell, and nothing else: no host callback is stored on the global object;
// the one the host passes (random bytes) stays inside this closure.
(function installShims(files, randomBase64, shared, maxWasmBytes) {
  'use strict';
  const g = globalThis;
  const WA = g.WebAssembly;
  const Mod = WA.Module;
  const Inst = WA.Instance;
  const fromCharCode = String.fromCharCode;

  class TextEncoder {
    get encoding() {
      return 'utf-8';
    }
    encode(input = '') {
      const s = String(input);
      const out = [];
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
          } else c = 0xfffd;
        } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(out);
    }
    encodeInto(input, dest) {
      const bytes = this.encode(input);
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: String(input).length, written: n };
    }
  }

  class TextDecoder {
    constructor(label = 'utf-8', options = {}) {
      const l = String(label).toLowerCase();
      this.kind = l === 'utf8' || l === 'utf-8' ? 'utf-8' : l === 'utf-16le' || l === 'utf-16' ? 'utf-16le' : l === 'latin1' || l === 'iso-8859-1' || l === 'ascii' ? 'latin1' : null;
      if (!this.kind) throw new RangeError(`The encoding label provided ('${label}') is invalid.`);
      this.fatal = !!options.fatal;
    }
    get encoding() {
      return this.kind === 'latin1' ? 'windows-1252' : this.kind;
    }
    decode(input) {
      if (input === undefined) return '';
      const b = input instanceof Uint8Array ? input : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
      let s = '';
      if (this.kind === 'latin1') {
        for (let i = 0; i < b.length; i += 8192) s += fromCharCode.apply(null, b.subarray(i, i + 8192));
        return s;
      }
      if (this.kind === 'utf-16le') {
        for (let i = 0; i + 1 < b.length; i += 2) s += fromCharCode(b[i] | (b[i + 1] << 8));
        return s;
      }
      const units = [];
      const bad = () => {
        if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
        units.push(0xfffd);
      };
      for (let i = 0; i < b.length; ) {
        const c = b[i];
        let n;
        let cp;
        if (c < 0x80) {
          units.push(c);
          i++;
          continue;
        } else if (c >= 0xc2 && c < 0xe0) (n = 1), (cp = c & 31);
        else if (c >= 0xe0 && c < 0xf0) (n = 2), (cp = c & 15);
        else if (c >= 0xf0 && c < 0xf5) (n = 3), (cp = c & 7);
        else {
          bad();
          i++;
          continue;
        }
        let j = 1;
        for (; j <= n && i + j < b.length && (b[i + j] & 0xc0) === 0x80; j++) cp = (cp << 6) | (b[i + j] & 63);
        if (j <= n || (n === 2 && cp < 0x800) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000)) {
          bad();
          i += Math.max(1, j);
          continue;
        }
        if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 1023));
        else units.push(cp);
        i += n + 1;
        if (units.length > 8192) {
          s += fromCharCode.apply(null, units);
          units.length = 0;
        }
      }
      return s + fromCharCode.apply(null, units);
    }
  }

  const define = (name, value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  define('TextEncoder', TextEncoder);
  define('TextDecoder', TextDecoder);
  const t0 = Date.now();
  define('performance', { now: () => Date.now() - t0, timeOrigin: t0 });

  // Emscripten's shell mode: present while Pyodide loads, removed by `boot` afterwards.
  const readbuffer = (path) => {
    const name = String(path).replace(/^.*\//, '');
    if (name === 'pyodide.asm.wasm') return new ArrayBuffer(0); // the shared module is used instead
    if (Object.prototype.hasOwnProperty.call(files, name)) return files[name];
    throw new Error(`no such file: ${path}`);
  };
  define('readbuffer', readbuffer);
  define('read', () => {
    throw new Error('read() is not available');
  });
  define('load', () => {
    throw new Error('load() is not available');
  });
  define('print', () => {});
  define('printErr', () => {});
  // Emscripten asks the shell for random bytes with `os.system("head -c N /dev/urandom | base64")`.
  define('os', {
    system(_sh, args) {
      const m = /head -c\s*(\d+)/.exec(String(args && args[1]));
      if (!m) throw new Error('os.system is not available');
      return randomBase64(Number(m[1]));
    },
  });
  // Timers: there is no event loop but the host's calls; a timer runs on the next microtask.
  let nextTimer = 1;
  const cancelled = new Set();
  define('setTimeout', (fn, _ms, ...args) => {
    const id = nextTimer++;
    Promise.resolve().then(() => {
      if (!cancelled.delete(id) && typeof fn === 'function') fn(...args);
    });
    return id;
  });
  define('clearTimeout', (id) => {
    cancelled.add(id);
  });

  // WebAssembly's asynchronous entry points never settle in an isolate the host awaits
  // (isolated-vm issue #308): make them synchronous. The interpreter's own module is the
  // one the host compiled once and shared; its heap growth is capped here, because the
  // isolate's memoryLimit does not count WebAssembly memory.
  const settle = (f) => {
    try {
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  WA.compile = (bytes) => settle(() => new Mod(bytes));
  WA.instantiate = (source, imports) =>
    settle(() => {
      if (source instanceof Mod) return new Inst(source, imports);
      const env = imports && imports.env;
      if (env && typeof env.emscripten_resize_heap === 'function') {
        const grow = env.emscripten_resize_heap;
        env.emscripten_resize_heap = (requested) => ((requested >>> 0) > maxWasmBytes ? false : grow(requested));
        const instance = new Inst(shared, imports);
        return { instance, module: shared };
      }
      const module = new Mod(source);
      return { instance: new Inst(module, imports), module };
    });
  WA.instantiateStreaming = undefined;
  WA.compileStreaming = undefined;
});
