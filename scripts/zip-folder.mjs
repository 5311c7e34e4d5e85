// Zips a folder into a redlet upload, paths relative to the folder (no enclosing
// folder), with fixed dates so the same sources always give the same bytes. Used by
// build-examples.mjs and by tests.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import JSZip from 'jszip';

const JUNK = new Set(['.DS_Store', 'Thumbs.db']);
const FIXED_DATE = new Date(Date.UTC(2020, 0, 1));

/**
 * @param {string} dir folder to zip
 * @returns {Promise<Buffer>} the ZIP (DEFLATE)
 * @example
 * const zip = await zipFolder('examples/zip-stats');
 */
export async function zipFolder(dir) {
  const zip = new JSZip();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !JUNK.has(e.name))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
  for (const file of files) {
    const name = relative(dir, file).split(sep).join('/');
    zip.file(name, await readFile(file), { date: FIXED_DATE, createFolders: false });
  }
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
}
