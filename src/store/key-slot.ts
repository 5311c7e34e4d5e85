/**
 * Redis Cluster's key-to-slot mapping (CRC16/XMODEM of the key's hash part, mod 16384),
 * as the servers compute it: to know which primary serves a watched key, and whether
 * several keys may meet in one transaction.
 *
 * @example
 * keySlot('redlet:{avg}:state') === keySlot('avg'); // true: the hash tag decides
 */

/** Slots of a Redis Cluster. */
export const SLOTS = 16384;

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
export function hashPart(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** The hash slot of `key` (CLUSTER KEYSLOT). */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashPart(key))) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}
