/**
 * Item 8, dashboard size: the bytes of the functions list partial htmx polls every 3 s
 * (`GET /ui/functions`) with 1,000 functions, rendered by the pages' own components:
 * the first page, a filtered page, and, for comparison, every row at once (what the
 * partial was before it had pages). The rows are real FunctionView shapes with
 * realistic values (names, counters, durations, heap), so the size is what a browser
 * downloads; no sandbox is needed to render them.
 */
import { performance } from 'node:perf_hooks';
import { FunctionList, FunctionRows, listQuery, pageOf } from '../ui/functions-panel.js';
import type { FunctionView } from '../src/runtime/runtime.js';
import type { ItemResult, Row } from './harness.js';

const N = 1000;
const TARGET_KB = 50;

function view(i: number, now: number): FunctionView {
  const name = `cpu-report-${String(i).padStart(4, '0')}`;
  return {
    definition: {
      name,
      origin: 'api',
      filename: `${name}.js`,
      handler: 'handler',
      inputKey: 'metrics',
      outputKey: `${name}-output`,
      trigger: i % 2 ? 'keyspace' : 'poll',
      period: 5,
      invokeOn: 'change',
      memoryMb: 64,
      timeoutMs: 5000,
      paused: false,
      codeUpdatedAt: now - 3_600_000,
      updatedAt: now - 3_600_000,
      sourceKind: 'file',
    },
    status: {
      name,
      state: i % 17 === 0 ? 'error' : 'idle',
      running: false,
      detail: i % 17 === 0 ? "TypeError: Cannot read properties of undefined (reading 'cpu')" : null,
      invocations: 1200 + i,
      errors: i % 17 === 0 ? 40 : 0,
      skippedTicks: 0,
      missedTicks: 0,
      unchangedTicks: 30,
      lastRunAt: now - 2000,
      lastDurationMs: 0.42,
      p50Ms: 0.38,
      p99Ms: 1.9,
      lastError: null,
      lastOutput: '{"cpu-mean":12.5}',
      lastOutputAt: now - 2000,
      outcomes: { success: 1200 },
    },
    sandbox: { heapUsedBytes: 1_200_000, heapLimitBytes: 64 * 1024 * 1024, restarts: 0 } as FunctionView['sandbox'],
    owner: 'local',
  } as unknown as FunctionView;
}

function kb(html: string): number {
  return Math.round(Buffer.byteLength(html) / 102.4) / 10;
}

export async function dashboardSize(): Promise<ItemResult> {
  const now = Date.now();
  const all = Array.from({ length: N }, (_, i) => view(i, now));
  const byName = new Map(all.map((v) => [v.definition.name, v]));
  const render = (q: string, page: string) => {
    const query = listQuery(q, page);
    const list = pageOf([...byName.keys()], query);
    return String(FunctionList({ views: list.names.map((n) => byName.get(n)!), now, list, query }));
  };
  const t0 = performance.now();
  const first = render('', '1');
  const renderMs = performance.now() - t0;
  const filtered = render('cpu-report-01', '1');
  const last = render('', '40');
  const everything = String(FunctionRows({ views: all, now }));
  const rows: Row[] = [
    {
      metric: `functions list partial, ${N} functions, page 1`,
      value: `${kb(first)} KB`,
      target: `≤ ${TARGET_KB} KB`,
      met: kb(first) <= TARGET_KB,
    },
    { metric: `the same, filtered ('cpu-report-01': 100 match)`, value: `${kb(filtered)} KB` },
    { metric: 'the same, last page', value: `${kb(last)} KB` },
    { metric: `every row at once (the partial without pages)`, value: `${kb(everything)} KB` },
    { metric: 'rendering page 1', value: `${Math.round(renderMs * 100) / 100} ms` },
  ];
  return {
    rows,
    data: { functions: N, firstPageKb: kb(first), filteredKb: kb(filtered), lastPageKb: kb(last), allRowsKb: kb(everything), renderMs },
  };
}
