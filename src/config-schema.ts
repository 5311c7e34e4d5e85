/**
 * Every environment variable redlet reads, as a zod schema holding its default, its
 * limits and its error messages; the value types config.ts works with are inferred from
 * these. A function's limits (memory, time, period, name) come from
 * function-definition.ts, so `FUNCTION_MEMORY_MB` and the API's `memoryMb` obey one rule.
 * config.ts reads each variable through its schema (`readVar`) and checks the rules that
 * span several variables.
 *
 * @example
 * ENV.PORT.parse(undefined); // 8080
 * ENV.REDIS_TLS.parse('yes'); // true
 */
import { z } from 'zod';
import { INVOKE_ON, LIMITS, memoryMbSchema, NAME_PATTERN, periodSchema, timeoutMsSchema, TRIGGERS } from './function-definition.js';
import { DEFAULT_PREFIX } from './keys.js';
import { intIn, oneOf, onOff } from './schema-fields.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Seconds between polls of functions that do not set a period. */
export const DEFAULT_PERIOD_SECONDS = 5;

const MiB = 1024 * 1024;

/** Text, trimmed; unset when blank. */
const text = () => z.string().trim();
/** A password: kept as written (spaces are allowed in one); unset: null. */
const secret = () => z.string().nullable().default(null);

/** Attached to an issue: what a valid value looks like, said after the value given. */
type Hint = { expected: string };
const issue = (message: string, hint?: Hint) => ({ code: 'custom' as const, message, ...(hint ? { params: hint } : {}) });

/** `host:port,host:port` (IPv6 as `[::1]:port`). */
function hostPorts(label: string, defaultPort: number) {
  const hint = { expected: 'host:port,host:port,...' };
  return text().transform((raw, ctx): HostPort[] => {
    const entries = raw.split(',').map((e) => e.trim());
    if (entries.some((e) => e === '')) {
      ctx.addIssue(issue(`${label} has an empty entry`, hint));
      return z.NEVER;
    }
    const nodes: HostPort[] = [];
    for (const entry of entries) {
      const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d+))?$/.exec(entry);
      const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
      if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
        ctx.addIssue(issue(`${label}: '${entry}' is not host:port`, hint));
        return z.NEVER;
      }
      nodes.push({ host: (m[1] ?? m[2])!, port });
    }
    return nodes;
  });
}

const NOT_A_LABEL = `FUNCTION_NAME must be a DNS label: lowercase letters, digits and '-', at most ${LIMITS.nameLength}`;

/** A key prefix: braces alone would make it empty once Redis Cluster's hash tag is taken out. */
const notOnlyBraces = (p: string) => p.replace(/[{}]/g, '') !== '';

/** A comma-separated list; blank entries dropped. */
const list = () => text().transform((raw) => raw.split(',').flatMap((s) => (s.trim() === '' ? [] : [s.trim()])));

