import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { rejection } from '../test/helpers/bundle-harness.js';
import { readZip } from './zip.js';

type Entries = Record<string, string | Uint8Array>;

async function zipOf(entries: Entries, opts: { platform?: 'UNIX' | 'DOS'; unix?: Record<string, number> } = {}): Promise<Uint8Array> {
  const zip = new JSZip();
  for (const [name, content] of Object.entries(entries)) {
    zip.file(name, content, { createFolders: false, unixPermissions: opts.unix?.[name] ?? null });
  }
  return zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE', platform: opts.platform ?? 'DOS' });
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** Offsets of every local (PK\3\4) and central (PK\1\2) header, for patching archives by hand. */
function headers(zip: Uint8Array): Array<{ at: number; central: boolean }> {
  const found: Array<{ at: number; central: boolean }> = [];
  for (let i = 0; i + 4 <= zip.length; i++) {
    if (zip[i] !== 0x50 || zip[i + 1] !== 0x4b) continue;
    if (zip[i + 2] === 3 && zip[i + 3] === 4) found.push({ at: i, central: false });
    if (zip[i + 2] === 1 && zip[i + 3] === 2) found.push({ at: i, central: true });
  }
  return found;
}

/** Rewrites the uncompressed size both headers declare. */
function patchDeclaredSize(zip: Uint8Array, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (const h of headers(out)) view.setUint32(h.at + (h.central ? 24 : 22), size, true);
  return out;
}

/** Replaces one byte of every entry name (at `index`) and optionally sets the UTF-8 flag. */
function patchNameByte(zip: Uint8Array, index: number, byte: number, utf8Flag: boolean): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  for (const h of headers(out)) {
    const nameAt = h.at + (h.central ? 46 : 30);
    out[nameAt + index] = byte;
    const flagsAt = h.at + (h.central ? 8 : 6);
    if (utf8Flag) view.setUint16(flagsAt, view.getUint16(flagsAt, true) | 0x0800, true);
  }
  return out;
}

