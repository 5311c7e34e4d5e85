/**
 * A trigger decides WHEN a function looks at its input key: on a timer (poll) or
 * when Redis announces a write (keyspace). It only calls `fire`; what a tick does is
 * the runner's business.
 */
export interface Trigger {
  /** Resolves once the trigger is armed: no write from then on goes unnoticed. */
  start(): void | Promise<void>;
  stop(): void;
}

export interface TriggerHooks {
  fire(reason: 'poll' | 'keyspace' | 'start'): void;
  /** Ticks that could not happen on time (the process was busy past a whole period). */
  missed?(count: number): void;
  /** How late a timer tick fired against its schedule, ms. */
  lag?(ms: number): void;
  /**
   * Keyspace notifications were refused (the reason) and the trigger polls at its
   * period instead, or (null) they work again.
   */
  fallback?(reason: string | null): void;
}
