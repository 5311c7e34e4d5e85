/**
 * Running redlet as a real process in tests: a free port, its output kept for failure
 * messages, waiting for HTTP answers and for the exit, and never leaving it running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

import { freePort } from './free-port.js';

export { freePort };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Watched {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or `signal:NAME`) and when it happened (Date.now()). */
  exited: Promise<{ code: number | string; at: number }>;
  /** SIGKILL if still running (for afterEach). */
  kill(): void;
}

export function watch(child: ChildProcess): Watched {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | string; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code: code ?? `signal:${signal}`, at: Date.now() }));
  });
  return {
    child,
    output: () => out,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * `redlet start` from the sources, as its own process on `opts.port` or a free port,
 * with nothing of this process's environment but PATH: `env` is all the configuration
 * it gets.
 *
 * @example
 * const { w, base } = await spawnRedlet({ REDIS_URL: redisUrl(), REDLET_PREFIX: ownPrefix(prefix) });
 * await waitForStatus(w, `${base}/readyz`, 200);
 */
export async function spawnRedlet(
  env: Record<string, string>,
  opts: { detached?: boolean; port?: number } = {},
): Promise<{ w: Watched; base: string; port: number }> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'ui/entry.ts', 'start'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  return { w: watch(child), base: `http://127.0.0.1:${port}`, port };
}

/** Waits up to `timeoutMs` for the process to exit. */
export async function exitWithin(w: Watched, timeoutMs: number): Promise<{ code: number | string; at: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the process did not exit within ${timeoutMs} ms; its output:\n${w.output()}`)), timeoutMs);
  });
  try {
    return await Promise.race([w.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** GETs a URL; null when nothing answers. */
export async function get(url: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

/** Waits until `url` answers `status`; a process that exits first fails at once, with its output. */
export async function waitForStatus(w: Watched, url: string, status: number, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: string } | null;
  for (;;) {
    if (w.child.exitCode !== null || w.child.signalCode !== null)
      throw new Error(
        `the process exited (${w.child.exitCode ?? w.child.signalCode}) before ${url} answered ${status}; its output:\n${w.output()}`,
      );
    last = await get(url);
    if (last?.status === status) return last.body;
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not answer ${status} within ${timeoutMs} ms (last: ${last ? `${last.status} ${last.body}` : 'no answer'}); output:\n${w.output()}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
