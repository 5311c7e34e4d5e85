// One function as its own Node process, the course's model (there, a pod per function):
// a Redis client polling the input key every second and running a trivial handler when
// the value changed. bench/memory.ts starts several of these and reads their RSS.
// Plain JavaScript, no loader: the smallest honest version of that model.
// Run: node bench/process-per-function.mjs redis://127.0.0.1:6379 input-key output-key
import { Redis } from 'ioredis';

const [url, inputKey, outputKey] = process.argv.slice(2);
const redis = new Redis(url);
const handler = (input) => input;
let last = null;
setInterval(async () => {
  const raw = await redis.get(inputKey);
  if (raw === null || raw === last) return;
  last = raw;
  await redis.set(outputKey, JSON.stringify(handler(JSON.parse(raw))));
}, 1000);
process.on('SIGTERM', () => process.exit(0));
