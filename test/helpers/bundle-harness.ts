/**
 * Test harness for the module-loading pipeline: builds sources and ZIPs in memory and
 * evaluates bundles with node:vm in a fresh context that has nothing but the JS
 * built-ins (no require, module, process or timers), standing in for a bare isolate.
 * Only tests use node:vm; the runtime itself uses isolated-vm.
 */
import vm from 'node:vm';
import JSZip from 'jszip';
import { expect } from 'vitest';
import { bundleFunction, type Bundle } from '../../sandbox/bundle.js';
import { RedletError } from '../../sandbox/errors.js';

export type Exports = Record<string, unknown>;

/** Evaluates a bundle as a classic script, compiled under `filename`, and returns `__redlet_exports`. */
export function evaluate(bundle: Bundle, filename = 'redlet://t/bundle.js'): Exports {
  return vm.runInNewContext(`${bundle.code}\n;__redlet_exports`, {}, { filename }) as Exports;
}

/** Calls the bundle's handler; the result comes back through JSON, as it would from an isolate. */
export async function call(bundle: Bundle, ...args: unknown[]): Promise<unknown> {
  const fn = evaluate(bundle)[bundle.exportName];
  expect(typeof fn).toBe('function');
  const result: unknown = await (fn as (...a: unknown[]) => unknown)(...args);
  return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
}

export async function zipOf(files: Record<string, string>): Promise<Uint8Array> {
  const zip = new JSZip();
  for (const [name, text] of Object.entries(files)) zip.file(name, text);
  return zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' });
}

export async function fromZip(files: Record<string, string>, handler = 'handler', name = 't'): Promise<Bundle> {
  return bundleFunction({ kind: 'zip', filename: `${name}.zip`, data: await zipOf(files) }, handler, { name });
}

export function fromFile(filename: string, code: string, handler = 'handler'): Promise<Bundle> {
  return bundleFunction({ kind: 'file', filename, code }, handler, { name: 't' });
}

/** The RedletError a promise rejects with (fails the test if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<RedletError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RedletError);
  return err as RedletError;
}
