/**
 * The only module that reads `process.env`. It turns the environment into one typed,
 * validated `RuntimeConfig`; a missing or invalid value becomes a ConfigError whose
 * message is one line a person can act on (the CLI prints it and exits 1).
 *
 * @example
 * const config = loadConfig(process.env);
 * config.redis; // null: the embedded store
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pid } from 'node:process';
import { z } from 'zod';
import { RedletError } from './errors.js';
import { DEFAULT_FUNCTION_FILES, isPythonFilename, PYTHON_DEFAULT_MEMORY_MB } from './code-files.js';
import { DEFAULT_PREFIX } from './keys.js';
import { isPublicSecret, MAKE_A_SECRET } from './public-secrets.js';

/** The course's mount point of the user module (a `.py` one is picked up the same way, see DEFAULT_FUNCTION_FILES). */
export const DEFAULT_FUNCTION_FILE = DEFAULT_FUNCTION_FILES[0];

export interface RedisConfig {
  /** A single Redis: its URL. Cluster and Sentinel: the first node's, for messages only. */
  url: string;
  /** Host and port as the course's context reports them (Cluster/Sentinel: the first node). */
  host: string;
  port: number;
  /** Redis Cluster (REDIS_CLUSTER_NODES): the seed nodes; the client discovers the rest. */
  cluster?: { nodes: HostPort[] };
  /** Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD). */
  sentinel?: { sentinels: HostPort[]; name: string; password: string | null };
  /** Cluster/Sentinel data nodes' credentials and TLS (a single Redis has them in its URL). */
  username?: string | null;
  password?: string | null;
  tls?: boolean;
}

export interface HostPort {
  host: string;
  port: number;
}

/** The single function the course-compatible env variables describe. */
export interface CompatConfig {
  name: string;
  inputKey: string;
  outputKey: string | null;
  periodSeconds: number;
  handler: string;
  trigger: 'poll' | 'keyspace';
  invokeOn: 'change' | 'always';
  memoryMb: number;
  timeoutMs: number;
  /** Exactly one source of code. */
  file: string | null;
  zipPath: string | null;
  zipUrl: string | null;
  zipUrlMaxBytes: number;
}

export interface RuntimeConfig {
  /** null: the in-process embedded store (no Redis configured). */
  redis: RedisConfig | null;
  prefix: string;
  /**
   * Which keys functions may use: `reserved` holds every prefix of redlet's own keys
   * (this replica's, the default `redlet:`, REDLET_RESERVED_PREFIXES); `allowed` the
   * globs of REDLET_FUNCTION_KEYS (null: any key outside the reserved ones).
   */
  functionKeys: { reserved: string[]; allowed: string[] | null };
  /** `maxBodyBytes`: the largest request body the API accepts (REDLET_MAX_BODY_BYTES). */
  http: { port: number; host: string; maxBodyBytes: number };
  logLevel: string;
  /** LOG_FORMAT: `pretty` (readable lines), `json`, or `auto` (pretty on a terminal). */
  logFormat: 'json' | 'pretty' | 'auto';
  defaults: { memoryMb: number; timeoutMs: number; periodSeconds: number; maxOutputBytes: number };
  compat: CompatConfig | null;
  auth: AuthConfig;
  /** The built-in host-metrics collector (the course agent's job), run inside redlet. */
  collector: { enabled: boolean; key: string; intervalMs: number; netInterface: string };
  /** Register the course reference function at start (the zero-setup demo). */
  demo: boolean;
  /**
   * Reload the configured function when FUNCTION_FILE or FUNCTION_ZIP changes on disk
   * (REDLET_WATCH_FILES, default on): a ConfigMap mounted as a directory is updated in
   * running pods.
   */
  watchFiles: boolean;
  /** Which function's output the dashboard's metrics panel shows. */
  dashboardFunction: string;
  /** Warnings to log once at start (e.g. REDIS_OUTPUT_KEY unset). */
  warnings: string[];
  /** On SIGTERM/SIGINT, how long to wait for invocations in flight before giving up on them. */
  drainMs: number;
  /**
   * On SIGTERM/SIGINT, how long HTTP stays open at least (REDLET_SHUTDOWN_DELAY_MS), with
   * /readyz answering 503: time for Kubernetes to take the pod out of the Service's
   * endpoints before connections are refused. Runs alongside the drain.
   */
  shutdownDelayMs: number;
  /** Where isolates run: `process` (supervised worker processes) or `inline` (this process). */
  sandbox: { mode: 'process' | 'inline'; workers: number };
  /**
   * Replicas sharing one Redis: each function is run by one live replica, which holds
   * its lease. null: this process runs every function (no Redis, or REDLET_CLUSTER=0).
   */
  cluster: { replicaId: string; leaseMs: number } | null;
}

