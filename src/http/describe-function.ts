/**
 * The JSON description of a function, the same shape on every route that returns one
 * (list, get, register, update, pause, resume). It never carries the code: that can be
 * megabytes and lists are read often. Times are epoch milliseconds.
 */
import type { FunctionSettings, Origin } from '../function-definition.js';
import type { StatusSnapshot } from '../function-status.js';
import type { FunctionView } from '../runtime.js';

/** What the API says about one function. */
export interface FunctionDescription {
  name: string;
  /** `api`: registered through the API (stored in Redis); `config`: from the env variables or the demo. */
  origin: Origin;
  settings: FunctionSettings;
  source: { filename: string; kind: 'file' | 'zip' };
  status: StatusSnapshot;
  /** null while the function has no isolate. */
  sandbox: { heapUsedBytes: number; heapLimitBytes: number; restarts: number } | null;
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
    sandbox: view.sandbox ? { heapUsedBytes: view.sandbox.heapUsedBytes, heapLimitBytes: view.sandbox.heapLimitBytes, restarts: view.sandbox.restarts } : null,
    codeUpdatedAt: d.codeUpdatedAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    paused: d.paused,
  };
}
