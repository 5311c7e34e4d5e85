/**
 * The sandbox's contract with the host. Everything that crosses it is plain data
 * (strings, numbers, Buffers), because a later implementation runs the isolates in
 * supervised worker processes and sends these values over IPC.
 */
import type { GuestError } from './errors.js';

/** A function's code: one file, or a ZIP of modules. */
export type FunctionSource = { kind: 'file'; filename: string; code: string } | { kind: 'zip'; filename: string; data: Uint8Array };

/** The files of a function after the ZIP was checked and read: path (posix, no leading slash) -> bytes. */
export type SourceFiles = Map<string, Uint8Array>;

export interface LoadRequest {
  source: FunctionSource;
  /** `handler`, `module.handler` or `path/to/file.js:exportName`. */
  handler: string;
  memoryMb: number;
  timeoutMs: number;
  /** JSON text of the function's `context.env` to start from (`{}` when new). */
  env: string;
  /** Name shown in stack traces: `redlet://<name>/<file>`. */
  name: string;
}

export interface LoadInfo {
  /** The module file the handler was found in, e.g. `lib/handler.js`. */
  entry: string;
  exportName: string;
  /** Time spent bundling/transpiling, creating the isolate and evaluating the module. */
  timings: { bundleMs: number; isolateMs: number; evaluateMs: number };
  /** The function's statistics right after loading, when the sandbox has them at hand. */
  stats?: SandboxStats;
}

/** The course runtime's context attributes, minus `env` (which lives in the isolate). */
export interface ContextFields {
  host: string;
  port: number;
  input_key: string;
  output_key: string | null;
  function_getmtime: string;
  /** Epoch milliseconds of the last completed invocation, or null. */
  last_execution: number | null;
  function_name: string;
}

export interface InvokeRequest {
  /** The input as JSON text, exactly as read from Redis (parsed inside the isolate). */
  input: string;
  context: ContextFields;
  /** Replace the isolate's `context.env` with this JSON text before the call (rollback after a failed commit). */
  resetEnv?: string;
  /** Run on a copy of `context.env`; the function's state is left untouched. */
  dryRun?: boolean;
  /** Largest accepted output JSON, in bytes. */
  maxOutputBytes: number;
}

export type LogLevel = 'log' | 'info' | 'warn' | 'error' | 'debug';

export interface LogLine {
  /** Epoch milliseconds. */
  t: number;
  level: LogLevel;
  msg: string;
}

export interface InvokeResult {
  ok: boolean;
  /** JSON text of the handler's result; null when it returned null/undefined (nothing is written). */
  output: string | null;
  /** JSON text of `context.env` after the call; null on failure or dry run. */
  env: string | null;
  error?: GuestError;
  durationMs: number;
  logs: LogLine[];
  /** Lines the function printed past the per-invocation cap. */
  droppedLogs: number;
}

export interface SandboxStats {
  heapUsedBytes: number;
  heapLimitBytes: number;
  /** Times the isolate was replaced after dying (memory limit, timeout of async work). */
  restarts: number;
  cpuTimeMs: number;
  /** With worker processes: crashes of its worker while it ran, within the crash window. */
  crashes?: number;
  /** Epoch ms until which it is held back after crashing its worker (crash-loop backoff). */
  backoffUntil?: number | null;
  lastCrash?: string | null;
  workerPid?: number;
  /** Moved to a worker process of its own after repeated crashes. */
  dedicatedWorker?: boolean;
}

/**
 * Hosts many functions, each in its own isolate.
 *
 * @example
 * const box = new InProcessSandbox();
 * await box.load('avg', { source, handler: 'handler', memoryMb: 64, timeoutMs: 1000, env: '{}', name: 'avg' });
 * const r = await box.invoke('avg', { input: '{"a":1}', context, maxOutputBytes: 1 << 20 });
 */
export interface Sandbox {
  /** Loads (or replaces) a function. Throws RedletError (kind `user`) when the code does not load. */
  load(id: string, req: LoadRequest): Promise<LoadInfo>;
  invoke(id: string, req: InvokeRequest): Promise<InvokeResult>;
  dispose(id: string): Promise<void>;
  stats(id: string): Promise<SandboxStats | null>;
  close(): Promise<void>;
}
