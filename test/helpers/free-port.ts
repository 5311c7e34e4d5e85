/**
 * Ports for the tests' own servers. Test files run side by side in several processes,
 * and a port the OS hands out for `listen(0)` is free only until someone else asks:
 * two files could both be told 41234, and the second redis-server to start would fail
 * while its PING is answered by the first file's server. So each test process takes
 * ports from a block of its own, below the OS's ephemeral range (32768-60999 on
 * Linux) so that no `listen(0)` or outgoing connection lands there either: vitest
 * numbers the workers that run at the same time (VITEST_POOL_ID, from 1), and the
 * main process (global setup) has block 0.
 */
import { createServer } from 'node:net';

const BASE = 20_000;
const BLOCK = 1_000;
/** Blocks 0-11 end at 31999: under the ephemeral range, and a cluster bus at +10000 stays under 65536. */
const BLOCKS = 12;
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 that no other test process is given and nothing listens on now;
 * never handed out twice by this process. `bus: true` also checks port + 10000 (a Redis
 * Cluster node's bus).
 *
 * @example
 * const port = await freePort();
 * spawn('redis-server', ['--port', String(port)]);
 */
export async function freePort(opts: { bus?: boolean } = {}): Promise<number> {
  const block = Number(process.env.VITEST_POOL_ID ?? 0) % BLOCKS;
  const low = BASE + block * BLOCK;
  for (let i = 0; i < BLOCK; i++) {
    const port = low + Math.floor(Math.random() * BLOCK);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if ((await bindable(port)) && (!opts.bus || (await bindable(port + 10_000)))) return port;
  }
  throw new Error(`no free port left in ${low}-${low + BLOCK - 1} (this test process's block)`);
}
