/**
 * The supervisor's handle on one sandbox worker process: request/reply over IPC
 * (batched per event-loop turn, see worker-wire.ts),
 * a heartbeat, per-request deadlines, and one `onExit` report naming the functions
 * that were running when the process died or was killed.
 *
 * @example
 * const w = new WorkerHandle({ dedicatedTo: null, heartbeatMs: 1000, heartbeatTimeoutMs: 5000, onExit });
 * await w.request({ op: 'load', fn: 'avg', req });
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedletError, isErrorCode } from './errors.js';
import type { SandboxLimits } from './limits.js';
import type { WorkerFatal, WorkerHello, WorkerReply, WorkerRequest } from './worker-protocol.js';
import { WireSender, unpack, type Wire } from './worker-wire.js';

export interface WorkerExit {
  /** In words: `exit code 1`, `killed by SIGABRT`, `no heartbeat for 5 s`. */
  reason: string;
  /** Functions with an invocation in flight when the worker went away. */
  running: string[];
  /**
   * The function whose call took the worker down, when known: named by the worker
   * before a catastrophic abort, or the call whose deadline ran out. Only it is at fault.
   */
  culprit: string | null;
  /** The supervisor killed it (no heartbeat, a deadline), rather than it dying or being killed from outside. */
  killedHere: boolean;
}

export interface WorkerHandleOptions {
  dedicatedTo: string | null;
  limits?: Partial<SandboxLimits>;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  onExit: (worker: WorkerHandle, exit: WorkerExit) => void;
}

type Outgoing = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  fn: string | null;
  timer: NodeJS.Timeout | null;
}

// From dist/ the worker is compiled JavaScript; from the sources (tests) it is
// TypeScript and needs tsx's loader.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);
/** How long a new worker may take to say hello before it is given up. */
const STARTUP_TIMEOUT_MS = 30_000;
const EXEC_ARGV = ['--no-node-snapshot', ...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [])];

