/**
 * Structured logging (pino). In a terminal: one coloured, readable line per event
 * (pino-pretty); otherwise one JSON line per event, which is what log collectors in a
 * cluster expect. The level and the format (`LOG_FORMAT=json|pretty`, default: pretty
 * on a TTY) come from the config.
 *
 * @example
 * const log = createLogger('info');
 * log.info({ function: 'avg' }, 'registered');
 */
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

/** `auto`: pretty when stdout is a terminal, JSON otherwise. */
export type LogFormat = 'json' | 'pretty' | 'auto';

export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'auto'): Logger {
  const opts = { level, base: { service: 'redlet' }, timestamp: pino.stdTimeFunctions.isoTime };
  const out = destination ?? process.stdout;
  const isPretty = format === 'pretty' || (format === 'auto' && (out as { isTTY?: boolean }).isTTY === true);
  if (isPretty) return pino(opts, prettyStream(out, format === 'pretty' ? (out as { isTTY?: boolean }).isTTY === true : true));
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

/** One line per event: time, level, `[function]` message, then the other fields as JSON. */
function prettyStream(out: NodeJS.WritableStream, colorize: boolean) {
  return pretty({
    destination: out,
    sync: true,
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,function',
    messageFormat: '{if function}[{function}] {end}{msg}',
  });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