export interface AuthConfig {
  /** The API token; null: no token configured (mutations only from loopback). */
  token: string | null;
  /**
   * Whether reads (list, status, logs, metrics) need the token too: on by default when a
   * token is configured (REDLET_PUBLIC_READS=1 opts into a public read-only dashboard).
   */
  protectReads: boolean;
}

export class ConfigError extends RedletError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, { kind: 'user' });
  }
}

type Env = Record<string, string | undefined>;

const intIn = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const seconds = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number of seconds` })
    .min(0.1, `${name} must be at least 0.1 seconds`)
    .max(86_400, `${name} must be at most 86400 seconds`);

function pick<T>(name: string, schema: z.ZodType<T>, raw: string | undefined, fallback: T): T {
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = schema.safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(`${parsed.error.issues[0]?.message ?? `${name} is invalid`} (got '${raw}')`);
  return parsed.data;
}

function oneOf<T extends string>(name: string, raw: string | undefined, values: readonly T[], fallback: T): T {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim() as T;
  if (!values.includes(v)) throw new ConfigError(`${name} must be one of ${values.join(', ')} (got '${raw}')`);
  return v;
}

/** `host:port,host:port` (IPv6 as `[::1]:port`); one line naming the bad entry otherwise. */
function hostPorts(name: string, raw: string, defaultPort: number): HostPort[] {
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw new ConfigError(`${name} has an empty entry (got '${raw}'); expected host:port,host:port,...`);
  return entries.map((entry) => {
    const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d+))?$/.exec(entry);
    const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
    if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`${name}: '${entry}' is not host:port (got '${raw}'); expected host:port,host:port,...`);
    }
    return { host: (m[1] ?? m[2])!, port };
  });
}

/** REDIS_CLUSTER_NODES or REDIS_SENTINELS; null when neither is set. */
function shardedFrom(env: Env, tls: boolean): RedisConfig | null {
  const clusterRaw = env.REDIS_CLUSTER_NODES?.trim();
  const sentinelsRaw = env.REDIS_SENTINELS?.trim();
  if (!clusterRaw && !sentinelsRaw) return null;
  if (clusterRaw && sentinelsRaw)
    throw new ConfigError('set only one of REDIS_CLUSTER_NODES (Redis Cluster) and REDIS_SENTINELS (Redis Sentinel)');
  const single = [env.REDIS_URL?.trim() ? 'REDIS_URL' : null, env.REDIS_HOST?.trim() ? 'REDIS_HOST' : null].filter((k) => k !== null);
  if (single.length > 0) {
    throw new ConfigError(
      `set only one way to reach Redis: ${clusterRaw ? 'REDIS_CLUSTER_NODES' : 'REDIS_SENTINELS'} or ${single.join(' and ')}`,
    );
  }
  const auth = { username: env.REDIS_USERNAME?.trim() || null, password: env.REDIS_PASSWORD || null, tls };
  const describe = (n: HostPort) => `${tls ? 'rediss' : 'redis'}://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
  if (clusterRaw) {
    const nodes = hostPorts('REDIS_CLUSTER_NODES', clusterRaw, 6379);
    return { url: describe(nodes[0]!), host: nodes[0]!.host, port: nodes[0]!.port, cluster: { nodes }, ...auth };
  }
  const sentinels = hostPorts('REDIS_SENTINELS', sentinelsRaw!, 26379);
  const name = env.REDIS_SENTINEL_NAME?.trim();
  if (!name)
    throw new ConfigError("REDIS_SENTINELS needs REDIS_SENTINEL_NAME: the name the sentinels monitor the primary under (e.g. 'mymaster')");
  return {
    url: describe(sentinels[0]!),
    host: sentinels[0]!.host,
    port: sentinels[0]!.port,
    sentinel: { sentinels, name, password: env.REDIS_SENTINEL_PASSWORD || null },
    ...auth,
  };
}

