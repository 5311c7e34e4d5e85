// @ts-check
// Guest side: puts WebAssembly memory under the function's memory limit. V8's isolate
// heap limit does not count Wasm memory, so this script, run in each isolate BEFORE
// the prelude and the user's code, replaces the WebAssembly entry points that make
// memories or modules:
// - every memory gets a maximum, and the maxima of all live memories together stay
//   within `maxPages` (64 KiB pages); a memory over budget is refused (RangeError);
// - a module's own memory is declared in its binary: the bytes are copied and the
//   memory section rewritten (maximum set, capped) BEFORE compiling, so `memory.grow`
//   from Wasm code stops at the cap; shared and 64-bit memories are refused;
// - every instance of a module charges its memory again (each instance has its own);
// - budget comes back when a memory is garbage-collected (FinalizationRegistry), so
//   a function that makes a new memory per run may be refused until a collection.
// Compilation is synchronous inside the returned promises (asynchronous Wasm
// compilation never settles inside an isolate the host awaits).
(/** @param {number} maxPages */
function wasmLimit(maxPages) {
  'use strict';
  const W = /** @type {any} */ (globalThis).WebAssembly;
  if (!W) return;
  const call = Function.prototype.call;
  const U8 = Uint8Array;
  const PromiseCtor = Promise;
  const RangeErr = RangeError;
  const TypeErr = TypeError;
  const CompileErr = W.CompileError;
  const OrigModule = W.Module;
  const OrigMemory = W.Memory;
  const OrigInstance = W.Instance;
  const defineProperty = Object.defineProperty;
  const isView = ArrayBuffer.isView;
  /** @type {(p: object, v: unknown) => boolean} */
  const isPrototypeOf = call.bind(Object.prototype.isPrototypeOf);
  /** @type {(b: ArrayBuffer, s: number, e: number) => ArrayBuffer} */
  const abSlice = call.bind(ArrayBuffer.prototype.slice);
  const viewBuffer = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(Object.getPrototypeOf(U8.prototype), 'buffer')).get);
  const viewOffset = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(Object.getPrototypeOf(U8.prototype), 'byteOffset')).get);
  const viewLength = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(Object.getPrototypeOf(U8.prototype), 'byteLength')).get);
  const dvBuffer = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer')).get);
  const dvOffset = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset')).get);
  const dvLength = call.bind(/** @type {any} */ (Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength')).get);
  const DVProto = DataView.prototype;
  const ABProto = ArrayBuffer.prototype;
  const SABProto = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer.prototype : null;
  const ModuleProto = OrigModule.prototype;
  const MemoryProto = OrigMemory.prototype;
  const InstanceProto = OrigInstance.prototype;
  const Weak = WeakMap;
  /** @type {WeakMap<object, number>} pages each module's own memory needs per instance */
  const modulePages = new Weak();
  const weakGet = call.bind(Weak.prototype.get);
  const weakSet = call.bind(Weak.prototype.set);
  let used = 0;
  const FR = /** @type {any} */ (globalThis).FinalizationRegistry;
  const registry = FR ? new FR((/** @type {number} */ pages) => (used -= pages)) : null;
  const register = registry ? call.bind(FR.prototype.register) : null;

  /** @param {object} owner @param {number} pages */
  function charge(owner, pages) {
    if (used + pages > maxPages) {
      throw new RangeErr(`WebAssembly memory of ${pages * 64} KiB would pass the function's memory limit (${maxPages * 64} KiB for all its memories together; ${used * 64} KiB in use)`);
    }
    used += pages;
    if (register) register(registry, owner, pages);
  }

  /** @param {unknown} src */
  function copyBytes(src) {
    if (src !== null && typeof src === 'object') {
      if (isPrototypeOf(ABProto, src) || (SABProto && isPrototypeOf(SABProto, src))) return new U8(abSlice(/** @type {ArrayBuffer} */ (src), 0, Infinity));
      if (isPrototypeOf(DVProto, src)) return new U8(abSlice(dvBuffer(src), dvOffset(src), dvOffset(src) + dvLength(src)));
      if (isView(src)) return new U8(abSlice(viewBuffer(src), viewOffset(src), viewOffset(src) + viewLength(src)));
    }
    throw new TypeErr('WebAssembly: the source must be an ArrayBuffer or a typed array');
  }

  /** @param {Uint8Array} b @param {{p: number}} at */
  function leb(b, at) {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at.p >= b.length || shift > 28) throw new CompileErr('malformed LEB128 number');
      const byte = b[at.p++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }

  /** @param {number} n @param {number[]} out */
  function putLeb(n, out) {
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      out[out.length] = byte;
    } while (n > 0);
  }

  /**
   * The module's bytes with every memory it defines given a maximum within budget;
   * returns the bytes to compile and the pages one instance charges.
   * @param {Uint8Array} b
   */
  function rewrite(b) {
    if (b.length < 8) return { bytes: b, pages: 0 };
    /** @type {number[]} */
    const out = [];
    for (let i = 0; i < 8; i++) out[out.length] = b[i];
    const at = { p: 8 };
    let pages = 0;
    while (at.p < b.length) {
      const id = b[at.p++];
      const size = leb(b, at);
      const start = at.p;
      const end = start + size;
      if (end > b.length) throw new CompileErr('section runs past the end of the module');
      if (id !== 5) {
        out[out.length] = id;
        putLeb(size, out);
        for (let i = start; i < end; i++) out[out.length] = b[i];
      } else {
        const body = /** @type {number[]} */ ([]);
        const p = { p: start };
        const count = leb(b, p);
        putLeb(count, body);
        for (let m = 0; m < count; m++) {
          const flags = b[p.p++];
          if (flags !== 0 && flags !== 1) throw new CompileErr('shared and 64-bit WebAssembly memories are not supported in redlet');
          const min = leb(b, p);
          const declared = flags === 1 ? leb(b, p) : Infinity;
          const max = Math.min(declared, maxPages);
          if (min > max) throw new RangeErr(`a WebAssembly memory of ${min * 64} KiB is over the function's memory limit (${maxPages * 64} KiB)`);
          body[body.length] = 1;
          putLeb(min, body);
          putLeb(max, body);
          pages += max;
        }
        if (p.p !== end) throw new CompileErr('malformed memory section');
        out[out.length] = 5;
        putLeb(body.length, out);
        for (let i = 0; i < body.length; i++) out[out.length] = body[i];
      }
      at.p = end;
    }
    return { bytes: new U8(out), pages };
  }

  /** @param {unknown} src */
  function compileSync(src) {
    const { bytes, pages } = rewrite(copyBytes(src));
    const mod = new OrigModule(bytes);
    weakSet(modulePages, mod, pages);
    return mod;
  }

  /** @param {object} mod @param {unknown} imports */
  function instantiateSync(mod, imports) {
    if (!isPrototypeOf(ModuleProto, mod)) throw new TypeErr('WebAssembly.Instance: the first argument must be a WebAssembly.Module');
    const pages = weakGet(modulePages, mod);
    if (pages === undefined) throw new TypeErr('WebAssembly.Instance: unknown module');
    const inst = new OrigInstance(mod, imports);
    if (pages > 0) charge(inst, pages);
    return inst;
  }

  /** @param {() => unknown} f */
  const later = (f) =>
    new PromiseCtor((resolve, reject) => {
      try {
        resolve(f());
      } catch (err) {
        reject(err);
      }
    });

  /** @param {any} desc */
  function Memory(desc) {
    if (!new.target) throw new TypeErr("WebAssembly.Memory must be called with 'new'");
    if (desc === null || typeof desc !== 'object') throw new TypeErr('WebAssembly.Memory: a descriptor object is needed');
    const initial = Number(desc.initial);
    const declared = desc.maximum === undefined ? Infinity : Number(desc.maximum);
    if (desc.shared || (desc.index !== undefined && desc.index !== 'i32')) throw new TypeErr('shared and 64-bit WebAssembly memories are not supported in redlet');
    const maximum = Math.min(declared, maxPages - used);
    if (!(initial >= 0) || initial > maximum) {
      throw new RangeErr(`a WebAssembly memory of ${initial * 64} KiB is over the function's memory limit (${maxPages * 64} KiB, ${used * 64} KiB in use)`);
    }
    const mem = new OrigMemory({ initial, maximum });
    charge(mem, maximum);
    return mem;
  }
  /** @param {unknown} bytes */
  function Module(bytes) {
    if (!new.target) throw new TypeErr("WebAssembly.Module must be called with 'new'");
    return compileSync(bytes);
  }
  /** @param {object} mod @param {unknown} imports */
  function Instance(mod, imports) {
    if (!new.target) throw new TypeErr("WebAssembly.Instance must be called with 'new'");
    return instantiateSync(mod, imports);
  }
  for (const [wrapper, orig, proto] of /** @type {Array<[any, any, object]>} */ ([
    [Memory, OrigMemory, MemoryProto],
    [Module, OrigModule, ModuleProto],
    [Instance, OrigInstance, InstanceProto],
  ])) {
    wrapper.prototype = proto;
    for (const k of ['exports', 'imports', 'customSections']) if (typeof orig[k] === 'function') wrapper[k] = orig[k];
    // The original constructors stay out of reach: `instance.constructor` and the like lead to the wrappers.
    defineProperty(proto, 'constructor', { value: wrapper, writable: true, configurable: true, enumerable: false });
  }
  const api = {
    Memory,
    Module,
    Instance,
    /** @param {unknown} bytes */
    compile: (bytes) => later(() => compileSync(bytes)),
    /** @param {any} src @param {unknown} imports */
    instantiate: (src, imports) =>
      later(() => {
        if (src !== null && typeof src === 'object' && isPrototypeOf(ModuleProto, src)) return instantiateSync(src, imports);
        const module = compileSync(src);
        return { module, instance: instantiateSync(module, imports) };
      }),
  };
  for (const [k, v] of Object.entries(api)) defineProperty(W, k, { value: v, writable: true, configurable: true, enumerable: false });
  for (const k of ['compileStreaming', 'instantiateStreaming']) delete W[k];
});
