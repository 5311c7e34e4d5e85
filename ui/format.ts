/**
 * How the pages write numbers, times and sizes, and how they bound what a function
 * controls (its output, logs and env can be megabytes). Pure functions; escaping is
 * left to JSX, which escapes every text and attribute it renders.
 *
 * @example
 * formatDuration(0.42); // '0.42 ms'
 * formatAgo(Date.now() - 3000, Date.now()); // '3 s ago'
 */

/** `0.42 ms`, `12.3 ms`, `1.25 s`; an em dash for null. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** `512 B`, `3.1 MB` (binary units, as V8 reports heap sizes). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `just now`, `42 s ago`, `3 min ago`, `2 h ago`; `never` for null. */
export function formatAgo(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 1) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** `14:03:15`: the server's local wall-clock time. */
export function formatClock(at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `2024-11-20 14:03:15`: the server's local date and time. */
export function formatDateTime(at: number | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${formatClock(at)}`;
}

/** A reading with sensible precision: `41.97`, `3.4`, `1234`, `1.2e+9`. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  if (a >= 100) return v.toFixed(1);
  return v.toFixed(2);
}

/** Seconds as a person says them: `5 s`, `0.5 s`, `2 min`. */
export function formatPeriod(seconds: number): string {
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export interface Bounded {
  text: string;
  /** Characters left out, 0 when the whole text is shown. */
  omitted: number;
}

/** The first `max` characters of `text`, and how many were left out. */
export function bound(text: string, max: number): Bounded {
  return text.length <= max ? { text, omitted: 0 } : { text: text.slice(0, max), omitted: text.length - max };
}

/**
 * JSON text indented for reading, cut at `max` characters. Text that is not JSON (or
 * too big to parse cheaply) is shown as it is.
 */
export function prettyJson(text: string, max: number): Bounded {
  if (text.length > max * 4) return bound(text, max);
  try {
    return bound(JSON.stringify(JSON.parse(text), null, 2), max);
  } catch {
    return bound(text, max);
  }
}
