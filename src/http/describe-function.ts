/**
 * The JSON description of a function, the same shape on every route that returns one
 * (list, get, register, update, pause, resume). It never carries the code: that can be
 * megabytes and lists are read often. Times are epoch milliseconds.
 */
import type { FunctionSettings, Origin } from '../function-definition.js';
import type { StatusSnapshot } from '../function-status.js';
import type { FunctionView } from '../runtime/runtime.js';

/** What the API says about one function. */
export interface FunctionDescription {
  name: string;
  /** `api`: registered through the API (stored in Redis); `config`: from the env variables or the demo. */
  origin: Origin;
  settings: FunctionSettings;
  source: { filename: string; kind: 'file' | 'zip' };
  status: StatusSnapshot;
  /** The replica running it (`local` without a cluster); null while no replica has taken it. */
  owner: string | null;
  /**
   * null while the function has no isolate. With worker processes: `crashes` of its
   * worker in the last 10 minutes, `backoffUntil` (epoch ms) while it is held back
   * after crashing, and whether it was moved to a worker of its own.
   */
  sandbox: {
    heapUsedBytes: number;
    heapLimitBytes: number;
    restarts: number;
    crashes?: number;
    backoffUntil?: number | null;
    lastCrash?: string | null;
    dedicatedWorker?: boolean;
  } | null;
  codeUpdatedAt: number;
  createdAt: number;
  updatedAt: number;
  paused: boolean;
}

/**
 * The description of a runtime view.
 *
 * @example
 * c.json(describeFunction(await runtime.view('avg')));
 */
export function describeFunction(view: FunctionView): FunctionDescription {
  const d = view.definition;
  return {
    name: d.name,
    origin: d.origin,
    settings: {
      handler: d.handler,
      inputKey: d.inputKey,
      outputKey: d.outputKey,
      trigger: d.trigger,
      period: d.period,
      invokeOn: d.invokeOn,
      memoryMb: d.memoryMb,
      timeoutMs: d.timeoutMs,
    },
    source: { filename: d.filename, kind: d.sourceKind },
    status: view.status,
    owner: view.owner,
    sandbox: view.sandbox ? sandboxOf(view.sandbox) : null,
    codeUpdatedAt: d.codeUpdatedAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    paused: d.paused,
  };
}

function sandboxOf(s: NonNullable<FunctionView['sandbox']>): NonNullable<FunctionDescription['sandbox']> {
  const out: NonNullable<FunctionDescription['sandbox']> = {
    heapUsedBytes: s.heapUsedBytes,
    heapLimitBytes: s.heapLimitBytes,
    restarts: s.restarts,
  };
  if (s.crashes !== undefined) {
    out.crashes = s.crashes;
    out.backoffUntil = s.backoffUntil ?? null;
    out.lastCrash = s.lastCrash ?? null;
    out.dedicatedWorker = s.dedicatedWorker ?? false;
  }
  return out;
}
