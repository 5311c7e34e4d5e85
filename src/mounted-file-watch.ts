/**
 * Notices when a mounted file's content changes, the way Kubernetes updates a
 * ConfigMap mounted as a directory: the kubelet writes the new files into a fresh
 * timestamped folder, then atomically renames a `..data` symlink onto it; the visible
 * file is a symlink through `..data`. The file's own inode never changes, so this
 * watches its DIRECTORY (any entry renamed or written there) and compares the content
 * read through the symlinks. A slow poll covers filesystems that send no events.
 * (A ConfigMap mounted with `subPath` is never updated in a running pod: nothing to see.)
 *
 * @example
 * const w = watchMountedFile('/opt/usermodule/usermodule.js', () => reload());
 * w.close();
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface MountedFileWatch {
  close(): void;
}

export interface WatchOptions {
  /** Events arrive in bursts (a swap is several renames): act once they settle. */
  settleMs?: number;
  /** Fallback poll when the filesystem sends no events. */
  pollMs?: number;
  /** A watcher or read failure other than a missing file. */
  onError?: (err: Error) => void;
}

async function digest(path: string): Promise<string | null> {
  try {
    return createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  } catch (err) {
    // Missing for a moment (a file replaced by delete + create): keep the last content.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Calls `onChange` (never twice at once) each time the content at `path` differs from the last seen. */
export function watchMountedFile(path: string, onChange: () => Promise<void> | void, opts: WatchOptions = {}): MountedFileWatch {
  const settleMs = opts.settleMs ?? 200;
  const onError = opts.onError ?? (() => {});
  let last: Promise<string | null> = digest(path).catch(() => null);
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<void> = Promise.resolve();

  const check = () => {
    checking = checking.then(async () => {
      if (closed) return;
      try {
        const now = await digest(path);
        const before = await last;
        if (now === null || now === before) return;
        last = Promise.resolve(now);
        await onChange();
      } catch (err) {
        onError(err as Error);
      }
    });
  };
  const soon = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, settleMs);
  };

  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(path), { persistent: false }, soon);
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(err as Error);
  }
  const poll = setInterval(check, opts.pollMs ?? 10_000);
  poll.unref();

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