describe('readZip', () => {
  it('rejects two entries with the same name (jszip would keep the last one silently)', async () => {
    const zip = await zipOf({ 'index.js': 'export const handler = () => 1', 'indey.js': 'export const handler = () => 2' });
    const twin = Buffer.from(zip);
    // Rename the second entry to the first one's name, in its local and central headers.
    for (let at = twin.indexOf('indey.js'); at >= 0; at = twin.indexOf('indey.js', at + 1)) twin.write('index.js', at, 'latin1');
    await expect(readZip(new Uint8Array(twin))).rejects.toMatchObject({
      code: 'ZIP_DUPLICATE_ENTRY',
      message: expect.stringContaining("'index.js'"),
    });
  });

  it('returns posix paths with content, skipping folders and macOS junk', async () => {
    const zip = new JSZip();
    zip.file('index.js', 'export const a = 1;');
    zip.file('lib/deep/b.js', 'module.exports = 2;');
    zip.folder('empty');
    zip.file('__MACOSX/._index.js', 'junk');
    zip.file('lib/.DS_Store', 'junk');
    const files = await readZip(await zip.generateAsync({ type: 'uint8array' }));
    expect([...files.keys()].sort()).toEqual(['index.js', 'lib/deep/b.js']);
    expect(text(files.get('lib/deep/b.js'))).toBe('module.exports = 2;');
  });

  it('strips one folder that holds everything (a zipped folder)', async () => {
    const files = await readZip(await zipOf({ 'myfn/index.js': 'x', 'myfn/lib/a.js': 'y', '__MACOSX/myfn/._index.js': 'junk' }));
    expect([...files.keys()].sort()).toEqual(['index.js', 'lib/a.js']);
  });

  it('keeps paths when files sit in different top folders or at the root', async () => {
    const files = await readZip(await zipOf({ 'a/index.js': 'x', 'b/x.js': 'y' }));
    expect([...files.keys()].sort()).toEqual(['a/index.js', 'b/x.js']);
    const rooted = await readZip(await zipOf({ 'index.js': 'x', 'lib/a.js': 'y' }));
    expect([...rooted.keys()].sort()).toEqual(['index.js', 'lib/a.js']);
  });

  it('turns Windows separators into slashes and accepts UTF-8 names', async () => {
    const files = await readZip(await zipOf({ 'lib\\win.js': 'x', 'café.js': 'y' }));
    expect([...files.keys()].sort()).toEqual(['café.js', 'lib/win.js']);
  });

  it('ZIP_CORRUPT: bytes that are not a ZIP, and a truncated ZIP', async () => {
    const garbage = await rejection(readZip(new TextEncoder().encode('definitely not a zip file')));
    expect(garbage.code).toBe('ZIP_CORRUPT');
    expect(garbage.kind).toBe('user');
    expect(garbage.message).toMatch(/not a readable ZIP/);
    const whole = await zipOf({ 'index.js': 'export const a = 1;'.repeat(50) });
    expect((await rejection(readZip(whole.subarray(0, whole.length - 30)))).code).toBe('ZIP_CORRUPT');
  });

  it('ZIP_CORRUPT: an entry whose inflated size differs from what it declares (within limits)', async () => {
    const zip = patchDeclaredSize(await zipOf({ 'index.js': 'a'.repeat(5000) }), 10);
    const err = await rejection(readZip(zip));
    expect(err.code).toBe('ZIP_CORRUPT');
    expect(err.message).toContain("'index.js'");
  });

  it('ZIP_EMPTY: no entries, or only folders and junk', async () => {
    expect((await rejection(readZip(await new JSZip().generateAsync({ type: 'uint8array' })))).code).toBe('ZIP_EMPTY');
    const zip = new JSZip();
    zip.folder('src');
    zip.file('__MACOSX/._x', 'junk');
    zip.file('.DS_Store', 'junk');
    expect((await rejection(readZip(await zip.generateAsync({ type: 'uint8array' })))).code).toBe('ZIP_EMPTY');
  });

  it('ZIP_TOO_MANY_ENTRIES: more entries than the limit', async () => {
    const entries: Entries = {};
    for (let i = 0; i < 1001; i++) entries[`f${i}.js`] = '';
    const err = await rejection(readZip(await zipOf(entries)));
    expect(err.code).toBe('ZIP_TOO_MANY_ENTRIES');
    expect(err.message).toContain('1001 entries; at most 1000');
    expect((await rejection(readZip(await zipOf({ 'a.js': '', 'b.js': '' }), { maxEntries: 1 }))).code).toBe('ZIP_TOO_MANY_ENTRIES');
  });

  it('ZIP_TOO_LARGE: a ZIP bomb (60 MB of zeros deflates to ~60 KB)', async () => {
    const bomb = await zipOf({ 'bomb.js': new Uint8Array(60 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const err = await rejection(readZip(bomb));
    expect(err.code).toBe('ZIP_TOO_LARGE');
    expect(err.message).toContain("'bomb.js'");
    expect(err.message).toContain('10 MB');
  });

  it('ZIP_TOO_LARGE: a header that lies about the size is caught while inflating', async () => {
    const liar = patchDeclaredSize(await zipOf({ 'liar.js': new Uint8Array(11 * 1024 * 1024) }), 100);
    const err = await rejection(readZip(liar));
    expect(err.code).toBe('ZIP_TOO_LARGE');
    expect(err.message).toContain("'liar.js'");
    // Inflating stopped just past the 10 MB limit, not at the end of the 11 MB entry.
    const { bytes } = err.details as { path: string; bytes: number };
    expect(err.details).toMatchObject({ path: 'liar.js' });
    expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(bytes).toBeLessThan(11 * 1024 * 1024);
    const small = patchDeclaredSize(await zipOf({ 'liar.js': 'x'.repeat(5000) }), 10);
    expect((await rejection(readZip(small, { maxFileBytes: 1000 }))).code).toBe('ZIP_TOO_LARGE');
  });

  it('ZIP_TOO_LARGE: files each under the per-file limit but over the total', async () => {
    const zip = await zipOf({ 'a.js': 'a'.repeat(600), 'b.js': 'b'.repeat(600), 'c.js': 'c'.repeat(600) });
    const err = await rejection(readZip(zip, { maxTotalBytes: 1000 }));
    expect(err.code).toBe('ZIP_TOO_LARGE');
    expect(err.message).toMatch(/more than 1000 bytes \(limit reached while reading '[abc]\.js'\)/);
  });

  it.each([
    ['../x.js', /'\.\.' segment/],
    ['lib/../../x.js', /'\.\.' segment/],
    ['..\\x.js', /'\.\.' segment/],
    ['/x.js', /absolute path/],
    ['C:\\x.js', /absolute path/],
    ['\\\\server\\x.js', /absolute path/],
  ])('ZIP_UNSAFE_PATH: %s', async (name, why) => {
    const err = await rejection(readZip(await zipOf({ 'index.js': 'ok', [name]: 'evil' })));
    expect(err.code).toBe('ZIP_UNSAFE_PATH');
    expect(err.message).toContain(`'${name}'`);
    expect(err.message).toMatch(why);
  });

  it('ZIP_SYMLINK: a unix symlink entry', async () => {
    const zip = await zipOf(
      { 'index.js': 'ok', 'link.js': '/etc/passwd' },
      { platform: 'UNIX', unix: { 'index.js': 0o100644, 'link.js': 0o120777 } },
    );
    const err = await rejection(readZip(zip));
    expect(err.code).toBe('ZIP_SYMLINK');
    expect(err.message).toContain("'link.js'");
  });

  it('accepts ordinary unix permissions', async () => {
    const zip = await zipOf({ 'index.js': 'ok' }, { platform: 'UNIX', unix: { 'index.js': 0o100755 } });
    expect([...(await readZip(zip)).keys()]).toEqual(['index.js']);
  });

  it.each([
    ['without the UTF-8 flag', false],
    ['with the UTF-8 flag set', true],
  ])('ZIP_BAD_NAME: a name that is not valid UTF-8 (%s)', async (_label, flag) => {
    // 'caf_.js' with '_' replaced by 0xE9: Latin-1 'é', a lone continuation-less byte in UTF-8.
    const zip = patchNameByte(await zipOf({ 'caf_.js': 'x' }), 3, 0xe9, flag);
    const err = await rejection(readZip(zip));
    expect(err.code).toBe('ZIP_BAD_NAME');
    expect(err.message).toContain('caf\uFFFD.js');
    expect(err.message).toMatch(/not valid UTF-8/);
  });
});
