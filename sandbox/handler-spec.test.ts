import { describe, expect, it } from 'vitest';
import { RedletError } from './errors.js';
import { parseHandlerSpec, resolveEntry } from './handler-spec.js';
import type { SourceFiles } from './types.js';

function filesOf(...paths: string[]): SourceFiles {
  return new Map(paths.map((p) => [p, new Uint8Array()]));
}

function withPackageJson(pkg: unknown, ...paths: string[]): SourceFiles {
  const files = filesOf(...paths);
  files.set('package.json', new TextEncoder().encode(JSON.stringify(pkg)));
  return files;
}

function thrown(fn: () => unknown): RedletError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RedletError);
    return err as RedletError;
  }
  throw new Error('expected a RedletError');
}

describe('parseHandlerSpec', () => {
  it.each([
    ['handler', null, 'handler'],
    ['  handler  ', null, 'handler'],
    ['usermodule.handler', 'usermodule', 'handler'],
    ['lib/stats.handler', 'lib/stats', 'handler'],
    ['lib/v1.2/stats.main', 'lib/v1.2/stats', 'main'],
    ['@scope/pkg.run', '@scope/pkg', 'run'],
    ['lib/stats.js:handler', 'lib/stats.js', 'handler'],
    ['./lib/stats.js:$run_2', 'lib/stats.js', '$run_2'],
    ['index.ts:default', 'index.ts', 'default'],
  ])('%s', (spec, module, exportName) => {
    expect(parseHandlerSpec(spec)).toEqual({ module, exportName });
  });

  it.each([
    ['', /it is empty/],
    ['   ', /it is empty/],
    ['mod.', /export name after the last separator is missing/],
    ['lib/x.js:', /export name after the last separator is missing/],
    ['.handler', /module name before the last separator is missing/],
    ['1handler', /'1handler' is not a JavaScript identifier/],
    ['mod.hand-ler', /'hand-ler' is not a JavaScript identifier/],
    ['my module.handler', /may only use/],
    ['lib\\x.handler', /may only use/],
    ['../secret.handler', /without '\.\.'/],
    ['/abs/x.handler', /relative path/],
    ['lib//x.handler', /empty segments/],
    ['index.js', /names a file but no export/],
  ])('rejects %j with HANDLER_INVALID', (spec, why) => {
    const err = thrown(() => parseHandlerSpec(spec));
    expect(err.code).toBe('HANDLER_INVALID');
    expect(err.kind).toBe('user');
    expect(err.message).toMatch(why);
    expect(err.message).toContain("Use 'handler', 'module.handler' or 'path/to/file.js:handler'");
  });
});

describe('resolveEntry', () => {
  it('handler: package.json main wins, with extension probing', () => {
    expect(resolveEntry(withPackageJson({ main: './src/app' }, 'index.js', 'src/app.js'), 'handler')).toEqual({
      entry: 'src/app.js',
      exportName: 'handler',
    });
    expect(resolveEntry(withPackageJson({ main: 'src' }, 'src/index.ts'), 'run').entry).toBe('src/index.ts');
  });

  it('handler: index.* before main.*, in extension order', () => {
    expect(resolveEntry(filesOf('main.js', 'index.mjs', 'lib/a.js'), 'handler').entry).toBe('index.mjs');
    expect(resolveEntry(filesOf('index.ts', 'index.cjs'), 'handler').entry).toBe('index.cjs');
    expect(resolveEntry(filesOf('main.ts', 'lib/a.js'), 'handler').entry).toBe('main.ts');
    expect(resolveEntry(withPackageJson({ name: 'no-main' }, 'index.js'), 'handler').entry).toBe('index.js');
  });

  it('handler: a single file is its own entry, whatever its name', () => {
    expect(resolveEntry(filesOf('usermodule.js'), 'handler').entry).toBe('usermodule.js');
    expect(resolveEntry(filesOf('handler'), 'handler').entry).toBe('handler');
  });

  it('handler: explains when there is no default entry', () => {
    const err = thrown(() => resolveEntry(filesOf('a.js', 'lib/b.js'), 'handler'));
    expect(err.code).toBe('HANDLER_MODULE_NOT_FOUND');
    expect(err.message).toContain('no package.json "main", index.js or main.js');
    expect(err.message).toContain('a.js, lib/b.js');
  });

  it('handler: a package.json main that is missing', () => {
    const err = thrown(() => resolveEntry(withPackageJson({ main: 'dist/app.js' }, 'index.js'), 'handler'));
    expect(err.code).toBe('HANDLER_MODULE_NOT_FOUND');
    expect(err.message).toContain(`"main" is 'dist/app.js'`);
  });

  it('module.handler: file with any code extension, or a folder index', () => {
    const files = filesOf('usermodule.js', 'lib/stats.mts', 'lib/helpers/index.ts', 'a.b/c.cjs');
    expect(resolveEntry(files, 'usermodule.handler')).toEqual({ entry: 'usermodule.js', exportName: 'handler' });
    expect(resolveEntry(files, 'lib/stats.compute').entry).toBe('lib/stats.mts');
    expect(resolveEntry(files, 'lib/helpers.run').entry).toBe('lib/helpers/index.ts');
    expect(resolveEntry(files, 'a.b/c.go').entry).toBe('a.b/c.cjs');
  });

  it('path:export: an explicit file', () => {
    const files = filesOf('index.js', 'lib/x.js');
    expect(resolveEntry(files, 'lib/x.js:run')).toEqual({ entry: 'lib/x.js', exportName: 'run' });
    expect(resolveEntry(files, { module: 'lib/x', exportName: 'run' }).entry).toBe('lib/x.js');
  });

  it('module not found: lists the files, own files before node_modules, at most 20', () => {
    const paths = ['index.js', ...Array.from({ length: 30 }, (_, i) => `node_modules/p/f${i}.js`), 'lib/a.js'];
    const err = thrown(() => resolveEntry(filesOf(...paths), 'lib/nope.handler'));
    expect(err.code).toBe('HANDLER_MODULE_NOT_FOUND');
    expect(err.message).toContain("names module 'lib/nope'");
    expect(err.message).toMatch(/Files: index\.js, lib\/a\.js, node_modules\/p\/f0\.js/);
    expect(err.message).toContain('and 12 more');
  });

  it('single file: module.handler must name the file stem', () => {
    const files = filesOf('usermodule.js');
    expect(resolveEntry(files, 'usermodule.handler').entry).toBe('usermodule.js');
    expect(resolveEntry(files, 'usermodule.js:handler').entry).toBe('usermodule.js');
    const err = thrown(() => resolveEntry(files, 'other.handler'));
    expect(err.code).toBe('HANDLER_MODULE_NOT_FOUND');
    expect(err.message).toBe(
      "Handler 'other.handler' names module 'other', but the function is the single file 'usermodule.js'. Use 'usermodule.handler' or just 'handler'.",
    );
  });

  it('an invalid spec fails before any lookup', () => {
    expect(thrown(() => resolveEntry(filesOf('index.js'), 'bad name')).code).toBe('HANDLER_INVALID');
  });
});
