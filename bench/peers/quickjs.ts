/**
 * QuickJS compiled to WebAssembly (`quickjs-emscripten`), the other common way to
 * sandbox JavaScript inside Node: one runtime (own memory limit) and one context per
 * function, the handler evaluated in it, and per call the input text passed in as a
 * string, parsed, handled and serialized inside, the output text read back out.
 *
 * @example
 * const qjs = await QuickJsPeer.create();
 * const fn = qjs.load('function handler(input) { return input; }', 64);
 * fn.call('{"a":1}'); // '{"a":1}'
 * fn.dispose();
 */
import { getQuickJS, newQuickJSWASMModule, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten';

export interface QuickJsFunction {
  call(input: string): string;
  /** What QuickJS itself has allocated for this runtime and context (its `memory_used_size`). */
  memoryBytes(): number;
  dispose(): void;
}

export class QuickJsPeer {
  private constructor(private readonly module: QuickJSWASMModule) {}

  /** The shared module (`fresh`: a WebAssembly instance of its own, so its heap holds only what we load). */
  static async create(fresh = false): Promise<QuickJsPeer> {
    return new QuickJsPeer(fresh ? await newQuickJSWASMModule() : await getQuickJS());
  }

  /** Size of the module's WebAssembly memory: every runtime and context lives in it. */
  wasmBytes(): number {
    return this.module.getWasmMemory().buffer.byteLength;
  }

  /** A fresh runtime + context holding `code` (a script defining `handler`). */
  load(code: string, memoryMb: number): QuickJsFunction {
    const runtime = this.module.newRuntime();
    runtime.setMemoryLimit(memoryMb * 1024 * 1024);
    const vm: QuickJSContext = runtime.newContext();
    const entry: QuickJSHandle = vm.unwrapResult(vm.evalCode(`${code}\n;(s) => JSON.stringify(handler(JSON.parse(s)))`));
    return {
      call(input: string): string {
        const arg = vm.newString(input);
        const result = vm.callFunction(entry, vm.undefined, arg);
        arg.dispose();
        const value = vm.unwrapResult(result);
        const out = vm.getString(value);
        value.dispose();
        return out;
      },
      memoryBytes(): number {
        const usage = runtime.computeMemoryUsage();
        const v = vm.dump(usage) as { memory_used_size?: number };
        usage.dispose();
        return v.memory_used_size ?? Number.NaN;
      },
      dispose(): void {
        entry.dispose();
        vm.dispose();
        runtime.dispose();
      },
    };
  }
}

/** The echo handler as a plain script (QuickJS evaluates scripts here, not modules). */
export const QUICKJS_ECHO = 'function handler(input) { return input; }';
