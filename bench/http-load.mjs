// A small closed-loop HTTP load generator for the dashboard item (bench/dashboard.ts),
// run as its own process so the client's work does not land on redlet's event loop:
// `concurrency` connections (keep-alive) each send GET `url` back to back for
// `durationMs`. Prints one JSON line: requests, errors, bytes, latencies (ms).
// Run: node bench/http-load.mjs http://127.0.0.1:8080/ui/functions 10 5000
import http from 'node:http';

const [url, concurrencyArg, durationArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg ?? 10);
const durationMs = Number(durationArg ?? 5000);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
let errors = 0;
let bytes = 0;

function get() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - t0);
        else errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
}

const t0 = performance.now();
const end = t0 + durationMs;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await get();
  }),
);
const elapsedMs = performance.now() - t0;
latencies.sort((a, b) => a - b);
const pick = (p) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil(p * latencies.length) - 1))] ?? NaN;
process.stdout.write(
  JSON.stringify({
    requests: latencies.length,
    errors,
    bytes,
    elapsedMs,
    p50: pick(0.5),
    p99: pick(0.99),
    max: latencies[latencies.length - 1] ?? NaN,
  }) + '\n',
);
agent.destroy();
