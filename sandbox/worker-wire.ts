/**
 * The framing under the worker protocol's messages (worker-protocol.ts), the same on
 * both ends of the IPC channel:
 * - batching: messages queued in one turn of the event loop leave as ONE IPC message
 *   (an array), so a burst of invocations or replies costs one write and one wake-up
 *   on the other side instead of one each; a lone message still leaves at the end of
 *   the current turn (setImmediate), without a timer's delay;
 * - JSON serialization: Node's `json` IPC is several times cheaper per small message
 *   than `advanced` (structured clone, done in JavaScript), so binary values, which
 *   JSON cannot carry, travel as `{ $bytes: base64 }` and come back as Uint8Array.
 *   Only `load` requests carry bytes (ZIP sources); other messages are not walked.
 *
 * The message types themselves are untouched: whatever one end queues, the other end
 * receives, one by one, in order.
 *
 * @example
 * const out = new WireSender((batch) => child.send(batch));
 * out.push({ id: 1, op: 'ping' });
 * child.on('message', (raw) => { for (const msg of unpack(raw)) handle(msg); });
 */

/** One IPC message: a batch, or (from an older peer) a single message. */
export type Wire<T> = T[] | T;

export class WireSender<T> {
  private queue: T[] = [];
  private scheduled = false;

  /** `send` writes one batch; it must not throw (report a closed channel through its own means). */
  constructor(private readonly send: (batch: T[]) => void) {}

  push(msg: T): void {
    this.queue.push(encode(msg));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what is queued now (e.g. just before the channel is closed). */
  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.send(batch);
  }
}

/** The messages of one IPC message, in the order they were queued. */
export function unpack<T>(raw: Wire<T>): T[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map(decode);
}

function encode<T>(msg: T): T {
  return isLoad(msg) ? (toWire(msg) as T) : msg;
}

function decode<T>(msg: T): T {
  return isLoad(msg) ? (fromWire(msg) as T) : msg;
}

function isLoad(msg: unknown): boolean {
  return typeof msg === 'object' && msg !== null && (msg as { op?: unknown }).op === 'load';
}

function toWire(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toWire);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toWire(x);
    return out;
  }
  return v;
}

function fromWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromWire);
  if (typeof v === 'object' && v !== null) {
    const bytes = (v as { $bytes?: unknown }).$bytes;
    if (typeof bytes === 'string' && Object.keys(v).length === 1) return new Uint8Array(Buffer.from(bytes, 'base64'));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = fromWire(x);
    return out;
  }
  return v;
}
