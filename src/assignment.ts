/**
 * Which live replica runs a function: rendezvous (highest-random-weight) hashing. Each
 * replica scores each function by a hash of the pair; the highest score wins. Every
 * replica computes the same answer from the same live set, adding or removing a
 * function moves no other one, and a replica joining takes about 1/N of the functions
 * (only from the others), one leaving hands over only its own.
 *
 * @example
 * assignOwner('avg', ['pod-a', 'pod-b']); // 'pod-b'
 */
import { createHash } from 'node:crypto';

/** The replica (of `live`) that runs `name`; null when none is live. */
export function assignOwner(name: string, live: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = -1n;
  for (const replica of live) {
    const score = weight(name, replica);
    // Ties (practically impossible) go to the smaller id, so all replicas agree.
    if (score > bestScore || (score === bestScore && best !== null && replica < best)) {
      best = replica;
      bestScore = score;
    }
  }
  return best;
}

function weight(name: string, replica: string): bigint {
  // Length-prefixed, so ('ab', 'c') and ('a', 'bc') never collide.
  return createHash('sha256').update(`${name.length}:${name}\0${replica}`).digest().readBigUInt64BE(0);
}