export class WorkerHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly dedicatedTo: string | null;
  readonly functions = new Set<string>();
  alive = true;
  /** Resolves when the worker can take invocations (started, functions reloaded). */
  ready: Promise<void>;
  private readonly started: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastSeen = Date.now();
  /** The worker said hello: it is up, and the heartbeat applies. */
  private up = false;
  private readonly heartbeat: NodeJS.Timeout;
  private killReason: string | null = null;
  private culprit: string | null = null;
  /** Requests leave batched, once per turn of the event loop (worker-wire.ts). */
  private readonly out = new WireSender<WorkerRequest>((batch) => this.sendBatch(batch));

  constructor(private readonly opts: WorkerHandleOptions) {
    this.dedicatedTo = opts.dedicatedTo;
    this.child = fork(fileURLToPath(WORKER_URL), [], {
      execArgv: EXEC_ARGV,
      // JSON is cheaper than structured clone per message; worker-wire.ts carries bytes.
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A session of its own: a terminal's Ctrl-C signals the whole foreground process
      // group, and a worker still starting (before its handlers are set) died of it,
      // taking its functions' invocations with it. redlet stops its workers itself,
      // after the drain; a worker whose supervisor is gone exits on the disconnect.
      detached: true,
      // Only what the worker needs: no API token or Redis password in its environment.
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: process.env.NODE_ENV ?? '',
        ...(opts.limits ? { REDLET_SANDBOX_LIMITS: JSON.stringify(opts.limits) } : {}),
      },
    });
    this.pid = this.child.pid ?? -1;
    let hello!: () => void;
    let failed!: (err: Error) => void;
    this.started = new Promise<void>((resolve, reject) => {
      hello = resolve;
      failed = reject;
    });
    this.started.catch(() => {});
    this.ready = this.started;
    this.child.on('message', (raw: Wire<WorkerReply | WorkerHello | WorkerFatal>) => {
      this.lastSeen = Date.now();
      for (const msg of unpack(raw)) {
        if ('hello' in msg) {
          this.up = true;
          hello();
          continue;
        }
        if ('fatal' in msg) {
          this.culprit ??= msg.fn;
          continue;
        }
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        if (p.timer) clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.value);
        // The worker runs guest code: an unknown code is its failure, not a code to pass on.
        else
          p.reject(
            new RedletError(isErrorCode(msg.error.code) ? msg.error.code : 'WORKER_ERROR', msg.error.message, {
              kind: msg.error.kind,
              ...(msg.error.details ? { details: msg.error.details } : {}),
            }),
          );
      }
    });
    this.child.on('error', (err) => failed(err));
    this.child.on('exit', (code, signal) => this.onExit(code, signal, failed));
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Sends one request; rejects with WORKER_CRASHED if the worker dies before answering.
   * `deadlineMs`: the worker is killed if it has not answered by then (an invocation
   * past its time limit). `giveUpMs`: the caller stops waiting and the late answer is
   * dropped, the worker lives on (statistics: a worker busy running a function's
   * code legitimately answers late, and that is no sign of a hang).
   */
  async request(msg: Outgoing, opts: { fn?: string; deadlineMs?: number; giveUpMs?: number } = {}): Promise<unknown> {
    if (!this.alive) throw crashed(this.killReason ?? 'the worker is gone');
    await this.started;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const pending: Pending = { resolve, reject, fn: opts.fn ?? null, timer: null };
      if (opts.deadlineMs !== undefined) {
        pending.timer = setTimeout(() => {
          if (this.alive) this.culprit ??= pending.fn;
          this.kill(`did not answer within ${opts.deadlineMs} ms`);
        }, opts.deadlineMs);
      } else if (opts.giveUpMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RedletError('WORKER_BUSY', `the worker did not answer within ${opts.giveUpMs} ms`, { kind: 'system' }));
        }, opts.giveUpMs);
      }
      this.pending.set(id, pending);
      this.out.push({ ...msg, id } as WorkerRequest);
    });
  }

  /** Writes one batch; a channel that is gone fails the batch's requests as crashed. */
  private sendBatch(batch: WorkerRequest[]): void {
    const fail = (err: Error) => {
      for (const m of batch) {
        const p = this.pending.get(m.id);
        if (!p) continue;
        this.pending.delete(m.id);
        if (p.timer) clearTimeout(p.timer);
        p.reject(crashed(err.message));
      }
    };
    try {
      this.child.send(batch, undefined, {}, (err) => err && fail(err));
    } catch (err) {
      fail(err as Error);
    }
  }

  /** Invocations wait for `work` (e.g. reloading functions) before they start. */
  holdUntil(work: Promise<void>): void {
    const next = Promise.all([this.ready, work]).then(() => undefined);
    next.catch(() => {}); // observed by whoever awaits `ready`
    this.ready = next;
  }

  forget(fn: string): void {
    this.functions.delete(fn);
  }

  kill(reason = 'killed'): void {
    if (!this.alive) return;
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** Ends the worker at redlet's shutdown (not a crash: no onExit report). */
  async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    if (!this.alive) return;
    this.killReason = 'shutdown';
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.out.flush();
    try {
      this.child.disconnect();
    } catch {
      // Already disconnected.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private beat(): void {
    if (!this.alive) return;
    const silent = Date.now() - this.lastSeen;
    // Starting (Node, the loader, isolated-vm) takes seconds on a busy machine: that
    // is not a hang, and no ping can be answered before the hello anyway.
    if (!this.up) {
      if (silent > STARTUP_TIMEOUT_MS) this.kill(`did not start within ${STARTUP_TIMEOUT_MS / 1000} s`);
      return;
    }
    if (silent > this.opts.heartbeatTimeoutMs) {
      this.kill(`no heartbeat for ${(silent / 1000).toFixed(1)} s`);
      return;
    }
    this.request({ op: 'ping' }).catch(() => {});
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, failed: (err: Error) => void): void {
    this.alive = false;
    clearInterval(this.heartbeat);
    const reason = this.killReason ?? (signal ? `worker killed by ${signal}` : `worker exited with code ${code}`);
    const running = new Set<string>();
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      if (p.fn) running.add(p.fn);
      p.reject(crashed(reason));
    }
    this.pending.clear();
    failed(crashed(reason));
    if (this.killReason !== 'shutdown')
      this.opts.onExit(this, { reason, running: [...running], culprit: this.culprit, killedHere: this.killReason !== null });
  }
}

function crashed(reason: string): RedletError {
  return new RedletError('WORKER_CRASHED', `the sandbox worker process stopped while this function ran (${reason}); it was restarted`, {
    kind: 'system',
  });
}