export const ENV = {
  // --- Redis
  REDIS_URL: text()
    .transform((url, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        ctx.addIssue(issue('REDIS_URL is not a URL', { expected: 'redis://host:port' }));
        return z.NEVER;
      }
      if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
        ctx.addIssue(issue('REDIS_URL must start with redis:// or rediss://'));
        return z.NEVER;
      }
      return { url, host: parsed.hostname || 'localhost', port: parsed.port ? Number(parsed.port) : 6379 };
    })
    .optional(),
  REDIS_HOST: text().optional(),
  REDIS_PORT: intIn('REDIS_PORT', 1, 65535).default(6379),
  REDIS_USERNAME: text().optional(),
  REDIS_PASSWORD: secret(),
  REDIS_TLS: onOff('REDIS_TLS').default(false),
  REDIS_CLUSTER_NODES: hostPorts('REDIS_CLUSTER_NODES', 6379).optional(),
  REDIS_SENTINELS: hostPorts('REDIS_SENTINELS', 26379).optional(),
  REDIS_SENTINEL_NAME: text().optional(),
  REDIS_SENTINEL_PASSWORD: secret(),
  REDLET_PREFIX: text().refine(notOnlyBraces, 'REDLET_PREFIX must hold more than braces').default(DEFAULT_PREFIX),
  REDLET_RESERVED_PREFIXES: list()
    .refine((ps) => ps.every(notOnlyBraces), 'REDLET_RESERVED_PREFIXES: a prefix must hold more than braces')
    .default([]),
  REDLET_FUNCTION_KEYS: list().default([]),

  // --- the process
  PORT: intIn('PORT', 0, 65535).default(8080),
  HOST: text().default('0.0.0.0'),
  LOG_LEVEL: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: oneOf('LOG_FORMAT', ['json', 'pretty', 'auto']).default('auto'),
  REDLET_DEFAULT_MEMORY_MB: memoryMbSchema('REDLET_DEFAULT_MEMORY_MB').default(64),
  REDLET_DEFAULT_TIMEOUT_MS: timeoutMsSchema('REDLET_DEFAULT_TIMEOUT_MS').default(5000),
  REDLET_MAX_OUTPUT_BYTES: intIn('REDLET_MAX_OUTPUT_BYTES', 1, 512 * MiB).default(MiB),
  REDLET_MAX_BODY_BYTES: intIn('REDLET_MAX_BODY_BYTES', 1024, 1024 * MiB).default(10 * MiB),
  REDLET_SANDBOX: oneOf('REDLET_SANDBOX', ['process', 'inline']).default('process'),
  REDLET_SANDBOX_WORKERS: intIn('REDLET_SANDBOX_WORKERS', 1, 64).default(2),
  REDLET_DRAIN_MS: intIn('REDLET_DRAIN_MS', 0, 300_000).default(10_000),
  REDLET_SHUTDOWN_DELAY_MS: intIn('REDLET_SHUTDOWN_DELAY_MS', 0, 120_000).default(0),
  REDLET_WATCH_FILES: onOff('REDLET_WATCH_FILES').default(true),

  // --- the compat function (the course's variables)
  REDIS_INPUT_KEY: text().default('metrics'),
  REDIS_OUTPUT_KEY: text().optional(),
  MONITORING_PERIOD: periodSchema('MONITORING_PERIOD').default(DEFAULT_PERIOD_SECONDS),
  INTERVAL: periodSchema('INTERVAL').default(DEFAULT_PERIOD_SECONDS),
  HANDLER_FUNCTION: text().default('handler'),
  FUNCTION_FILE: text().optional(),
  FUNCTION_ZIP: text().optional(),
  ZIP_URL: text()
    .regex(/^https?:\/\//, 'ZIP_URL must be an http:// or https:// URL')
    .optional(),
  ZIP_URL_MAX_BYTES: intIn('ZIP_URL_MAX_BYTES', 1, 1024 * MiB).default(10 * MiB),
  FUNCTION_NAME: text().max(LIMITS.nameLength, NOT_A_LABEL).regex(NAME_PATTERN, NOT_A_LABEL).optional(),
  FUNCTION_TRIGGER: oneOf('FUNCTION_TRIGGER', TRIGGERS).default('poll'),
  FUNCTION_INVOKE_ON: oneOf('FUNCTION_INVOKE_ON', INVOKE_ON).default('change'),
  FUNCTION_MEMORY_MB: memoryMbSchema('FUNCTION_MEMORY_MB').optional(),
  FUNCTION_TIMEOUT_MS: timeoutMsSchema('FUNCTION_TIMEOUT_MS').optional(),

  // --- the API's token and who may read
  REDLET_API_TOKEN: text().optional(),
  REDLET_API_TOKEN_FILE: text().optional(),
  REDLET_PUBLIC_READS: onOff('REDLET_PUBLIC_READS').default(false),
  REDLET_PROTECT_READS: onOff('REDLET_PROTECT_READS').optional(),

  // --- collector, demo, dashboard
  REDLET_COLLECT: onOff('REDLET_COLLECT').optional(),
  REDLET_COLLECT_KEY: text().optional(),
  REDLET_COLLECT_INTERVAL: periodSchema('REDLET_COLLECT_INTERVAL').default(5),
  REDLET_NET_INTERFACE: text().default('eth0'),
  REDLET_DEMO: onOff('REDLET_DEMO').optional(),
  REDLET_DASHBOARD_FUNCTION: text().optional(),

  // --- replicas
  REDLET_CLUSTER: onOff('REDLET_CLUSTER').optional(),
  REDLET_LEASE_MS: intIn('REDLET_LEASE_MS', 500, 60_000).default(5000),
  REDLET_REPLICA_ID: text().optional(),
  HOSTNAME: text().optional(),

  // --- the CLI's client commands
  REDLET_URL: text().default('http://localhost:8080'),
} satisfies Record<string, z.ZodType>;

export type EnvName = keyof typeof ENV;
/** What a variable holds once read: the type its schema gives (undefined: unset, no default). */
export type EnvValue<K extends EnvName> = z.output<(typeof ENV)[K]>;

/**
 * Reads one variable through its schema (blank counts as unset). On a bad value, the
 * one-line message: what is wrong, the value given, and what a valid one looks like.
 */
export function parseVar<K extends EnvName>(
  name: K,
  raw: string | undefined,
): { ok: true; value: EnvValue<K> } | { ok: false; message: string } {
  const r = (ENV[name] as z.ZodType).safeParse(raw === undefined || raw.trim() === '' ? undefined : raw);
  if (r.success) return { ok: true, value: r.data as EnvValue<K> };
  const first = r.error.issues[0];
  const hint = (first as { params?: Partial<Hint> } | undefined)?.params?.expected;
  return { ok: false, message: `${first?.message ?? `${name} is invalid`} (got '${raw}')${hint ? `; expected ${hint}` : ''}` };
}
