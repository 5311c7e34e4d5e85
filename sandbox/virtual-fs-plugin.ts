/**
 * The esbuild plugin that serves a function's in-memory files: every import goes
 * through ModuleResolver and every load reads the file map, so a build never
 * reads the real disk. Imports that cannot work in an isolate (Node built-ins,
 * missing modules, file types with no loader) fail here, at the import's location.
 */
import type { Plugin, PartialMessage } from 'esbuild';
import { RedletError, type ErrorCode } from './errors.js';
import { loaderFor, ModuleResolver, RESOLVE_EXTENSIONS, type ImportKind } from './module-resolver.js';
import type { SourceFiles } from './types.js';

/** esbuild namespace of the virtual files; it prefixes paths in esbuild's messages (`redlet:lib/a.js`). */
export const VIRTUAL_NAMESPACE = 'redlet';

/** Import failures the plugin left to esbuild, by `failureKey(importer, specifier)`. */
export type ResolveFailures = Map<string, { code: ErrorCode; text: string; importer: string }>;

/**
 * The key of a failed import in ResolveFailures.
 *
 * @example
 * failures.get(failureKey('lib/a.js', 'fs')); // { code: 'LOAD_BUILTIN', text: "Node built-in module 'fs' ...", importer: 'lib/a.js' }
 */
export function failureKey(importer: string, specifier: string): string {
  return `${importer}\0${specifier}`;
}

/**
 * Serves `files` to esbuild. Failed imports become errors carrying `detail.code`
 * (`LOAD_BUILTIN`, `LOAD_MODULE_NOT_FOUND`, ...), except `require()`/`import()`:
 * those are left unresolved and recorded in `failures`, so that esbuild applies its
 * own rule: inside try/catch (`try { require('fs') } catch {}`, an optional
 * dependency) the call stays and throws at run time, as in Node; anywhere else it
 * is an error, which the error mapper explains from `failures`.
 *
 * @example
 * await esbuild.build({ entryPoints: ['index.js'], bundle: true, write: false, plugins: [virtualFsPlugin(files)] });
 */
export function virtualFsPlugin(
  files: SourceFiles,
  resolver: ModuleResolver = new ModuleResolver(files),
  failures: ResolveFailures = new Map(),
): Plugin {
  return {
    name: 'redlet-virtual-fs',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return { path: args.path, namespace: VIRTUAL_NAMESPACE };
        const kind: ImportKind = args.kind === 'require-call' || args.kind === 'require-resolve' ? 'require' : 'import';
        const fail = (code: ErrorCode, text: string) => {
          if (args.kind === 'import-statement') return failure(code, text);
          // No path and no resolveDir: esbuild reports it (or keeps a guarded call) without searching the disk.
          failures.set(failureKey(args.importer, args.path), { code, text, importer: args.importer });
          return undefined;
        };
        try {
          const found = resolver.resolve(args.path, args.importer, kind);
          if (found.kind === 'builtin') {
            return fail('LOAD_BUILTIN', `Node built-in module '${found.name}' is not available in redlet functions`);
          }
          if (found.kind === 'missing') {
            return fail(
              'LOAD_MODULE_NOT_FOUND',
              `Cannot find module '${args.path}'${found.reason === undefined ? '' : `: ${found.reason}`}`,
            );
          }
          if (loaderFor(found.path) === undefined) {
            return failure(
              'LOAD_UNSUPPORTED_FILE',
              `Cannot import '${found.path}': only ${RESOLVE_EXTENSIONS.join(', ')} files can be imported`,
            );
          }
          return { path: found.path, namespace: VIRTUAL_NAMESPACE };
        } catch (err) {
          if (err instanceof RedletError) return failure(err.code, err.message);
          throw err;
        }
      });
      // Only the entry can lack a known extension (a single file uploaded as `handler`); it is JavaScript.
      build.onLoad({ filter: /.*/, namespace: VIRTUAL_NAMESPACE }, (args) => {
        const contents = files.get(args.path);
        if (contents === undefined) return failure('LOAD_MODULE_NOT_FOUND', `Cannot find module '${args.path}'`);
        return { contents, loader: loaderFor(args.path) ?? 'js' };
      });
    },
  };
}

function failure(code: ErrorCode, text: string): { errors: PartialMessage[] } {
  return { errors: [{ text, detail: { code } }] };
}
