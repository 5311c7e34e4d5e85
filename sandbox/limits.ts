/**
 * The limits every function of a sandbox runs under, what an uploaded ZIP may hold, and
 * how a size limit is written in a message. Kept apart from the isolates (no isolated-vm here), so the host can import
 * them: it reads a stored `context.env` back under the same cap the sandbox enforces.
 *
 * @example
 * new InProcessSandbox({ limits: { ...DEFAULT_SANDBOX_LIMITS, maxLogLines: 50 } });
 * sizeText(DEFAULT_SANDBOX_LIMITS.maxEnvBytes); // '1 MB'
 */

/** Limits that apply to every function of a sandbox, JavaScript and Python alike. */
export interface SandboxLimits {
  /** Console lines kept per invocation; the rest are counted as dropped. */
  maxLogLines: number;
  maxLogLineChars: number;
  /** Largest `context.env`, as JSON bytes. */
  maxEnvBytes: number;
  /** Extra wall-clock time past `timeoutMs` before the watchdog disposes an isolate. */
  watchdogGraceMs: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  maxLogLines: 200,
  maxLogLineChars: 4000,
  maxEnvBytes: 1 << 20,
  watchdogGraceMs: 25,
};

const MB = 1024 * 1024;

/** What an uploaded ZIP may hold; checked while inflating, since the sizes in its headers can lie. */
export interface ZipLimits {
  /** Entries in the archive, folders and metadata included. */
  maxEntries: number;
  /** Sum of the inflated sizes of all kept files, in bytes. */
  maxTotalBytes: number;
  /** Inflated size of one file, in bytes. */
  maxFileBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 1000,
  maxTotalBytes: 50 * MB,
  maxFileBytes: 10 * MB,
};

/** A byte limit for a message: whole megabytes as `10 MB`, anything else in bytes. */
export function sizeText(bytes: number): string {
  return bytes % MB === 0 ? `${bytes / MB} MB` : `${bytes} bytes`;
}
