/**
 * workerd (Cloudflare's isolate runtime, the binary the npm package `workerd` ships):
 * N workers in ONE workerd process, each doing the bench's 2 KB JSON transformation
 * and listening on its own loopback HTTP socket, plus one loader worker that creates
 * a brand-new worker from code on request (workerd's Worker Loader, `--experimental`)
 * to time the cold start of a worker inside a running process. The capnp config is
 * generated into a temporary directory for each start.
 *
 * @example
 * const wd = await WorkerdPeer.start(10);
 * await wd.call(3, input2k());   // worker #3, over HTTP
 * await wd.coldCall('new-1', input2k());
 * await wd.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The workerd binary itself. `node_modules/.bin/workerd` is a Node script that spawns
 * it: measuring that script's process would measure Node, not workerd.
 */
const BINARY = ((): string => {
  const arch = process.arch === 'x64' ? '64' : process.arch;
  const real = fileURLToPath(new URL(`../../node_modules/@cloudflare/workerd-${process.platform}-${arch}/bin/workerd`, import.meta.url));
  return existsSync(real) ? real : fileURLToPath(new URL('../../node_modules/.bin/workerd', import.meta.url));
})();

/** The same transformation redlet's echo function does: parse the input, return it as JSON. */
export const WORKERD_ECHO =
  'export default { async fetch(req) { const input = await req.json(); return new Response(JSON.stringify(input)); } };\n';

// Creates (or reuses, by id) a worker from code and forwards the request to it.
const LOADER = `export default { async fetch(req, env) {
  const id = new URL(req.url).searchParams.get('id');
  const worker = env.LOADER.get(id, () => ({ compatibilityDate: '2025-01-01', mainModule: 'w.js', modules: { 'w.js': ${JSON.stringify(WORKERD_ECHO)} } }));
  return worker.getEntrypoint().fetch('http://worker/', { method: 'POST', body: await req.text() });
} };
`;

/** `n` free loopback ports (bound together, then released for workerd to take). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function config(n: number, ports: number[]): string {
  const services = [...Array.from({ length: n }, (_, i) => `(name = "w${i}", worker = .echo)`), '(name = "loader", worker = .loader)'];
  const sockets = [
    ...Array.from({ length: n }, (_, i) => `(name = "s${i}", address = "127.0.0.1:${ports[i]}", http = (), service = "w${i}")`),
    `(name = "sl", address = "127.0.0.1:${ports[n]}", http = (), service = "loader")`,
  ];
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ ${services.join(', ')} ],
  sockets = [ ${sockets.join(', ')} ],
);
const echo :Workerd.Worker = ( modules = [ (name = "w.js", esModule = embed "w.js") ], compatibilityDate = "2025-01-01" );
const loader :Workerd.Worker = ( modules = [ (name = "loader.js", esModule = embed "loader.js") ], compatibilityDate = "2025-01-01", bindings = [ (name = "LOADER", workerLoader = ()) ] );
`;
}

export class WorkerdPeer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly ports: number[],
    readonly workers: number,
    /** Process start to every worker answering once, ms. */
    readonly startMs: number,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts one workerd process with `n` echo workers (each a service of its own, hence an isolate of its own). */
  static async start(n: number): Promise<WorkerdPeer> {
    const dir = mkdtempSync(join(tmpdir(), 'redlet-bench-workerd-'));
    const ports = await freePorts(n + 1);
    writeFileSync(join(dir, 'w.js'), WORKERD_ECHO);
    writeFileSync(join(dir, 'loader.js'), LOADER);
    writeFileSync(join(dir, 'config.capnp'), config(n, ports));
    const t0 = performance.now();
    const child = spawn(BINARY, ['serve', join(dir, 'config.capnp'), '--experimental'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const peer = new WorkerdPeer(child, dir, ports, n, 0);
    const deadline = performance.now() + 30_000;
    for (let i = 0; i < n; i++) {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}: ${stderr}`);
        try {
          await peer.call(i, '{}');
          break;
        } catch {
          if (performance.now() > deadline) throw new Error(`workerd did not answer within 30 s: ${stderr}`);
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    }
    (peer as { startMs: number }).startMs = performance.now() - t0;
    return peer;
  }

  /** One call to worker `i` over its HTTP socket; the response body. */
  async call(i: number, body: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.ports[i]}/`, { method: 'POST', body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`workerd worker ${i} answered ${res.status}: ${text.slice(0, 200)}`);
    return text;
  }

  /** Through the loader: a new worker named `id` is created from code on first use. */
  async coldCall(id: string, body: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.ports[this.workers]}/?id=${encodeURIComponent(id)}`, { method: 'POST', body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`workerd loader answered ${res.status}: ${text.slice(0, 200)}`);
    return text;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
