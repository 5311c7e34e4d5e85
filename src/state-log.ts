/**
 * Logs the state changes of a function a person watching the terminal should see:
 * the first error of a failing streak (with the error), a different kind of failure,
 * recovery, paused/resumed, crash-loop backoff, Redis lost and back (once for the
 * process, however many functions notice). A function that fails on every run logs
 * once, not at every tick.
 *
 * @example
 * runner.status.onChange = stateChangeLogger(log);
 */
import type { StateChange } from './function-status.js';
import type { Logger } from './logger.js';

/** Which failure a streak is about: repeated errors of the same kind are not logged again. */
function kindOf(change: StateChange): string {
  return change.lastError?.code ?? 'ERROR';
}

/**
 * Functions that currently cannot reach Redis, per logger (one per running redlet): an
 * outage is logged once for the process, not once per function.
 */
const outages = new WeakMap<object, Set<string>>();

export function stateChangeLogger(log: Pick<Logger, 'info' | 'warn'>): (change: StateChange) => void {
  let failing: string | null = null;
  let down = outages.get(log);
  if (!down) outages.set(log, (down = new Set()));
  const redisDown = down;
  /** Leaves a Redis outage: 'Redis back' when this was the last function still in it. */
  const redisUp = (fn: string) => {
    if (redisDown.delete(fn) && redisDown.size === 0) log.info({ function: fn }, 'Redis back: functions run again');
  };
  return (change) => {
    const fn = change.name;
    if (change.to === 'error') {
      const kind = kindOf(change);
      if (kind === failing) return;
      const first = failing === null;
      if (failing === 'REDIS_UNAVAILABLE') redisUp(fn);
      failing = kind;
      // A string, not an `err` object: it stays on the event's one line in a terminal.
      const error = change.lastError ? `${change.lastError.code}: ${change.lastError.message}` : (change.detail ?? kind);
      if (kind === 'REDIS_UNAVAILABLE') {
        if (redisDown.size === 0)
          log.warn({ function: fn, reason: error }, 'Redis lost: functions cannot read their input or write their output');
        redisDown.add(fn);
      } else if (kind === 'CRASH_LOOP_BACKOFF')
        log.warn(
          { function: fn, reason: error },
          'crash-loop backoff: the function crashed its worker repeatedly; waiting before the next run',
        );
      else
        log.warn(
          { function: fn, reason: error, ...(change.lastError?.stack ? { stack: change.lastError.stack } : {}) },
          first ? 'function failing' : 'function failing differently',
        );
      return;
    }
    if (change.to === 'paused') {
      if (change.from !== 'paused') log.info({ function: fn }, 'function paused');
      if (failing === 'REDIS_UNAVAILABLE') redisUp(fn);
      failing = null;
      return;
    }
    if (change.from === 'paused' && change.to !== 'loading') log.info({ function: fn }, 'function resumed');
    if (failing !== null && (change.to === 'idle' || change.to === 'waiting')) {
      if (failing === 'REDIS_UNAVAILABLE') redisUp(fn);
      else log.info({ function: fn, after: failing }, 'function recovered');
      failing = null;
    }
  };
}