function redisFrom(env: Env): RedisConfig | null {
  const tlsRaw = env.REDIS_TLS?.trim().toLowerCase();
  if (tlsRaw && !['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'].includes(tlsRaw)) {
    throw new ConfigError(`REDIS_TLS must be 1/true/yes/on or 0/false/no/off (got '${env.REDIS_TLS}')`);
  }
  const tls = ['1', 'true', 'yes', 'on'].includes(tlsRaw ?? '');
  const sharded = shardedFrom(env, tls);
  if (sharded) return sharded;
  const url = env.REDIS_URL?.trim();
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`REDIS_URL is not a URL (got '${url}'); expected redis://host:port`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new ConfigError(`REDIS_URL must start with redis:// or rediss:// (got '${url}')`);
    }
    return { url, host: parsed.hostname || 'localhost', port: parsed.port ? Number(parsed.port) : 6379 };
  }
  const host = env.REDIS_HOST?.trim();
  if (!host) return null;
  const port = pick('REDIS_PORT', intIn('REDIS_PORT', 1, 65535), env.REDIS_PORT, 6379);
  const user = env.REDIS_USERNAME?.trim() ? encodeURIComponent(env.REDIS_USERNAME.trim()) : '';
  const password = env.REDIS_PASSWORD ? `${user}:${encodeURIComponent(env.REDIS_PASSWORD)}@` : user ? `${user}@` : '';
  return { url: `${tls ? 'rediss' : 'redis'}://${password}${host.includes(':') ? `[${host}]` : host}:${port}`, host, port };
}

/** A DNS-label name from a file name: `User_Module.js` -> `user-module`. */
export function nameFromFile(path: string): string {
  const stem = (path.split('/').pop() ?? 'function').replace(/\.[^.]*$/, '');
  const label = stem
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return label || 'function';
}

