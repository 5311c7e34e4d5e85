// ESM helpers of the zip-stats example: pick numeric metric fields and ratios.

/** Values of the numeric fields whose name starts with `prefix`, by index (`cpu_percent-0`, `-1`, ...). */
export function fieldsWithPrefix(metrics, prefix) {
  return Object.keys(metrics)
    .filter((key) => key.startsWith(prefix) && typeof metrics[key] === 'number')
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map((key) => metrics[key]);
}

/** `part` as a percentage of `whole`; null when `whole` is missing or zero. */
export function percent(part, whole) {
  if (typeof part !== 'number' || typeof whole !== 'number' || whole === 0) return null;
  return (part / whole) * 100;
}
