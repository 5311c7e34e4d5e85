/**
 * Keeps a process that hosts isolates under the kernel's limit on memory mappings.
 *
 * Every isolate maps about seven regions of its own (heap spaces, code space, stacks).
 * Linux allows a process `vm.max_map_count` mappings (65,530 by default); past it an
 * mmap fails, V8 takes that for an out-of-memory error and aborts the whole process,
 * with every function in it. So a new isolate is refused (SANDBOX_FULL, a clear error
 * for the one registration) while the process is within `reserve` mappings of the limit.
 *
 * Counting the mappings means reading /proc/self/maps (a few ms at 70,000 lines), so it
 * is counted at most every `recountEvery` isolates, or sooner when an upper estimate
 * (`perIsolate` mappings for each isolate created since the last count) nears the limit.
 * Where there is no /proc (not Linux) there is no limit to keep.
 *
 * @example
 * const budget = new MapBudget();
 * budget.beforeIsolate(); // throws SANDBOX_FULL near the limit
 */
import { readFileSync } from 'node:fs';
import { RedletError } from './errors.js';

export interface MapBudgetOptions {
  /** The process's limit; default: /proc/sys/vm/max_map_count, or none. */
  limit?: number | null;
  /** Counts the process's mappings now; default: the lines of /proc/self/maps. */
  count?: () => number;
  /** Mappings kept free for everything else the process maps (buffers, Redis, HTTP). */
  reserve?: number;
  /** An upper estimate of the mappings one isolate adds. */
  perIsolate?: number;
  recountEvery?: number;
}

export class MapBudget {
  private readonly limit: number | null;
  private readonly count: () => number;
  private readonly reserve: number;
  private readonly perIsolate: number;
  private readonly recountEvery: number;
  private counted = -1;
  private since = 0;

  constructor(opts: MapBudgetOptions = {}) {
    this.limit = opts.limit === undefined ? systemLimit() : opts.limit;
    this.count = opts.count ?? countOwnMappings;
    this.reserve = opts.reserve ?? 4096;
    this.perIsolate = opts.perIsolate ?? 16;
    this.recountEvery = opts.recountEvery ?? 200;
  }

  /** Call before creating an isolate; throws SANDBOX_FULL when there is no room for one. */
  beforeIsolate(): void {
    if (this.limit === null) return;
    const ceiling = this.limit - this.reserve;
    const estimate = this.counted + this.since * this.perIsolate;
    if (this.counted < 0 || this.since >= this.recountEvery || estimate + this.perIsolate > ceiling) {
      this.counted = this.count();
      this.since = 0;
    }
    if (this.counted + this.since * this.perIsolate + this.perIsolate > ceiling) {
      throw new RedletError(
        'SANDBOX_FULL',
        `this process holds as many isolates as the kernel lets it map (${this.counted} of vm.max_map_count ${this.limit} memory mappings in use); ` +
          'run functions in more sandbox worker processes (REDLET_SANDBOX=process, REDLET_SANDBOX_WORKERS), on more replicas, or raise vm.max_map_count',
        { kind: 'system' },
      );
    }
    this.since++;
  }
}

function systemLimit(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
    return Number.isFinite(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function countOwnMappings(): number {
  const text = readFileSync('/proc/self/maps', 'latin1');
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
