/**
 * Functions' settings, code and state, kept in the store under redlet's prefix so a
 * restarted redlet brings every function back. Writes that belong together go in one
 * atomic batch: a function is registered whole or not at all.
 *
 * @example
 * const registry = new Registry(store, new Keys('redlet:'));
 * await registry.save(def, source);
 * for (const name of await registry.names()) await registry.load(name);
 */
import type { FunctionSource } from '../sandbox/types.js';
import { LIMITS, validateStoredDefinition, type FunctionDefinition, type KeyPolicy } from './function-definition.js';
import { decodeState, encodeState, EMPTY_STATE, type PersistedState } from './persisted-state.js';
import type { Keys } from './keys.js';
import type { Store } from './store/store.js';

export interface StoredFunction {
  def: FunctionDefinition;
  source: FunctionSource;
  state: PersistedState;
  /**
   * Set when what Redis holds fails the API's rules (limits, origin, keys, state
   * shape): the reason. Such a function is listed but never run.
   */
  quarantined?: string;
}

export class Registry {
  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly policy: KeyPolicy = { reserved: [keys.prefix], allowed: null },
  ) {}

  async names(): Promise<string[]> {
    return (await this.store.smembers(this.keys.functions())).sort();
  }

  /** Reads one function; null when it is not (or only partly) stored. */
  async load(name: string): Promise<StoredFunction | null> {
    const [rawDef, code, rawState] = await Promise.all([
      this.store.get(this.keys.definition(name)),
      this.store.getBuffer(this.keys.code(name)),
      this.store.get(this.keys.state(name)),
    ]);
    if (!rawDef || !code) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawDef);
    } catch {
      return quarantine(name, code, `the stored settings are not valid JSON`);
    }
    let def: FunctionDefinition;
    try {
      def = validateStoredDefinition(parsed, name, this.policy);
    } catch (err) {
      return quarantine(name, code, (err as Error).message, parsed);
    }
    const source = sourceOf(def, code);
    let state: PersistedState;
    try {
      state = decodeState(rawState);
    } catch (err) {
      return { def, source, state: { ...EMPTY_STATE }, quarantined: (err as Error).message };
    }
    return { def, source, state };
  }

  /**
   * Stores settings and code (and state, when given) in one atomic write. On Redis
   * Cluster the function set lives in another slot: the function's own keys are written
   * first (one transaction in its slot), then it joins the set, which is what makes it
   * visible. A crash in between leaves keys no one lists; registering again overwrites them.
   */
  async save(def: FunctionDefinition, source: FunctionSource | null, state?: PersistedState): Promise<void> {
    const ops: Parameters<Store['exec']>[0] = [{ op: 'set', key: this.keys.definition(def.name), value: JSON.stringify(def) }];
    if (source)
      ops.push({ op: 'set', key: this.keys.code(def.name), value: source.kind === 'zip' ? Buffer.from(source.data) : source.code });
    if (state) ops.push({ op: 'set', key: this.keys.state(def.name), value: encodeState(state) });
    const join = { op: 'sadd', key: this.keys.functions(), member: def.name } as const;
    if (this.store.sameSlot([this.keys.definition(def.name), this.keys.functions()])) {
      await this.store.exec([...ops, join]);
      return;
    }
    await this.store.exec(ops);
    await this.store.exec([join]);
  }

  /**
   * Moves functions stored under the names used before hash tags (a single Redis or
   * Sentinel written by an older redlet) to the current names. Atomic per function and
   * idempotent, so replicas starting together do no harm; a function already under the
   * current name keeps it and the old copy is dropped. Nothing to do on Cluster (those
   * names never existed there).
   */
  async migrateLegacy(names: string[]): Promise<void> {
    if (this.store.sharded) return;
    for (const name of names) {
      const old = this.keys.legacy(name);
      await this.store.moveUnlessPresent([
        [old.definition, this.keys.definition(name)],
        [old.code, this.keys.code(name)],
        [old.state, this.keys.state(name)],
      ]);
    }
  }

  async saveState(name: string, state: PersistedState): Promise<void> {
    await this.store.set(this.keys.state(name), encodeState(state));
  }

  /** The stored state, checked; throws `STATE_INVALID` when it fails the rules. */
  async loadState(name: string): Promise<PersistedState> {
    return decodeState(await this.store.get(this.keys.state(name)));
  }

  /** The stored state, or null when Redis holds none (never written, or lost with Redis). */
  async storedState(name: string): Promise<PersistedState | null> {
    const raw = await this.store.get(this.keys.state(name));
    return raw === null ? null : decodeState(raw);
  }

  /** Removes a function atomically; on Cluster it first leaves the set (invisible at once), then its keys go. */
  async remove(name: string): Promise<void> {
    const leave = { op: 'srem', key: this.keys.functions(), member: name } as const;
    const own: Parameters<Store['exec']>[0] = [
      { op: 'del', key: this.keys.definition(name) },
      { op: 'del', key: this.keys.code(name) },
      { op: 'del', key: this.keys.state(name) },
    ];
    if (this.store.sameSlot([this.keys.definition(name), this.keys.functions()])) {
      await this.store.exec([leave, ...own]);
      return;
    }
    await this.store.exec([leave]);
    await this.store.exec(own);
  }
}

function sourceOf(def: Pick<FunctionDefinition, 'sourceKind' | 'filename'>, code: Buffer): FunctionSource {
  return def.sourceKind === 'zip'
    ? { kind: 'zip', filename: def.filename, data: new Uint8Array(code) }
    : { kind: 'file', filename: def.filename, code: code.toString('utf8') };
}

/**
 * A stored function that failed validation: a stand-in definition (paused, default
 * settings, no output) so it can be listed and deleted, never run.
 */
function quarantine(name: string, code: Buffer, reason: string, raw?: unknown): StoredFunction {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const filename = typeof r.filename === 'string' && r.filename.length <= LIMITS.filenameLength ? r.filename : 'unknown';
  const at = typeof r.updatedAt === 'number' && Number.isFinite(r.updatedAt) ? r.updatedAt : 0;
  const def: FunctionDefinition = {
    name,
    origin: 'api',
    filename,
    sourceKind: r.sourceKind === 'zip' ? 'zip' : 'file',
    codeUpdatedAt: at,
    createdAt: at,
    updatedAt: at,
    paused: true,
    handler: 'handler',
    inputKey: '(quarantined)',
    outputKey: null,
    trigger: 'poll',
    period: 5,
    invokeOn: 'change',
    memoryMb: LIMITS.memoryMb.min,
    timeoutMs: LIMITS.timeoutMs.min,
  };
  return { def, source: sourceOf(def, code), state: { ...EMPTY_STATE }, quarantined: reason };
}
