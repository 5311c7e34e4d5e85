/**
 * Reads an uploaded ZIP into the in-memory file map the bundler works on. A ZIP is
 * untrusted input: names are checked (traversal, absolute paths, symlinks, bytes
 * that are not UTF-8) and sizes are enforced while inflating, because the sizes a
 * ZIP declares in its headers can lie.
 */
import JSZip from 'jszip';
import { RedletError } from './errors.js';
import { DEFAULT_ZIP_LIMITS, sizeText, type ZipLimits } from './limits.js';
import type { SourceFiles } from './types.js';

/** jszip keeps these out of its typings; `internalStream` is the only way to inflate in chunks. */
interface StreamableZipObject extends JSZip.JSZipObject {
  internalStream(type: 'uint8array'): JSZip.JSZipStreamHelper<Uint8Array>;
  _data?: { uncompressedSize?: unknown };
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8');

/**
 * Checks and inflates a ZIP upload. Paths come back posix, without a leading slash,
 * with a single enclosing folder (a zipped `myfn/`) stripped.
 *
 * @example
 * const files = await readZip(upload, { maxFileBytes: 1 << 20 });
 * files.get('index.js'); // Uint8Array
 */
export async function readZip(data: Uint8Array, limits: Partial<ZipLimits> = {}): Promise<SourceFiles> {
  const max: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(data, { decodeFileName, checkCRC32: false, createFolders: false });
  } catch (err) {
    throw new RedletError(
      'ZIP_CORRUPT',
      `The upload is not a readable ZIP file (${messageOf(err)}). Create it again with a standard zip tool.`,
      { cause: err },
    );
  }

  // jszip keys entries by name, so of two entries with one name it keeps the last
  // silently: look at the archive's own directory.
  const twice = duplicateEntry(data);
  if (twice !== null)
    throw new RedletError(
      'ZIP_DUPLICATE_ENTRY',
      `The ZIP holds two entries named '${twice}'; which one would be used is not clear. Keep only one.`,
    );

  const entries = Object.values(zip.files) as StreamableZipObject[];
  if (entries.length > max.maxEntries) {
    throw new RedletError(
      'ZIP_TOO_MANY_ENTRIES',
      `The ZIP has ${entries.length} entries; at most ${max.maxEntries} are allowed. Leave out files the function does not need (tests, docs, dev dependencies).`,
    );
  }

  const kept: Array<{ path: string; entry: StreamableZipObject }> = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    // jszip keys entries by a "resolved" name that hides `../`; the original is what the archive says.
    const raw = entry.unsafeOriginalName ?? entry.name;
    if (entry.dir) continue;
    const path = checkedPath(raw);
    if (isJunk(path)) continue;
    if (isSymlink(entry.unixPermissions)) {
      throw new RedletError('ZIP_SYMLINK', `ZIP entry '${raw}' is a symbolic link; links are not allowed. Put the file itself in the ZIP.`);
    }
    if (seen.has(path)) {
      throw new RedletError('ZIP_BAD_NAME', `Two ZIP entries resolve to the same path '${path}' (one uses backslashes?). Keep only one.`);
    }
    seen.add(path);
    kept.push({ path, entry });
  }
  if (kept.length === 0) {
    throw new RedletError('ZIP_EMPTY', "The ZIP holds no files (only folders or system metadata). Zip the function's source files.");
  }

  // All entries inflate at once (jszip yields to the event loop between chunks, so
  // one by one would add up for many small files); the byte budget is shared.
  const budget: Budget = { used: 0, failed: false };
  let contents: Uint8Array[];
  try {
    contents = await Promise.all(kept.map(({ path, entry }) => inflate(entry, path, max, budget)));
  } finally {
    budget.failed = true;
  }
  return stripCommonFolder(new Map(kept.map(({ path }, i) => [path, contents[i] as Uint8Array])));
}

/**
 * Invalid UTF-8 becomes U+FFFD here and is rejected later: jszip decodes names that
 * carry the UTF-8 flag itself (lossily), so U+FFFD is the one signal both paths share.
 * Comments go through this function too, which is why it must not throw.
 */
function decodeFileName(bytes: string[] | Uint8Array | Buffer): string {
  const buf = Array.isArray(bytes) ? Uint8Array.from(bytes, (c) => c.charCodeAt(0)) : bytes;
  try {
    return utf8.decode(buf);
  } catch {
    return utf8Lossy.decode(buf);
  }
}

