// The watcher against a real directory laid out as the kubelet lays out a ConfigMap
// volume (`..<timestamp>/` folders, a `..data` symlink, files as symlinks through it),
// updated the kubelet's way: new folder, `..data_tmp` symlink, atomic rename onto `..data`.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/helpers/wait.js';
import { watchMountedFile, type MountedFileWatch } from './mounted-file-watch.js';

let dir: string;
let generation = 0;
const watches: MountedFileWatch[] = [];

/** Writes `files` into a new `..<n>` folder and swaps `..data` onto it, as the kubelet does. */
function kubeletUpdate(files: Record<string, string>): void {
  const old = generation > 0 ? `..gen_${generation}` : null;
  generation++;
  const fresh = `..gen_${generation}`;
  mkdirSync(join(dir, fresh));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, fresh, name), text);
  symlinkSync(fresh, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
  if (old) rmSync(join(dir, old), { recursive: true });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'redlet-mount-'));
  generation = 0;
});
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('watchMountedFile', () => {
  it('sees each kubelet-style `..data` swap of a ConfigMap directory once, and not an unrelated write', async () => {
    kubeletUpdate({ 'usermodule.js': 'v1', 'other.txt': 'a' });
    const seen: string[] = [];
    watches.push(
      watchMountedFile(join(dir, 'usermodule.js'), () => void seen.push(readFileSync(join(dir, 'usermodule.js'), 'utf8')), {
        settleMs: 50,
        pollMs: 60_000,
      }),
    );
    // Give the initial read its turn before changing anything.
    await new Promise((r) => setTimeout(r, 100));

    kubeletUpdate({ 'usermodule.js': 'v2', 'other.txt': 'a' });
    await waitFor(() => seen.length === 1, 'the first swap to be seen', 5000);
    expect(seen).toEqual(['v2']);

    // Another key of the same ConfigMap changes: our file's content does not, no call.
    kubeletUpdate({ 'usermodule.js': 'v2', 'other.txt': 'b' });
    kubeletUpdate({ 'usermodule.js': 'v3', 'other.txt': 'b' });
    await waitFor(() => seen.length === 2, 'the third swap to be seen', 5000);
    expect(seen).toEqual(['v2', 'v3']);
  });

  it('falls back to polling when no event arrives (a filesystem without inotify)', async () => {
    writeFileSync(join(dir, 'f.js'), 'one');
    let calls = 0;
    // A settle time longer than the test: only the poll can notice.
    watches.push(watchMountedFile(join(dir, 'f.js'), () => void calls++, { settleMs: 600_000, pollMs: 50 }));
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(dir, 'f.js'), 'two');
    await waitFor(() => calls === 1, 'the poll to notice', 5000);
  });

  it('keeps the last content while the file is briefly missing, and reports other errors', async () => {
    writeFileSync(join(dir, 'f.js'), 'one');
    let calls = 0;
    watches.push(watchMountedFile(join(dir, 'f.js'), () => void calls++, { settleMs: 20, pollMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 100));
    rmSync(join(dir, 'f.js'));
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(dir, 'f.js'), 'one');
    writeFileSync(join(dir, 'g.js'), 'x');
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(0);
    writeFileSync(join(dir, 'f.js'), 'two');
    await waitFor(() => calls === 1, 'the change to be seen', 5000);
  });
});
