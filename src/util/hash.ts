import { hash } from 'node:crypto';

/**
 * The SHA-256 of `data` in hex, in one call: createHash() builds a Hash object per digest, twice the cost for the
 * short keys of finding fingerprints (one per finding of a scan).
 */
export function sha256(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
}
