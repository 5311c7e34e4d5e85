/**
 * The only module that reads `process.env`. It turns the environment into one typed,
 * validated `RuntimeConfig`: each variable is read through its schema in
 * config-schema.ts (default, limits, message); the rules that span several variables
 * (one way to reach Redis, one source of code, the token) are checked here. A missing or
 * invalid value becomes a ConfigError whose message is one line a person can act on (the
 * CLI prints it and exits 1).
 *
 * @example
 * const config = loadConfig(process.env);
 * config.redis; // null: the embedded store
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pid } from 'node:process';
import { RedletError } from './errors.js';
import { DEFAULT_FUNCTION_FILES, isPythonFilename, PYTHON_DEFAULT_MEMORY_MB } from './code-files.js';
import { DEFAULT_PERIOD_SECONDS, parseVar, type EnvName, type EnvValue, type HostPort } from './config-schema.js';
import { LIMITS } from './function-definition.js';
import { DEFAULT_PREFIX } from './keys.js';
import { isPublicSecret, MAKE_A_SECRET } from './public-secrets.js';

export type { HostPort } from './config-schema.js';

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

/** The single function the course-compatible env variables describe. */
export interface CompatConfig {
  name: string;
  inputKey: string;
  outputKey: string | null;
  periodSeconds: number;
  handler: string;
  trigger: EnvValue<'FUNCTION_TRIGGER'>;
  invokeOn: EnvValue<'FUNCTION_INVOKE_ON'>;
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
  logLevel: EnvValue<'LOG_LEVEL'>;
  /** LOG_FORMAT: `pretty` (readable lines), `json`, or `auto` (pretty on a terminal). */
  logFormat: EnvValue<'LOG_FORMAT'>;
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
  sandbox: { mode: EnvValue<'REDLET_SANDBOX'>; workers: number };
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

/** One variable, read through its schema (config-schema.ts); a bad value is a ConfigError. */
function read<K extends EnvName>(env: Env, name: K): EnvValue<K> {
  const r = parseVar(name, env[name]);
  if (!r.ok) throw new ConfigError(r.message);
  return r.value;
}

/** REDIS_CLUSTER_NODES or REDIS_SENTINELS; null when neither is set. */
function shardedFrom(env: Env, tls: boolean): RedisConfig | null {
  const clusterSet = isSet(env, 'REDIS_CLUSTER_NODES');
  const sentinelsSet = isSet(env, 'REDIS_SENTINELS');
  if (!clusterSet && !sentinelsSet) return null;
  if (clusterSet && sentinelsSet)
    throw new ConfigError('set only one of REDIS_CLUSTER_NODES (Redis Cluster) and REDIS_SENTINELS (Redis Sentinel)');
  const single = (['REDIS_URL', 'REDIS_HOST'] as const).filter((k) => isSet(env, k));
  if (single.length > 0) {
    throw new ConfigError(
      `set only one way to reach Redis: ${clusterSet ? 'REDIS_CLUSTER_NODES' : 'REDIS_SENTINELS'} or ${single.join(' and ')}`,
    );
  }
  const auth = { username: read(env, 'REDIS_USERNAME') ?? null, password: read(env, 'REDIS_PASSWORD'), tls };
  const describe = (n: HostPort) => `${tls ? 'rediss' : 'redis'}://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
  if (clusterSet) {
    const nodes = read(env, 'REDIS_CLUSTER_NODES')!;
    return { url: describe(nodes[0]!), host: nodes[0]!.host, port: nodes[0]!.port, cluster: { nodes }, ...auth };
  }
  const sentinels = read(env, 'REDIS_SENTINELS')!;
  const name = read(env, 'REDIS_SENTINEL_NAME');
  if (!name)
    throw new ConfigError("REDIS_SENTINELS needs REDIS_SENTINEL_NAME: the name the sentinels monitor the primary under (e.g. 'mymaster')");
  return {
    url: describe(sentinels[0]!),
    host: sentinels[0]!.host,
    port: sentinels[0]!.port,
    sentinel: { sentinels, name, password: read(env, 'REDIS_SENTINEL_PASSWORD') },
    ...auth,
  };
}

/** Set to something other than blanks. */
function isSet(env: Env, name: EnvName): boolean {
  return env[name] !== undefined && env[name]!.trim() !== '';
}

function redisFrom(env: Env): RedisConfig | null {
  const tls = read(env, 'REDIS_TLS');
  const sharded = shardedFrom(env, tls);
  if (sharded) return sharded;
  const url = read(env, 'REDIS_URL');
  if (url) return url;
  const host = read(env, 'REDIS_HOST');
  if (!host) return null;
  const port = read(env, 'REDIS_PORT');
  const username = read(env, 'REDIS_USERNAME');
  const password = read(env, 'REDIS_PASSWORD');
  const user = username ? encodeURIComponent(username) : '';
  const credentials = password ? `${user}:${encodeURIComponent(password)}@` : user ? `${user}@` : '';
  return { url: `${tls ? 'rediss' : 'redis'}://${credentials}${host.includes(':') ? `[${host}]` : host}:${port}`, host, port };
}

/** A DNS-label name from a file name: `User_Module.js` -> `user-module`. */
export function nameFromFile(path: string): string {
  const stem = (path.split('/').pop() ?? 'function').replace(/\.[^.]*$/, '');
  const label = stem
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, LIMITS.nameLength)
    .replace(/^-+|-+$/g, '');
  return label || 'function';
}

