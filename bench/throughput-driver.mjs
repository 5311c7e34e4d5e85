// Writer process of the throughput item (bench/throughput.ts), started with fork so
// that redlet's process does only redlet's work. It writes distinct ~2 KB values to N
// input keys for a fixed time, in one of two ways:
// - "absorbed": closed loop, one unconsumed write per key: a key is written again as
//   soon as its output key is written (keyspace notification). Every write yields one
//   invocation: this is the rate redlet sustains with nothing coalesced.
// - "flood": open loop, as fast as Redis takes them (pipelined, `outstanding` SETs in
//   flight), round-robin over the keys. Change detection coalesces writes that land
//   while a function runs: writes/s and invocations/s differ, by design.
// Protocol: the parent sends {url, prefix, n, mode, durationMs, outstanding}; the
// driver answers {ready}, then {writes, elapsedMs} when done.
import { Redis } from 'ioredis';

const filler = Array.from({ length: 72 }, (_, i) => `"field_number_${i}":${i * 1.5 + 0.123456}`).join(',');
const value = (seq) => `{"seq":${seq},${filler}}`;

process.once('message', async (opts) => {
  const { url, prefix, n, mode, durationMs, outstanding } = opts;
  const redis = new Redis(url);
  const sub = new Redis(url);
  const ins = Array.from({ length: n }, (_, i) => `${prefix}in:${i}`);
  let seq = 1e9 * Math.random();
  let writes = 0;
  let stop = false;
  if (mode === 'absorbed') {
    await sub.psubscribe(`__keyspace@0__:${prefix}out:*`);
  }
  await redis.ping();
  process.send({ ready: true });
  await new Promise((r) => process.once('message', r));
  const t0 = performance.now();
  const end = t0 + durationMs;
  if (mode === 'absorbed') {
    const index = new Map(ins.map((_, i) => [`__keyspace@0__:${prefix}out:${i}`, i]));
    const write = (i) => {
      if (performance.now() >= end) {
        stop = true;
        return;
      }
      writes++;
      redis.set(ins[i], value(seq++)).catch(() => {});
    };
    sub.on('pmessage', (_p, channel) => {
      const i = index.get(channel);
      if (i !== undefined && !stop) write(i);
    });
    for (let i = 0; i < n; i++) write(i);
    await new Promise((r) => setTimeout(r, durationMs));
    stop = true;
  } else {
    let k = 0;
    const lane = async () => {
      while (performance.now() < end) {
        writes++;
        await redis.set(ins[k++ % n], value(seq++));
      }
    };
    await Promise.all(Array.from({ length: outstanding }, lane));
  }
  const elapsedMs = performance.now() - t0;
  process.send({ writes, elapsedMs });
  redis.disconnect();
  sub.disconnect();
  process.disconnect();
});