function compatFrom(
  env: Env,
  defaults: RuntimeConfig['defaults'],
  warnings: string[],
  fileExists: (p: string) => boolean,
): CompatConfig | null {
  const set = (k: string) => env[k] !== undefined && env[k]!.trim() !== '';
  const defaultFile = set('FUNCTION_FILE') ? null : (DEFAULT_FUNCTION_FILES.find((p) => fileExists(p)) ?? null);
  const active = ['REDIS_INPUT_KEY', 'FUNCTION_FILE', 'FUNCTION_ZIP', 'ZIP_URL', 'HANDLER_FUNCTION'].some(set) || defaultFile !== null;
  if (!active) return null;

  const sources = ['FUNCTION_FILE', 'FUNCTION_ZIP', 'ZIP_URL'].filter(set);
  if (sources.length > 1) throw new ConfigError(`set only one of FUNCTION_FILE, FUNCTION_ZIP, ZIP_URL (got ${sources.join(' and ')})`);
  const file = set('FUNCTION_FILE') ? env.FUNCTION_FILE!.trim() : sources.length === 0 ? defaultFile : null;
  const zipPath = set('FUNCTION_ZIP') ? env.FUNCTION_ZIP!.trim() : null;
  const zipUrl = set('ZIP_URL') ? env.ZIP_URL!.trim() : null;
  if (!file && !zipPath && !zipUrl) {
    throw new ConfigError(
      `no function code: set FUNCTION_FILE (a .js/.ts/.py file), FUNCTION_ZIP (a .zip path) or ZIP_URL, or mount the code at ${DEFAULT_FUNCTION_FILES.join(' or ')}`,
    );
  }
  if (zipUrl && !/^https?:\/\//.test(zipUrl)) throw new ConfigError(`ZIP_URL must be an http:// or https:// URL (got '${zipUrl}')`);

  const outputKey = env.REDIS_OUTPUT_KEY?.trim() || null;
  if (!outputKey) warnings.push('REDIS_OUTPUT_KEY is not set: the function runs but its results are not written anywhere');
  const periodRaw = env.MONITORING_PERIOD ?? env.INTERVAL;
  const periodName = env.MONITORING_PERIOD !== undefined ? 'MONITORING_PERIOD' : 'INTERVAL';
  const name = env.FUNCTION_NAME?.trim() || nameFromFile(file ?? zipPath ?? new URL(zipUrl!).pathname);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new ConfigError(`FUNCTION_NAME must be a DNS label: lowercase letters, digits and '-', at most 63 (got '${name}')`);
  }
  return {
    name,
    inputKey: env.REDIS_INPUT_KEY?.trim() || 'metrics',
    outputKey,
    periodSeconds: pick(periodName, seconds(periodName), periodRaw, defaults.periodSeconds),
    handler: env.HANDLER_FUNCTION?.trim() || 'handler',
    trigger: oneOf('FUNCTION_TRIGGER', env.FUNCTION_TRIGGER, ['poll', 'keyspace'] as const, 'poll'),
    invokeOn: oneOf('FUNCTION_INVOKE_ON', env.FUNCTION_INVOKE_ON, ['change', 'always'] as const, 'change'),
    memoryMb: pick(
      'FUNCTION_MEMORY_MB',
      intIn('FUNCTION_MEMORY_MB', 8, 1024),
      env.FUNCTION_MEMORY_MB,
      file && isPythonFilename(file) ? Math.max(defaults.memoryMb, PYTHON_DEFAULT_MEMORY_MB) : defaults.memoryMb,
    ),
    timeoutMs: pick('FUNCTION_TIMEOUT_MS', intIn('FUNCTION_TIMEOUT_MS', 1, 60_000), env.FUNCTION_TIMEOUT_MS, defaults.timeoutMs),
    file,
    zipPath,
    zipUrl,
    zipUrlMaxBytes: pick('ZIP_URL_MAX_BYTES', intIn('ZIP_URL_MAX_BYTES', 1, 1 << 30), env.ZIP_URL_MAX_BYTES, 10 * 1024 * 1024),
  };
}