function compatFrom(
  env: Env,
  defaults: RuntimeConfig['defaults'],
  warnings: string[],
  fileExists: (p: string) => boolean,
): CompatConfig | null {
  const set = (k: EnvName) => isSet(env, k);
  const defaultFile = set('FUNCTION_FILE') ? null : (DEFAULT_FUNCTION_FILES.find((p) => fileExists(p)) ?? null);
  const active =
    (['REDIS_INPUT_KEY', 'FUNCTION_FILE', 'FUNCTION_ZIP', 'ZIP_URL', 'HANDLER_FUNCTION'] as const).some(set) || defaultFile !== null;
  if (!active) return null;

  const sources = (['FUNCTION_FILE', 'FUNCTION_ZIP', 'ZIP_URL'] as const).filter(set);
  if (sources.length > 1) throw new ConfigError(`set only one of FUNCTION_FILE, FUNCTION_ZIP, ZIP_URL (got ${sources.join(' and ')})`);
  const file = read(env, 'FUNCTION_FILE') ?? (sources.length === 0 ? defaultFile : null);
  const zipPath = read(env, 'FUNCTION_ZIP') ?? null;
  if (!file && !zipPath && !set('ZIP_URL')) {
    throw new ConfigError(
      `no function code: set FUNCTION_FILE (a .js/.ts/.py file), FUNCTION_ZIP (a .zip path) or ZIP_URL, or mount the code at ${DEFAULT_FUNCTION_FILES.join(' or ')}`,
    );
  }
  const zipUrl = read(env, 'ZIP_URL') ?? null;

  const outputKey = read(env, 'REDIS_OUTPUT_KEY') ?? null;
  if (!outputKey) warnings.push('REDIS_OUTPUT_KEY is not set: the function runs but its results are not written anywhere');
  // The course's variable wins over the older name, even when set blank (then: the default).
  const periodSeconds = env.MONITORING_PERIOD !== undefined ? read(env, 'MONITORING_PERIOD') : read(env, 'INTERVAL');
  // A name from the file is checked like a given one (a file name can make a poor label).
  const name = read(env, 'FUNCTION_NAME') ?? nameFromFile(file ?? zipPath ?? new URL(zipUrl!).pathname);
  const named = parseVar('FUNCTION_NAME', name);
  if (!named.ok) throw new ConfigError(named.message);
  return {
    name,
    inputKey: read(env, 'REDIS_INPUT_KEY'),
    outputKey,
    periodSeconds,
    handler: read(env, 'HANDLER_FUNCTION'),
    trigger: read(env, 'FUNCTION_TRIGGER'),
    invokeOn: read(env, 'FUNCTION_INVOKE_ON'),
    memoryMb:
      read(env, 'FUNCTION_MEMORY_MB') ??
      (file && isPythonFilename(file) ? Math.max(defaults.memoryMb, PYTHON_DEFAULT_MEMORY_MB) : defaults.memoryMb),
    timeoutMs: read(env, 'FUNCTION_TIMEOUT_MS') ?? defaults.timeoutMs,
    file,
    zipPath,
    zipUrl,
    zipUrlMaxBytes: read(env, 'ZIP_URL_MAX_BYTES'),
  };
}

