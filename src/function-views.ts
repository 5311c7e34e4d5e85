/**
 * How functions are described to readers (the API, the pages, /metrics): settings,
 * status and isolate statistics, and, with replicas, who runs each one. A function
 * running here is described from its runner; one another replica runs, from the
 * status its owner publishes in Redis. Isolate statistics are cached for a second,
 * since pages poll them for every function.
 *
 * @example
 * const views = new FunctionViews(runtime, sandbox, store, keys, 'local');
 * const all = await views.list(runners);
 */
import { z } from 'zod';
import type { Sandbox, SandboxStats } from '../sandbox/types.js';
import type { FunctionDefinition } from './function-definition.js';
import type { FunctionRunner } from './function-runner.js';
import { statusSnapshotSchema, type StatusSnapshot } from './function-status.js';
import type { Keys } from './keys.js';
import type { Store } from './store/store.js';

/** Everything a reader needs to know about one function. */
export interface FunctionView {
  definition: FunctionDefinition;
  status: StatusSnapshot;
  sandbox: SandboxStats | null;
  /** The replica running it (`local` without replicas); null while nobody does. */
  owner: string | null;
}

const sandboxStatsSchema = z.object({
  heapUsedBytes: z.number(),
  heapLimitBytes: z.number(),
  restarts: z.number(),
  cpuTimeMs: z.number(),
  crashes: z.number().optional(),
  backoffUntil: z.number().nullable().optional(),
  lastCrash: z.string().nullable().optional(),
  workerPid: z.number().optional(),
  dedicatedWorker: z.boolean().optional(),
}) satisfies z.ZodType<SandboxStats>;

/** What an owner publishes about a function for the other replicas (JSON, read back through this schema). */
const sharedStatusSchema = z.object({
  owner: z.string(),
  status: statusSnapshotSchema,
  sandbox: sandboxStatsSchema.nullable(),
});

type SharedStatus = z.output<typeof sharedStatusSchema>;

const STATS_TTL_MS = 1000;

export class FunctionViews {
  private readonly statsCache = new Map<string, { at: number; stats: Promise<SandboxStats | null> }>();

  constructor(
    private readonly where: {
      runsHere(name: string): boolean;
      /** Why Redis cannot be reached now (every function is then in error); null while it answers. */
      outage(): string | null;
      /** Live replicas as last seen (1 without a cluster). */
      replicaCount(): number;
    },
    private readonly sandbox: Sandbox,
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly replicaId: string,
  ) {}

  async view(runner: FunctionRunner): Promise<FunctionView> {
    const name = runner.def.name;
    if (this.where.runsHere(name) || runner.quarantined !== null) return this.local(runner);
    const [raw] = await this.store.mget([this.keys.status(name)]).catch(() => [null]);
    return this.remote(runner, raw ?? null);
  }

  /** Views of many functions, with one MGET for those other replicas run. */
  async list(runners: FunctionRunner[]): Promise<FunctionView[]> {
    const remote = runners.filter((r) => !this.where.runsHere(r.def.name) && r.quarantined === null);
    const raws = remote.length
      ? await this.store.mget(remote.map((r) => this.keys.status(r.def.name))).catch(() => remote.map(() => null))
      : [];
    const shared = new Map(remote.map((r, i) => [r.def.name, raws[i] ?? null]));
    return Promise.all(
      runners.map((r) =>
        this.where.runsHere(r.def.name) || r.quarantined !== null ? this.local(r) : this.remote(r, shared.get(r.def.name) ?? null),
      ),
    );
  }

  /** The JSON this replica publishes about a function it runs. */
  async shared(runner: FunctionRunner): Promise<string> {
    const s: SharedStatus = { owner: this.replicaId, status: runner.status.snapshot(), sandbox: await this.statsOf(runner.def.name) };
    return JSON.stringify(s);
  }

  /** Caches statistics just taken elsewhere (a load returns them), as if read now. */
  prime(name: string, stats: SandboxStats): void {
    this.statsCache.set(name, { at: Date.now(), stats: Promise.resolve(stats) });
  }

  /** Drops cached statistics (the isolate was replaced or removed). */
  forget(name: string): void {
    this.statsCache.delete(name);
  }

  private async local(runner: FunctionRunner): Promise<FunctionView> {
    return {
      definition: { ...runner.def },
      status: this.truthful(runner.status.snapshot(), runner),
      sandbox: await this.statsOf(runner.def.name),
      owner: this.replicaId,
    };
  }

  /** While Redis is unreachable nothing runs, whatever the last tick said: say so. */
  private truthful(status: StatusSnapshot, runner: FunctionRunner): StatusSnapshot {
    const outage = this.where.outage();
    if (outage === null || runner.def.paused) return status;
    return { ...status, state: 'error', running: false, detail: outage };
  }

  /** A function another replica runs: its owner's published status, or "no owner yet". */
  private remote(runner: FunctionRunner, raw: string | null): FunctionView {
    const shared = parseShared(raw);
    if (shared)
      return { definition: { ...runner.def }, status: this.truthful(shared.status, runner), sandbox: shared.sandbox, owner: shared.owner };
    const status = runner.status.snapshot();
    // With one replica there is no one else to wait for: it is about to start here.
    const detail = this.where.replicaCount() > 1 ? 'waiting for a replica to take it' : 'starting';
    return {
      definition: { ...runner.def },
      status: this.truthful({ ...status, state: runner.def.paused ? 'paused' : 'idle', running: false, detail }, runner),
      sandbox: null,
      owner: null,
    };
  }

  /** Isolate statistics, cached briefly: one heap query per function per second at most. */
  private statsOf(name: string): Promise<SandboxStats | null> {
    const now = Date.now();
    const hit = this.statsCache.get(name);
    if (hit && now - hit.at < STATS_TTL_MS) return hit.stats;
    const stats = this.sandbox.stats(name).catch(() => null);
    this.statsCache.set(name, { at: now, stats });
    return stats;
  }
}

/** A published status, or null when there is none or it is not one (then the function shows as waiting for an owner). */
function parseShared(raw: string | null): SharedStatus | null {
  if (!raw) return null;
  try {
    const r = sharedStatusSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
