// CommonJS helper of the zip-stats example (imported from ESM to show the interop).

/** Rounds to `decimals` places; passes null through. */
function round(value, decimals) {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

module.exports = { round };
