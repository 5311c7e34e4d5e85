/**
 * The `redlet` command line. `redlet` alone prints the help; `redlet start` (what
 * `npm start`, the image and the Kubernetes manifests run) starts the runtime; `redlet collect` only writes host metrics to Redis (the course agent's
 * job); `deploy`, `list`, `invoke`, `logs`, `rm`, ... are clients of a running
 * redlet's API (src/cli-client.ts). Configuration errors print one line and exit 1,
 * never a stack trace.
 *
 * @example
 * await runCli(['start'], { mountUi });
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closest, parseFlags, UsageError } from './cli-args.js';
import { CLIENT_COMMANDS, runClient } from './cli-client.js';
import { COMMAND_NAMES, helpFor, usage } from './cli-help.js';
import { Collector } from './collector/collector.js';
import { ConfigError, loadClientConfig, loadConfig, type ClientConfig, type RuntimeConfig } from './config.js';
import { RedletError } from './errors.js';
import { createLogger } from './logger.js';
import { startRedlet, type RunningRedlet, type StartOptions } from './main.js';
import { packageRoot } from './paths.js';
import { redisStoreOptions } from './store/redis-connection.js';
import { RedisStore } from './store/redis-store.js';

/** Time allowed past the drain for closing the server and Redis. */
const STOP_MARGIN_MS = 5000;

/**
 * `redlet` alone, `--help` and `help` print the overview; `help CMD` and `CMD --help`
 * one command's page; `--version` the version. Everything else is a command.
 */
export async function runCli(argv: string[], opts: StartOptions = {}): Promise<void> {
  const [command, ...rest] = argv;
  const out = (t: string) => process.stdout.write(t);
  if (command === undefined || command === '--help' || command === '-h') return void out(usage(version()));
  if (command === '--version' || command === '-V' || command === 'version') return void out(`redlet ${version()}\n`);
  if (command === 'help') {
    if (rest[0] === undefined) return void out(usage(version()));
    const page = helpFor(rest[0]);
    if (page === null) usageFail(unknownCommand(rest[0]));
    return void out(page);
  }
  if (CLIENT_COMMANDS.has(command)) {
    const code = await runClient(command, rest, {
      config: clientConfig(),
      fetch,
      out,
      err: (t) => process.stderr.write(t),
      readFile: async (p) => new Uint8Array(await readFile(p)),
    });
    process.exitCode = code;
    return;
  }
  if (command !== 'start' && command !== 'collect') usageFail(unknownCommand(command));
  let help: boolean;
  try {
    const { values, positionals } = parseFlags(rest, {}, command);
    if (positionals.length > 0)
      throw new UsageError(
        `'redlet ${command}' takes no arguments (got ${positionals.join(' ')}); it is configured by environment variables`,
      );
    help = values.help === true;
  } catch (err) {
    if (err instanceof UsageError) usageFail(err.message, command);
    throw err;
  }
  if (help) return void out(helpFor(command)!);
  return command === 'start' ? start(opts) : collect();
}

function unknownCommand(command: string): string {
  if (command.startsWith('-')) return `unknown option '${command}'; options go after the command (redlet <command> [options])`;
  const near = closest(command, COMMAND_NAMES);
  return `unknown command '${command}'${near ? `; did you mean '${near}'?` : ''}`;
}

/** A wrong command line: one line, a pointer to the help, exit 2. */
function usageFail(message: string, command?: string): never {
  fail(`${message}\nrun 'redlet help${command ? ` ${command}` : ''}' for ${command ? 'its options' : 'the commands'}`, 2);
}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function config(): RuntimeConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function clientConfig(): ClientConfig {
  try {
    return loadClientConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

async function start(opts: StartOptions): Promise<void> {
  const cfg = config();
  const log = createLogger(cfg.logLevel, undefined, cfg.logFormat);
  // Handlers go in before anything starts: as PID 1 in a container a signal without a
  // handler is ignored, so a pod still starting (e.g. Redis down) would wait for SIGKILL.
  // A signal before startRedlet returns exits at once; an invocation cut short then is
  // not committed (output and state are written together) and runs again at the next start.
  let running: RunningRedlet | null = null;
  onStopSignal(log, async () => running?.stop(), Math.max(cfg.drainMs, cfg.shutdownDelayMs));
  try {
    running = await startRedlet(cfg, log, opts);
  } catch (err) {
    if (err instanceof RedletError && err.kind === 'user') fail(err.message);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`port ${cfg.http.port} is already in use; set PORT to another one`);
    throw err;
  }
}

async function collect(): Promise<void> {
  const cfg = config();
  const log = createLogger(cfg.logLevel, undefined, cfg.logFormat);
  if (!cfg.redis) fail('redlet collect writes to Redis: set REDIS_HOST (and REDIS_PORT) or REDIS_URL');
  const store = new RedisStore(redisStoreOptions(cfg.redis));
  const collector = new Collector({
    intervalMs: cfg.collector.intervalMs,
    netInterface: cfg.collector.netInterface,
    write: (json) => store.set(cfg.collector.key, json),
    log: { warn: (m) => log.warn(m), error: (m, err) => log.error({ err: err instanceof Error ? err.message : err }, m) },
  });
  collector.start();
  log.info({ key: cfg.collector.key, everyMs: cfg.collector.intervalMs, interface: cfg.collector.netInterface }, 'collecting host metrics');
  onStopSignal(
    log,
    async () => {
      await collector.stop();
      await store.close();
    },
    cfg.drainMs,
  );
}

/**
 * SIGTERM (Kubernetes) and SIGINT (Ctrl-C) stop cleanly and exit 0. A repeated signal is
 * ignored (`npm start` forwards Ctrl-C, so the child gets it twice); if stopping hangs
 * past the drain bound (the longer of the drain and the shutdown delay) plus a margin,
 * exit 1 rather than wait for SIGKILL.
 */
function onStopSignal(log: ReturnType<typeof createLogger>, stop: () => Promise<void>, drainMs: number): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      log.info({ signal }, 'signal received while stopping; still stopping');
      return;
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    setTimeout(() => {
      log.error({ afterMs: drainMs + STOP_MARGIN_MS }, 'stopping took too long; exiting');
      process.exit(1);
    }, drainMs + STOP_MARGIN_MS).unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

/** Prints one line and exits: 1 for a failure, 2 for a command line that is wrong. */
export function fail(message: string, exitCode = 1): never {
  process.stderr.write(`redlet: ${message}\n`);
  process.exit(exitCode);
}
