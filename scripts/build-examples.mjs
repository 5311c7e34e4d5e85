#!/usr/bin/env node
// Builds examples/build/<name>.zip from every folder under examples/ that has a
// package.json, ready to upload. The ZIPs are build output, never committed.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipFolder } from './zip-folder.mjs';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const out = join(examples, 'build');

async function hasPackageJson(dir) {
  return stat(join(dir, 'package.json')).then(
    (s) => s.isFile(),
    () => false,
  );
}

await mkdir(out, { recursive: true });
for (const entry of await readdir(examples, { withFileTypes: true })) {
  const dir = join(examples, entry.name);
  if (!entry.isDirectory() || entry.name === 'build' || !(await hasPackageJson(dir))) continue;
  const zip = await zipFolder(dir);
  const target = join(out, `${entry.name}.zip`);
  await writeFile(target, zip);
  console.log(`${target} (${zip.length} bytes)`);
}
