// Entry module of the zip-stats example: summarises one metrics snapshot (the
// course's `metrics` JSON) using an ESM module, a CommonJS module, a JSON file and
// a CommonJS npm package, to show they all bundle together.
import mean from 'tiny-mean';
import { fieldsWithPrefix, percent } from './lib/stats.js';
import { round } from './lib/format.cjs';
import config from './config.json';

/**
 * @example
 * handler({ 'cpu_percent-0': 10, 'cpu_percent-1': 20, 'virtual_memory-used': 1, 'virtual_memory-total': 4 })
 * // { cpu_count: 2, cpu_mean_percent: 15, memory_used_percent: 25, ... }
 */
export function handler(input, context) {
  const cpus = fieldsWithPrefix(input, config.cpuPrefix);
  const sent = input['net_io_counters_eth0-bytes_sent'] ?? 0;
  const received = input['net_io_counters_eth0-bytes_recv'] ?? 0;
  return {
    cpu_count: cpus.length,
    cpu_mean_percent: round(mean(cpus), config.decimals),
    memory_used_percent: round(percent(input['virtual_memory-used'], input['virtual_memory-total']), config.decimals),
    network_egress_percent: round(percent(sent, sent + received), config.decimals),
    function: context?.function_name ?? null,
  };
}
