import type { KubeObject } from '../../src/kube/object.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** Milliseconds since the epoch of an RFC 3339 time; undefined when missing or unparsable. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `2d3h`, `1h5m`, `15m`, `42s`: the two largest units, as kubectl prints ages. */
export function humanDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m${s}s` : `${m}m`;
  return `${s}s`;
}

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
