/**
 * Maps positions in a bundle back to the user's files, so a guest's stack trace
 * names `lib/x.js:12:5` and not `bundle.js:431:9`. Host-side: the isolate only ever
 * sees the bundle, the host holds its source map.
 */
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { Bundle } from './bundle.js';

export interface OriginalPosition {
  /** The user's file, e.g. `lib/x.js`. */
  source: string;
  /** 1-based. */
  line: number;
  /** 1-based, like V8's stack traces. */
  column: number;
}

// Parsing a map is the expensive part; a bundle's map never changes.
const traceMaps = new WeakMap<Bundle, TraceMap>();

function traceMapOf(bundle: Bundle): TraceMap {
  let map = traceMaps.get(bundle);
  if (map === undefined) {
    map = new TraceMap(bundle.map);
    traceMaps.set(bundle, map);
  }
  return map;
}

/**
 * The original position of a bundle position; line and column 1-based, as V8
 * prints them. Null when the position comes from esbuild's own glue code.
 *
 * @example
 * mapPosition(bundle, 431, 9); // { source: 'lib/x.js', line: 12, column: 5 }
 */
export function mapPosition(bundle: Bundle, line: number, column: number): OriginalPosition | null {
  if (line < 1 || column < 1) return null;
  const verbatim = bundle.verbatim;
  if (verbatim) {
    // The entry file as is, from `firstLine` on: only the lines of the glue do not map.
    const own = line - verbatim.firstLine + 1;
    return own >= 1 && own <= lineCount(verbatim.module) ? { source: bundle.entry, line: own, column } : null;
  }
  const pos = originalPositionFor(traceMapOf(bundle), { line, column: column - 1 });
  if (pos.source === null || pos.line === null || pos.column === null) return null;
  return { source: pos.source, line: pos.line, column: pos.column + 1 };
}

/**
 * Rewrites every `scriptName:LINE:COL` in a V8 stack to the original file, keeping
 * the folder of `scriptName`: with `redlet://avg/bundle.js`, a frame becomes
 * `redlet://avg/lib/x.js:12:5`. Frames that do not map stay as they are.
 *
 * @example
 * mapStack('Error: boom\n    at run (redlet://avg/bundle.js:431:9)', bundle, 'redlet://avg/bundle.js');
 * // 'Error: boom\n    at run (redlet://avg/lib/x.js:12:5)'
 */
export function mapStack(stack: string, bundle: Bundle, scriptName: string): string {
  if (!stack.includes(scriptName)) return stack;
  const prefix = scriptName.slice(0, scriptName.lastIndexOf('/') + 1);
  const frame = new RegExp(`${escapeRegExp(scriptName)}:(\\d+):(\\d+)`, 'g');
  return stack.replace(frame, (whole, line: string, column: string) => {
    const pos = mapPosition(bundle, Number(line), Number(column));
    return pos === null ? whole : `${prefix}${pos.source}:${pos.line}:${pos.column}`;
  });
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