function authFrom(env: Env, readText: (p: string) => string): AuthConfig {
  let token = read(env, 'REDLET_API_TOKEN') ?? null;
  const file = read(env, 'REDLET_API_TOKEN_FILE');
  if (token && file) throw new ConfigError('set only one of REDLET_API_TOKEN and REDLET_API_TOKEN_FILE');
  if (file) {
    token = tokenFromFile(file, readText);
    if (!token) throw new ConfigError(`REDLET_API_TOKEN_FILE=${file} is empty`);
  }
  if (token !== null && token.length < 16)
    throw new ConfigError('the API token must be at least 16 characters (REDLET_API_TOKEN / REDLET_API_TOKEN_FILE)');
  // With a token, reads (env, code, outputs, logs) need sign-in too unless a public
  // read-only dashboard is asked for; REDLET_PROTECT_READS, when set, decides alone.
  const publicReads = read(env, 'REDLET_PUBLIC_READS');
  const protect = read(env, 'REDLET_PROTECT_READS');
  if (publicReads && protect === true) throw new ConfigError('set only one of REDLET_PUBLIC_READS and REDLET_PROTECT_READS');
  return { token, protectReads: protect ?? (token !== null && !publicReads) };
}

/** The token a file holds (a mounted Secret), trimmed; null when it is empty. */
function tokenFromFile(file: string, readText: (p: string) => string): string | null {
  try {
    return readText(file).trim() || null;
  } catch (err) {
    throw new ConfigError(
      `REDLET_API_TOKEN_FILE=${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
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
    memoryMb: read(env, 'REDLET_DEFAULT_MEMORY_MB'),
    timeoutMs: read(env, 'REDLET_DEFAULT_TIMEOUT_MS'),
    periodSeconds: DEFAULT_PERIOD_SECONDS,
    maxOutputBytes: read(env, 'REDLET_MAX_OUTPUT_BYTES'),
  };
  const prefix = read(env, 'REDLET_PREFIX');
  const extraReserved = read(env, 'REDLET_RESERVED_PREFIXES');
  const allowed = read(env, 'REDLET_FUNCTION_KEYS');
  const functionKeys = { reserved: [...new Set([prefix, DEFAULT_PREFIX, ...extraReserved])], allowed: allowed.length ? allowed : null };
  const redis = redisFrom(env);
  const compat = compatFrom(env, defaults, warnings, fileExists);
  // With no Redis there is no agent writing metrics and no user function yet: run the demo.
  const demo = read(env, 'REDLET_DEMO') ?? (redis === null && compat === null);
  const auth = authFrom(env, readText);
  refusePublicSecrets(env, auth.token);
  return {
    redis,
    prefix,
    functionKeys,
    http: { port: read(env, 'PORT'), host: read(env, 'HOST'), maxBodyBytes: read(env, 'REDLET_MAX_BODY_BYTES') },
    logLevel: read(env, 'LOG_LEVEL'),
    logFormat: read(env, 'LOG_FORMAT'),
    defaults,
    compat,
    auth,
    collector: {
      enabled: read(env, 'REDLET_COLLECT') ?? redis === null,
      key: read(env, 'REDLET_COLLECT_KEY') || compat?.inputKey || 'metrics',
      intervalMs: Math.round(read(env, 'REDLET_COLLECT_INTERVAL') * 1000),
      netInterface: read(env, 'REDLET_NET_INTERFACE'),
    },
    demo,
    watchFiles: read(env, 'REDLET_WATCH_FILES'),
    dashboardFunction: read(env, 'REDLET_DASHBOARD_FUNCTION') || compat?.name || 'course-reference',
    warnings,
    sandbox: { mode: read(env, 'REDLET_SANDBOX'), workers: read(env, 'REDLET_SANDBOX_WORKERS') },
    cluster:
      (read(env, 'REDLET_CLUSTER') ?? redis !== null) && redis !== null
        ? {
            replicaId: read(env, 'REDLET_REPLICA_ID') || `${read(env, 'HOSTNAME') || hostname()}-${pid}`,
            leaseMs: read(env, 'REDLET_LEASE_MS'),
          }
        : null,
    drainMs: read(env, 'REDLET_DRAIN_MS'),
    shutdownDelayMs: read(env, 'REDLET_SHUTDOWN_DELAY_MS'),
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
  const token = read(env, 'REDLET_API_TOKEN') ?? null;
  const file = read(env, 'REDLET_API_TOKEN_FILE');
  return { url: read(env, 'REDLET_URL'), token: !token && file ? tokenFromFile(file, readText) : token };
}
