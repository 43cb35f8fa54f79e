import type { KubeObject } from '../../src/kube/object.ts';
import { humanDuration } from '../../src/util/duration.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** Milliseconds since the epoch of an RFC 3339 time; undefined when missing or unparsable. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export { humanDuration } from '../../src/util/duration.ts';

/** An age as evidence: seconds and the human form. */
export function ageEvidence(ms: number): { seconds: number; human: string } {
  return { seconds: Math.max(0, Math.floor(ms / 1000)), human: humanDuration(ms) };
}

/** The threshold a rule uses: `--min-age` when given, else the rule's own default. */
export function thresholdMs(minAgeMs: number | undefined, defaultMs: number): number {
  return minAgeMs ?? defaultMs;
}

/** What ctx.heldBack says of a candidate younger than its rule's threshold. */
export function heldBackReason(state: string, threshold: number): string {
  return `${state}, reported after ${humanDuration(threshold)}`;
}

/**
 * How long an object has been deleting: `now - metadata.deletionTimestamp`. For graceful deletions (pods) the
 * API server sets deletionTimestamp to the end of the grace period, so this is the time past that deadline and
 * is negative while the object is still within its grace period. Undefined when the object is not deleting.
 */
export function deletionAgeMs(obj: KubeObject, now: Date): number | undefined {
  const t = parseTime(obj.metadata.deletionTimestamp);
  return t === undefined ? undefined : now.getTime() - t;
}