/** Normalizes an entry name to a relative posix path, or throws if it is unsafe or malformed. */
function checkedPath(raw: string): string {
  if (raw.includes('\uFFFD')) {
    throw new RedletError(
      'ZIP_BAD_NAME',
      `ZIP entry name '${raw}' is not valid UTF-8 (shown with \uFFFD for the bad bytes). Rename the file using UTF-8, or re-create the ZIP with a tool that stores UTF-8 names.`,
    );
  }
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f]/.test(raw)) {
    throw new RedletError('ZIP_BAD_NAME', `ZIP entry name ${JSON.stringify(raw)} contains control characters. Rename the file.`);
  }
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new RedletError(
      'ZIP_UNSAFE_PATH',
      `ZIP entry '${raw}' has an absolute path. Zip the files with paths relative to the function folder.`,
    );
  }
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new RedletError(
      'ZIP_UNSAFE_PATH',
      `ZIP entry '${raw}' contains a '..' segment, which could point outside the function folder. Zip the files with plain relative paths.`,
    );
  }
  return segments.join('/');
}

function isJunk(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return path === '__MACOSX' || path.startsWith('__MACOSX/') || base === '.DS_Store' || base === 'Thumbs.db';
}

function isSymlink(mode: number | string | null): boolean {
  const bits = typeof mode === 'string' ? Number.parseInt(mode, 8) : mode;
  return typeof bits === 'number' && (bits & S_IFMT) === S_IFLNK;
}

interface Budget {
  /** Inflated bytes so far, all entries together. */
  used: number;
  /** Set once any entry failed (or all are done): the others stop inflating. */
  failed: boolean;
}

/** Inflates one entry chunk by chunk and stops as soon as a limit is passed. */
function inflate(entry: StreamableZipObject, path: string, max: ZipLimits, budget: Budget): Promise<Uint8Array> {
  const declared = entry._data?.uncompressedSize;
  if (typeof declared === 'number' && declared > max.maxFileBytes) {
    return Promise.reject(fileTooLarge(path, declared, max));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    const stop = (err: RedletError): void => {
      settled = true;
      budget.failed = true;
      stream.pause();
      reject(err);
    };
    const stream = entry.internalStream('uint8array');
    stream.on('data', (chunk) => {
      if (settled) return;
      if (budget.failed) {
        stop(new RedletError('ZIP_CORRUPT', 'stopped: another entry failed'));
        return;
      }
      size += chunk.length;
      budget.used += chunk.length;
      if (size > max.maxFileBytes) {
        stop(fileTooLarge(path, size, max));
      } else if (budget.used > max.maxTotalBytes) {
        stop(
          new RedletError(
            'ZIP_TOO_LARGE',
            `The ZIP inflates to more than ${sizeText(max.maxTotalBytes)} (limit reached while reading '${path}'). Leave out files the function does not need.`,
          ),
        );
      } else {
        chunks.push(chunk);
      }
    });
    stream.on('error', (err) => {
      if (settled) return;
      stop(
        new RedletError(
          'ZIP_CORRUPT',
          `ZIP entry '${path}' cannot be read (${messageOf(err)}). Create the ZIP again with a standard zip tool.`,
          { cause: err },
        ),
      );
    });
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(concat(chunks, size));
    });
    stream.resume();
  });
}

function fileTooLarge(path: string, size: number, max: ZipLimits): RedletError {
  return new RedletError(
    'ZIP_TOO_LARGE',
    `ZIP entry '${path}' is larger than ${sizeText(max.maxFileBytes)} once inflated, the limit per file. Leave it out or make it smaller.`,
    { details: { path, bytes: size } },
  );
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A ZIP of a folder (`myfn/index.js`, `myfn/lib/x.js`) is read as if zipped from inside it. */
function stripCommonFolder(files: SourceFiles): SourceFiles {
  let top: string | undefined;
  for (const path of files.keys()) {
    const slash = path.indexOf('/');
    if (slash < 0) return files;
    const first = path.slice(0, slash);
    if (top === undefined) top = first;
    else if (top !== first) return files;
  }
  if (top === undefined) return files;
  const cut = top.length + 1;
  return new Map([...files].map(([path, bytes]) => [path.slice(cut), bytes]));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The first name that two central-directory entries share, or null. Read from the
 * End Of Central Directory record; a ZIP64 archive (more than 65535 entries, already
 * over the entry limit) is left to the other checks.
 */
function duplicateEntry(data: Uint8Array): string | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let eocd = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  if (count === 0xffff || at === 0xffffffff) return null;
  const names = new Set<string>();
  for (let n = 0; n < count; n++) {
    if (at + 46 > data.length || view.getUint32(at, true) !== 0x02014b50) return null;
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    const name = utf8Lossy.decode(data.subarray(at + 46, at + 46 + nameLength));
    if (names.has(name)) return name;
    names.add(name);
    at += 46 + nameLength + extra + comment;
  }
  return null;
}
