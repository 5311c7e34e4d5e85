#!/usr/bin/env node
// Writes the two k8s/ ConfigMaps that carry example code, from the example sources:
//   k8s/usermodule.yaml  ConfigMap `usermodule`, key `usermodule.js`: examples/course-reference.js,
//                        the course's single-file function (its `pyfile`, in JavaScript);
//   k8s/zip-stats.yaml   ConfigMap `zip-stats`, binaryData `zip-stats.zip`: examples/zip-stats/ zipped.
// The YAML is committed (so `kubectl apply -k k8s/` needs no build step) and
// test/k8s.test.ts fails when it no longer matches what this script makes: after
// changing an example, run `node scripts/build-k8s-configmaps.mjs`.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { zipFolder } from './zip-folder.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const LABELS = { app: 'redlet', 'app.kubernetes.io/name': 'redlet', 'app.kubernetes.io/part-of': 'redlet' };

function header(what, from) {
  return [
    `# ${what}`,
    `# GENERATED from ${from} by scripts/build-k8s-configmaps.mjs: do not edit here.`,
    '# Edit the example and run `node scripts/build-k8s-configmaps.mjs` (test/k8s.test.ts checks they match).',
    '',
  ].join('\n');
}

function yamlText(object) {
  // lineWidth 0: the base64 stays on one line; literal blocks keep the code readable.
  return stringify(object, { lineWidth: 0, blockQuote: 'literal' });
}

/**
 * The generated files, relative to the repository root, without writing them.
 * @returns {Promise<Array<{ path: string, text: string }>>}
 * @example
 * const files = await renderCodeConfigMaps();
 * files[0].path; // 'k8s/usermodule.yaml'
 */
export async function renderCodeConfigMaps() {
  const code = await readFile(join(root, 'examples', 'course-reference.js'), 'utf8');
  const usermodule = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'usermodule', labels: LABELS },
    data: { 'usermodule.js': code },
  };
  const zip = await zipFolder(join(root, 'examples', 'zip-stats'));
  const zipStats = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'zip-stats', labels: LABELS },
    binaryData: { 'zip-stats.zip': zip.toString('base64') },
  };
  return [
    {
      path: 'k8s/usermodule.yaml',
      text:
        header(
          'The function code: mounted as a directory at /opt/usermodule/, so an edit reaches running pods and redlet reloads it (the course mounted `pyfile` at /opt/usermodule.py with subPath, which is never updated).',
          'examples/course-reference.js',
        ) + yamlText(usermodule),
    },
    {
      path: 'k8s/zip-stats.yaml',
      text:
        header(
          'A multi-module example function as a ZIP in binaryData, mounted at /opt/functions/zip-stats.zip; use it with FUNCTION_ZIP (reloaded when it changes).',
          'examples/zip-stats/',
        ) + yamlText(zipStats),
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const { path, text } of await renderCodeConfigMaps()) {
    await writeFile(join(root, path), text);
    console.log(`${path} (${text.length} bytes)`);
  }
}
