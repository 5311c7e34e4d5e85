/**
 * A function's SandboxStats read from its isolate, JavaScript or Python alike: the heap
 * and CPU time V8 reports, or zeros while it has no live isolate (not started again yet
 * after dying, or disposed while being read).
 *
 * @example
 * await isolateStats(slot?.isolate, req.memoryMb * 1024 * 1024, fn.restarts); // { heapUsedBytes: 1843200, ... }
 */
import type ivm from 'isolated-vm';
import type { SandboxStats } from './types.js';

export async function isolateStats(
  isolate: ivm.Isolate | null | undefined,
  heapLimitBytes: number,
  restarts: number,
): Promise<SandboxStats> {
  if (!isolate || isolate.isDisposed) return statsFromHeap(null, null, heapLimitBytes, restarts);
  try {
    return statsFromHeap(isolate, await isolate.getHeapStatistics(), heapLimitBytes, restarts);
  } catch {
    return statsFromHeap(null, null, heapLimitBytes, restarts);
  }
}

/** The same from heap statistics already read (e.g. synchronously, from an idle isolate); zeros without them. */
export function statsFromHeap(
  isolate: ivm.Isolate | null,
  heap: ivm.HeapStatistics | null,
  heapLimitBytes: number,
  restarts: number,
): SandboxStats {
  if (!isolate || !heap || isolate.isDisposed) return { heapUsedBytes: 0, heapLimitBytes, restarts, cpuTimeMs: 0 };
  return {
    heapUsedBytes: heap.used_heap_size + heap.externally_allocated_size,
    heapLimitBytes,
    restarts,
    cpuTimeMs: Number(isolate.cpuTime) / 1e6,
  };
}
