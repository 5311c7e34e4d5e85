/**
 * The messages between the supervisor (WorkerPoolSandbox, in the main process) and a
 * sandbox worker process (worker-main.ts). Plain data only: they cross IPC as JSON,
 * batched, with Uint8Array ZIPs carried as base64 by the framing layer (worker-wire.ts).
 */
import type { ErrorCode } from './error-codes.js';
import type { InvokeRequest, LoadRequest } from './types.js';

export type WorkerRequest =
  | { id: number; op: 'load'; fn: string; req: LoadRequest }
  | { id: number; op: 'invoke'; fn: string; req: InvokeRequest }
  | { id: number; op: 'dispose'; fn: string }
  | { id: number; op: 'stats'; fn: string }
  | { id: number; op: 'ping' };

export interface WireError {
  code: ErrorCode;
  kind: 'user' | 'system';
  message: string;
  details?: Record<string, unknown>;
}

export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** Sent once by a worker when it can take requests. */
export interface WorkerHello {
  hello: 'redlet-sandbox-worker';
  pid: number;
}

/**
 * Sent by a worker just before it aborts on a catastrophic isolate error, naming the
 * function whose isolate failed: only that one is blamed for the crash.
 */
export interface WorkerFatal {
  fatal: 'redlet-sandbox-worker';
  fn: string | null;
  message: string;
}
