/**
 * A sandbox worker process: hosts many functions' isolates (an InProcessSandbox) on
 * behalf of the supervisor in the main process, so that a V8 failure that takes the
 * whole process down (some out-of-memory paths are fatal, or deadlock the host)
 * takes down only this worker. Started by WorkerPoolSandbox with `fork`.
 */
import { RedletError } from './errors.js';
import { InProcessSandbox } from './in-process.js';
import type { WorkerFatal, WorkerHello, WorkerReply, WorkerRequest } from './worker-protocol.js';
import { WireSender, unpack, type Wire } from './worker-wire.js';

if (!process.send) {
  process.stderr.write('redlet sandbox worker: start me with child_process.fork\n');
  process.exit(2);
}

// Replies finished in the same turn of the event loop leave as one IPC message.
const out = new WireSender<WorkerReply | WorkerHello>((batch) => {
  if (!process.connected) return;
  // The callback swallows a channel closed under us: the supervisor is gone and the
  // disconnect handler ends this process.
  try {
    process.send!(batch, undefined, {}, () => {});
  } catch {
    // A value JSON cannot carry (a BigInt in error details): one by one, so only its own caller fails.
    for (const msg of batch) sendOne(msg);
  }
});
function sendOne(msg: WorkerReply | WorkerHello): void {
  try {
    process.send!([msg], undefined, {}, () => {});
  } catch (err) {
    if (!('id' in msg)) return;
    const error = {
      code: 'WORKER_ERROR',
      kind: 'system' as const,
      message: `the reply could not be sent: ${err instanceof Error ? err.message : String(err)}`,
    };
    process.send!([{ id: msg.id, ok: false, error }], undefined, {}, () => {});
  }
}
const send = (msg: WorkerReply | WorkerHello) => out.push(msg);

const limits = process.env.REDLET_SANDBOX_LIMITS ? JSON.parse(process.env.REDLET_SANDBOX_LIMITS) : undefined;
const sandbox = new InProcessSandbox({
  limits,
  // Loads are spread over the pool's workers: this one's next load is not imminent.
  spareAfterRun: false,
  // V8 lost control of an isolate: this process cannot be trusted any more. Dying is
  // what the supervisor expects; it restarts a clean worker and reloads the functions.
  onCatastrophicError: (message, fn) => {
    process.stderr.write(`redlet sandbox worker ${process.pid}: fatal isolate error${fn ? ` in '${fn}'` : ''}, exiting: ${message}\n`);
    // Name the culprit first (the supervisor blames only it), then die; never linger.
    const abort = () => process.abort();
    setTimeout(abort, 250);
    if (!process.connected) return abort();
    process.send!({ fatal: 'redlet-sandbox-worker', fn, message } satisfies WorkerFatal, undefined, {}, abort);
  },
});

async function handle(msg: WorkerRequest): Promise<unknown> {
  switch (msg.op) {
    case 'load':
      return sandbox.load(msg.fn, msg.req);
    case 'invoke':
      return sandbox.invoke(msg.fn, msg.req);
    case 'dispose':
      return sandbox.dispose(msg.fn);
    case 'stats':
      return sandbox.stats(msg.fn);
    case 'ping':
      return process.pid;
  }
}

process.on('message', (raw: Wire<WorkerRequest>) => {
  for (const msg of unpack(raw)) dispatch(msg);
});

function dispatch(msg: WorkerRequest): void {
  handle(msg).then(
    (value) => send({ id: msg.id, ok: true, value: value ?? null }),
    (err: unknown) => {
      const e =
        err instanceof RedletError
          ? err
          : new RedletError('WORKER_ERROR', err instanceof Error ? err.message : String(err), { kind: 'system' });
      send({
        id: msg.id,
        ok: false,
        error: { code: e.code, kind: e.kind, message: e.message, ...(e.details ? { details: e.details } : {}) },
      });
    },
  );
}

// The supervisor died or let go of us: nothing may outlive it.
process.on('disconnect', () => process.exit(0));
// The supervisor decides when workers end (it drains first). A worker runs in a session
// of its own, out of reach of a terminal's Ctrl-C; a SIGINT or SIGTERM sent to it
// directly must not cut an invocation either.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

send({ hello: 'redlet-sandbox-worker', pid: process.pid });
