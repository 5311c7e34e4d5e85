/**
 * What survives a restart of a function: its `context.env`, the marker of the last
 * input it handled and, on Redis Cluster, an output still to be written. Stored as JSON
 * under `Keys.state(name)`; read back through one schema, so a tampered or foreign value
 * is refused (`STATE_INVALID`, the function is quarantined) rather than trusted.
 *
 * @example
 * const raw = encodeState({ ...EMPTY_STATE, env: '{"n":1}' });
 * decodeState(raw).env; // '{"n":1}'
 */
import { z } from 'zod';
import { DEFAULT_SANDBOX_LIMITS } from '../sandbox/limits.js';
import { RedletError } from './errors.js';

/** Largest stored `context.env` JSON accepted back: the sandbox's own cap. */
export const MAX_STORED_ENV_BYTES = DEFAULT_SANDBOX_LIMITS.maxEnvBytes;

const NOT_PENDING = 'pending is not {key, value}';

const stateSchema = z.strictObject(
  {
    /** context.env: a JSON object, kept as its JSON text. */
    env: z
      .record(z.string(), z.unknown(), { error: 'env is not a JSON object' })
      .optional()
      .transform((env) => (env === undefined ? '{}' : JSON.stringify(env))),
    /** Marker (hash) of the last input handled; change detection compares against it. */
    lastSeen: z.string({ error: 'lastSeen is not a string' }).nullable().default(null),
    /** Definition revision that handled it: a new revision handles the same input once more. */
    revision: z.string({ error: 'revision is not a string' }).nullable().default(null),
    lastExecution: z.number({ error: 'lastExecution is not a number' }).nullable().default(null),
    /**
     * Redis Cluster, output key in another slot than the state: the output committed with
     * this state (fenced, in the state's slot) and written to its key right after. Whoever
     * runs the function next makes sure the key holds it, so a crash between the two
     * writes loses no output. Absent everywhere else.
     */
    pending: z
      .object({ key: z.string({ error: NOT_PENDING }), value: z.string({ error: NOT_PENDING }) }, { error: NOT_PENDING })
      .nullable()
      .optional(),
  },
  {
    // Only the object's own problems land here; each field words its own.
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field '${issue.keys[0]}'` : 'not a JSON object'),
  },
);

/** What survives a restart, stored as JSON under `Keys.state(name)`. */
export type PersistedState = z.output<typeof stateSchema>;

export const EMPTY_STATE: PersistedState = { env: '{}', lastSeen: null, revision: null, lastExecution: null };

export function encodeState(s: PersistedState): string {
  // env is already JSON text: splice it in rather than parse and re-serialize it.
  const pending = s.pending ? `,"pending":${JSON.stringify(s.pending)}` : '';
  return `{"lastSeen":${JSON.stringify(s.lastSeen)},"revision":${JSON.stringify(s.revision)},"lastExecution":${JSON.stringify(s.lastExecution)}${pending},"env":${s.env}}`;
}

/**
 * Parses and checks a stored state (null: none stored yet, the empty state). Throws
 * `STATE_INVALID` saying what is wrong.
 */
export function decodeState(raw: string | null): PersistedState {
  if (raw === null) return { ...EMPTY_STATE };
  const refuse = (why: string) => new RedletError('STATE_INVALID', `stored state refused: ${why}`, { kind: 'system' });
  if (Buffer.byteLength(raw, 'utf8') > MAX_STORED_ENV_BYTES + 4096) throw refuse(`over ${MAX_STORED_ENV_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw refuse('not valid JSON');
  }
  const r = stateSchema.safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw refuse(issue?.message ?? 'not a state');
  }
  if (Buffer.byteLength(r.data.env, 'utf8') > MAX_STORED_ENV_BYTES) throw refuse(`env is over ${MAX_STORED_ENV_BYTES} bytes`);
  return r.data;
}
