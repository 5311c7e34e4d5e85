// examples/avg.js: the mean of every cpu_percent-N field of the course's metrics snapshot
export function handler(input, context) {
  const cpus = Object.keys(input).filter((k) => k.startsWith('cpu_percent-'));
  const mean = cpus.reduce((sum, k) => sum + input[k], 0) / cpus.length;
  context.env.runs = (context.env.runs ?? 0) + 1; // kept between invocations and across restarts
  return { 'cpu-mean': mean, runs: context.env.runs };
}
