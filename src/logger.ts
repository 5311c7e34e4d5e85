/**
 * Structured logging (pino): one JSON line per event, which is what log collectors in
 * a cluster expect. The level comes from the config.
 *
 * @example
 * const log = createLogger('info');
 * log.info({ function: 'avg' }, 'registered');
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = { level, base: { service: 'redlet' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination as any) : pino(opts);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
