import { describe, expect, it } from 'vitest';
import { call, evaluate, fromFile, fromZip, rejection } from '../test/helpers/bundle-harness.js';

describe('bundleFunction: single files', () => {
  it('ESM', async () => {
    const b = await fromFile(
      'usermodule.js',
      'export function handler(input) { return { sum: input.a + input.b }; }\n',
      'usermodule.handler',
    );
    expect(b).toMatchObject({ entry: 'usermodule.js', exportName: 'handler', files: ['usermodule.js'], warnings: [] });
    expect(await call(b, { a: 1, b: 2 })).toEqual({ sum: 3 });
    expect(JSON.parse(b.map)).toMatchObject({ version: 3, sources: ['usermodule.js'], file: 'redlet://t/bundle.js' });
  });

  it('CommonJS: the exports are module.exports itself', async () => {
    const b = await fromFile(
      'usermodule.js',
      'function handler(input) { return input.n * 2; }\nmodule.exports = handler;\nmodule.exports.handler = handler;\n',
    );
    const exports = evaluate(b);
    expect(typeof exports).toBe('function');
    expect(await call(b, { n: 21 })).toBe(42);
  });

  it('TypeScript (.ts, .mts and .cts), types erased', async () => {
    const ts =
      'interface In { a: number }\ntype Out = { doubled: number };\nexport const handler = (input: In): Out => ({ doubled: input.a * 2 });\nexport enum Color { Red = 1 }\n';
    const b = await fromFile('handler.ts', ts);
    expect(await call(b, { a: 4 })).toEqual({ doubled: 8 });
    expect(evaluate(b).Color).toMatchObject({ Red: 1 });
    expect(await call(await fromFile('fn.mts', ts, 'fn.handler'), { a: 1 })).toEqual({ doubled: 2 });
    const cts = 'interface In { a: number }\nexports.handler = (input: In) => ({ tripled: input.a * 3 });\n';
    expect(await call(await fromFile('fn.cts', cts, 'fn.handler'), { a: 1 })).toEqual({ tripled: 3 });
  });

  it('async handlers', async () => {
    const b = await fromFile('index.js', 'export async function handler(input) { await null; return input.x; }');
    expect(await call(b, { x: 'ok' })).toBe('ok');
  });

  it('a file with no known extension is JavaScript', async () => {
    expect(await call(await fromFile('handler', 'exports.handler = () => 1;'))).toBe(1);
  });

  it('.js files are ESM or CommonJS by their syntax', async () => {
    const files = {
      'esm.js': 'export const kind = "esm";\nexport function handler() { return kind; }\n',
      'cjs.js': 'exports.kind = "cjs";\nexports.handler = function () { return exports.kind; };\n',
    };
    const esm = await fromZip(files, 'esm.handler');
    const cjs = await fromZip(files, 'cjs.handler');
    expect(await call(esm)).toBe('esm');
    expect(await call(cjs)).toBe('cjs');
    // esbuild marks a converted ES module; a CommonJS module.exports is passed through untouched.
    expect(evaluate(esm).__esModule).toBe(true);
    expect(evaluate(cjs).__esModule).toBeUndefined();
  });

  it('needs nothing from the host: no require of anything outside the bundle', async () => {
    const b = await fromZip({
      'index.js': 'const a = require("./a");\nconst pkg = require("pkg");\nexports.handler = () => a + pkg;\n',
      'a.js': 'module.exports = 1;',
      'node_modules/pkg/index.js': 'module.exports = 2;',
    });
    expect(b.code).not.toMatch(/\brequire\(/);
    expect(await call(b)).toBe(3);
  });
});

describe('bundleFunction: ZIPs', () => {
  it('nested folders, folder index, JSON, ESM importing CommonJS, TS importing by .js name', async () => {
    const b = await fromZip({
      'package.json': JSON.stringify({ main: 'src/main.js' }),
      'src/main.js': [
        "import { add } from './math';",
        "import helpers from './helpers';",
        "import config from '../config.json';",
        "import legacy, { twice } from './legacy.cjs';",
        "import { deep } from './a/b/c/deep.js';",
        "import { typed } from './typed.js';",
        'export function handler(input) {',
        '  return { sum: add(input.a, config.offset), label: helpers.label, legacy: legacy.name, twice: twice(3), deep, typed: typed(2) };',
        '}',
      ].join('\n'),
      'src/math.js': 'export const add = (a, b) => a + b;',
      'src/helpers/index.js': 'export default { label: "from folder index" };',
      'src/legacy.cjs': 'module.exports = { name: "legacy-cjs", twice: (n) => n * 2 };',
      'src/a/b/c/deep.js': 'export const deep = "deep";',
      'src/typed.ts': 'export const typed = (n: number): number => n * 10;',
      'config.json': '{ "offset": 100 }',
    });
    expect(b.entry).toBe('src/main.js');
    expect(await call(b, { a: 1 })).toEqual({
      sum: 101,
      label: 'from folder index',
      legacy: 'legacy-cjs',
      twice: 6,
      deep: 'deep',
      typed: 20,
    });
  });

  it('a folder with its own package.json main', async () => {
    const b = await fromZip({
      'index.js': "import { v } from './lib';\nexport const handler = () => v;",
      'lib/package.json': '{ "main": "./dist/entry.js" }',
      'lib/dist/entry.js': 'export const v = "lib main";',
      'lib/index.js': 'export const v = "lib index";',
    });
    expect(await call(b)).toBe('lib main');
  });

  it('node_modules: CommonJS package with main, nested lookup walking up, require of JSON', async () => {
    const b = await fromZip(
      {
        'lib/deep/handler.js':
          "const mean = require('tiny-mean');\nconst data = require('../../data.json');\nexports.handler = () => mean(data.values);",
        'data.json': '{ "values": [1, 2, 3, 6] }',
        'node_modules/tiny-mean/package.json': '{ "name": "tiny-mean", "main": "lib/mean" }',
        'node_modules/tiny-mean/lib/mean.js': "const sum = require('tiny-sum');\nmodule.exports = (xs) => sum(xs) / xs.length;",
        'node_modules/tiny-mean/node_modules/tiny-sum/index.js': 'module.exports = (xs) => xs.reduce((a, b) => a + b, 0);',
      },
      'lib/deep/handler.handler',
    );
    expect(await call(b)).toBe(3);
  });

  it('node_modules: exports field with conditions, subpaths and patterns; module field for imports', async () => {
    const b = await fromZip({
      'index.mjs': [
        "import flavour from 'dual';",
        "import sub from 'dual/sub';",
        "import { feature } from 'dual/feature/x';",
        "import fromCjs from './legacy.cjs';",
        "import modern from 'modern';",
        'export const handler = () => ({ flavour, sub, feature, fromCjs, modern });',
      ].join('\n'),
      'legacy.cjs': "module.exports = require('dual');",
      'node_modules/dual/package.json': JSON.stringify({
        name: 'dual',
        main: './wrong.js',
        exports: {
          '.': { node: './node.js', import: './esm.mjs', require: './cjs.cjs', default: './esm.mjs' },
          './sub': './sub.js',
          './feature/*': { default: './features/*.js' },
          './feature/private/*': null,
        },
      }),
      'node_modules/dual/esm.mjs': 'export default "esm";',
      'node_modules/dual/cjs.cjs': 'module.exports = "cjs";',
      'node_modules/dual/node.js': 'module.exports = "node";',
      'node_modules/dual/wrong.js': 'module.exports = "main field ignored";',
      'node_modules/dual/sub.js': 'export default "sub";',
      'node_modules/dual/features/x.js': 'export const feature = "x";',
      'node_modules/modern/package.json': '{ "main": "cjs.js", "module": "esm.js" }',
      'node_modules/modern/esm.js': 'export default "module field";',
      'node_modules/modern/cjs.js': 'module.exports = "main field";',
    });
    expect(await call(b)).toEqual({ flavour: 'esm', sub: 'sub', feature: 'x', fromCjs: 'cjs', modern: 'module field' });
  });

  it('node_modules: a subpath the package does not export', async () => {
    const err = await rejection(
      fromZip({
        'index.js': "import p from 'dual/feature/private/y';\nexport const handler = () => p;",
        'node_modules/dual/package.json': JSON.stringify({ exports: { './feature/*': './f/*.js', './feature/private/*': null } }),
        'node_modules/dual/f/private/y.js': 'export default 1;',
      }),
    );
    expect(err.code).toBe('LOAD_MODULE_NOT_FOUND');
    expect(err.message).toBe(
      "Cannot find module 'dual/feature/private/y': package 'dual' does not export './feature/private/y' (see its package.json \"exports\") (imported by index.js:1)",
    );
  });

  it('node_modules: scoped packages, with and without a subpath', async () => {
    const b = await fromZip({
      'index.js':
        "const { greet } = require('@acme/util');\nconst extra = require('@acme/util/extra');\nexports.handler = (i) => greet(i.name) + extra;",
      'node_modules/@acme/util/package.json':
        '{ "name": "@acme/util", "exports": { ".": { "require": "./index.cjs" }, "./extra": "./extra.js" } }',
      'node_modules/@acme/util/index.cjs': 'exports.greet = (n) => `hello ${n}`;',
      'node_modules/@acme/util/extra.js': 'module.exports = "!";',
    });
    expect(await call(b, { name: 'ada' })).toBe('hello ada!');
  });

  it('a package shipped under a built-in name (a polyfill) is used', async () => {
    const b = await fromZip({
      'index.js': "import { EventEmitter } from 'events';\nexport const handler = () => typeof EventEmitter;",
      'node_modules/events/package.json': '{ "main": "events.js" }',
      'node_modules/events/events.js': 'exports.EventEmitter = class EventEmitter {};',
    });
    expect(await call(b)).toBe('function');
  });
});