function authFrom(env: Env, readText: (p: string) => string): AuthConfig {
  let token = env.REDLET_API_TOKEN?.trim() || null;
  const file = env.REDLET_API_TOKEN_FILE?.trim();
  if (token && file) throw new ConfigError('set only one of REDLET_API_TOKEN and REDLET_API_TOKEN_FILE');
  if (file) {
    try {
      token = readText(file).trim() || null;
    } catch (err) {
      throw new ConfigError(
        `REDLET_API_TOKEN_FILE=${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    if (!token) throw new ConfigError(`REDLET_API_TOKEN_FILE=${file} is empty`);
  }
  if (token !== null && token.length < 16)
    throw new ConfigError('the API token must be at least 16 characters (REDLET_API_TOKEN / REDLET_API_TOKEN_FILE)');
  // With a token, reads (env, code, outputs, logs) need sign-in too unless a public
  // read-only dashboard is asked for; REDLET_PROTECT_READS, when set, decides alone.
  const yes = (v: string | undefined) => ['1', 'true', 'yes', 'on'].includes(v?.trim().toLowerCase() ?? '');
  const no = (v: string | undefined) => ['0', 'false', 'no', 'off'].includes(v?.trim().toLowerCase() ?? '');
  const publicReads = yes(env.REDLET_PUBLIC_READS);
  if (publicReads && yes(env.REDLET_PROTECT_READS)) throw new ConfigError('set only one of REDLET_PUBLIC_READS and REDLET_PROTECT_READS');
  const protectReads = yes(env.REDLET_PROTECT_READS) || (token !== null && !publicReads && !no(env.REDLET_PROTECT_READS));
  return { token, protectReads };
}

/**
 * Refuses the example secrets published with redlet (src/public-secrets.ts): with one
 * of them, anyone who can reach the API (or Redis) could register code.
 */
function refusePublicSecrets(env: Env, token: string | null): void {
  const used: string[] = [];
  if (token !== null && isPublicSecret(token)) used.push(env.REDLET_API_TOKEN_FILE?.trim() ? 'REDLET_API_TOKEN_FILE' : 'REDLET_API_TOKEN');
  if (env.REDIS_PASSWORD && isPublicSecret(env.REDIS_PASSWORD)) used.push('REDIS_PASSWORD');
  const url = env.REDIS_URL?.trim();
  const urlPassword = url && URL.canParse(url) ? new URL(url).password : '';
  if (urlPassword && isPublicSecret(safeDecode(urlPassword))) used.push('the password in REDIS_URL');
  if (used.length === 0) return;
  throw new ConfigError(
    `${used.join(' and ')}: ${used.length > 1 ? 'these are the example values' : 'this is the example value'} published with redlet, known to anyone; make your own (e.g. \`${MAKE_A_SECRET}\`; on Kubernetes see docs/kubernetes.md, "Secrets")`,
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Reads and validates the whole configuration. Throws ConfigError with a one-line message. */
export function loadConfig(
  env: Env = process.env,
  fileExists: (p: string) => boolean = existsSync,
  readText: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): RuntimeConfig {
  const warnings: string[] = [];
  const defaults = {
    memoryMb: pick('REDLET_DEFAULT_MEMORY_MB', intIn('REDLET_DEFAULT_MEMORY_MB', 8, 1024), env.REDLET_DEFAULT_MEMORY_MB, 64),
    timeoutMs: pick('REDLET_DEFAULT_TIMEOUT_MS', intIn('REDLET_DEFAULT_TIMEOUT_MS', 1, 60_000), env.REDLET_DEFAULT_TIMEOUT_MS, 5000),
    periodSeconds: 5,
    maxOutputBytes: pick(
      'REDLET_MAX_OUTPUT_BYTES',
      intIn('REDLET_MAX_OUTPUT_BYTES', 1, 512 * 1024 * 1024),
      env.REDLET_MAX_OUTPUT_BYTES,
      1024 * 1024,
    ),
  };
  const prefix = env.REDLET_PREFIX?.trim() || DEFAULT_PREFIX;
  if (prefix.replace(/[{}]/g, '') === '') throw new ConfigError(`REDLET_PREFIX must hold more than braces (got '${prefix}')`);
  const list = (raw: string | undefined) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const extraReserved = list(env.REDLET_RESERVED_PREFIXES);
  if (extraReserved.some((p) => p.replace(/[{}]/g, '') === ''))
    throw new ConfigError(`REDLET_RESERVED_PREFIXES: a prefix must hold more than braces (got '${env.REDLET_RESERVED_PREFIXES}')`);
  const allowedKeys = list(env.REDLET_FUNCTION_KEYS);
  const functionKeys = {
    reserved: [...new Set([prefix, DEFAULT_PREFIX, ...extraReserved])],
    allowed: allowedKeys.length ? allowedKeys : null,
  };
  const redis = redisFrom(env);
  const compat = compatFrom(env, defaults, warnings, fileExists);
  const flag = (name: string, fallback: boolean) => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new ConfigError(`${name} must be 1/true/yes/on or 0/false/no/off (got '${env[name]}')`);
  };
  // With no Redis there is no agent writing metrics and no user function yet: run the demo.
  const demo = flag('REDLET_DEMO', redis === null && compat === null);
  const auth = authFrom(env, readText);
  refusePublicSecrets(env, auth.token);
  return {
    redis,
    prefix,
    functionKeys,
    http: {
      port: pick('PORT', intIn('PORT', 0, 65535), env.PORT, 8080),
      host: env.HOST?.trim() || '0.0.0.0',
      maxBodyBytes: pick(
        'REDLET_MAX_BODY_BYTES',
        intIn('REDLET_MAX_BODY_BYTES', 1024, 1 << 30),
        env.REDLET_MAX_BODY_BYTES,
        10 * 1024 * 1024,
      ),
    },
    logLevel: oneOf('LOG_LEVEL', env.LOG_LEVEL, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    logFormat: oneOf('LOG_FORMAT', env.LOG_FORMAT, ['json', 'pretty', 'auto'] as const, 'auto'),
    defaults,
    compat,
    auth,
    collector: {
      enabled: flag('REDLET_COLLECT', redis === null),
      key: env.REDLET_COLLECT_KEY?.trim() || compat?.inputKey || 'metrics',
      intervalMs: Math.round(pick('REDLET_COLLECT_INTERVAL', seconds('REDLET_COLLECT_INTERVAL'), env.REDLET_COLLECT_INTERVAL, 5) * 1000),
      netInterface: env.REDLET_NET_INTERFACE?.trim() || 'eth0',
    },
    demo,
    watchFiles: flag('REDLET_WATCH_FILES', true),
    dashboardFunction: env.REDLET_DASHBOARD_FUNCTION?.trim() || compat?.name || 'course-reference',
    warnings,
    sandbox: {
      mode: oneOf('REDLET_SANDBOX', env.REDLET_SANDBOX, ['process', 'inline'] as const, 'process'),
      workers: pick('REDLET_SANDBOX_WORKERS', intIn('REDLET_SANDBOX_WORKERS', 1, 64), env.REDLET_SANDBOX_WORKERS, 2),
    },
    cluster:
      flag('REDLET_CLUSTER', redis !== null) && redis !== null
        ? {
            replicaId: env.REDLET_REPLICA_ID?.trim() || `${env.HOSTNAME?.trim() || hostname()}-${pid}`,
            leaseMs: pick('REDLET_LEASE_MS', intIn('REDLET_LEASE_MS', 500, 60_000), env.REDLET_LEASE_MS, 5000),
          }
        : null,
    drainMs: pick('REDLET_DRAIN_MS', intIn('REDLET_DRAIN_MS', 0, 300_000), env.REDLET_DRAIN_MS, 10_000),
    shutdownDelayMs: pick('REDLET_SHUTDOWN_DELAY_MS', intIn('REDLET_SHUTDOWN_DELAY_MS', 0, 120_000), env.REDLET_SHUTDOWN_DELAY_MS, 0),
  };
}

/** Where the CLI's client commands (`redlet deploy`, `list`, ...) find redlet. */
export interface ClientConfig {
  /** Base URL of a running redlet (REDLET_URL). */
  url: string;
  /** API token (REDLET_API_TOKEN, or the content of REDLET_API_TOKEN_FILE); null: none. */
  token: string | null;
}

/**
 * Reads the CLI client's defaults; flags (`--url`, `--token`) override them.
 *
 * @example
 * loadClientConfig({ REDLET_URL: 'http://redlet:8080' }); // { url: 'http://redlet:8080', token: null }
 */
export function loadClientConfig(env: Env = process.env, readText: (p: string) => string = (p) => readFileSync(p, 'utf8')): ClientConfig {
  let token = env.REDLET_API_TOKEN?.trim() || null;
  const file = env.REDLET_API_TOKEN_FILE?.trim();
  if (!token && file) {
    try {
      token = readText(file).trim() || null;
    } catch (err) {
      throw new ConfigError(
        `REDLET_API_TOKEN_FILE=${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  return { url: env.REDLET_URL?.trim() || 'http://localhost:8080', token };
}
