// Secret values as `kubectl doctor dump` writes them: every value of `data` and `stringData` is replaced by a marker
// that keeps what a check can use without the value itself (that the key is there, the value's length, a prefix of
// its SHA-256), so a dump can be handed to someone else.
import { createHash } from 'node:crypto';
import type { KubeObject } from './object.ts';

/**
 * A redacted value: `(redacted) 12 bytes, sha256:9f86d081884c7d65`. The hash is of the value's bytes (data decoded
 * from base64), so it can be compared with `printf %s "$value" | sha256sum | cut -c1-16`. `(`, `)` and spaces are
 * not base64, so no value the API server returns in `data` can look like one.
 */
const MARKER = /^\(redacted\) (\d+) bytes?, sha256:([0-9a-f]{16})$/;
/** 16 hex digits (64 bits): enough to compare two values, short enough not to pass for the value's digest. */
const HASH_PREFIX = 16;
/** kubectl apply's copy of the object as last applied: a Secret's holds its values. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface RedactedValue {
  length: number;
  sha256: string;
}

export function redactedMarker(bytes: Buffer): string {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, HASH_PREFIX);
  return `(redacted) ${bytes.length} ${bytes.length === 1 ? 'byte' : 'bytes'}, sha256:${hash}`;
}

/** The length and hash prefix of a redacted value; undefined for anything else (a real value). */
export function parseRedacted(value: unknown): RedactedValue | undefined {
  if (typeof value !== 'string') return undefined;
  const match = MARKER.exec(value);
  return match ? { length: Number(match[1]), sha256: match[2]! } : undefined;
}

export function isSecret(obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  return obj.apiVersion === 'v1' && obj.kind === 'Secret';
}

/**
 * A copy of a Secret with every value of `data` (base64) and `stringData` (text) replaced by its marker, keys kept,
 * and the last-applied-configuration annotation (which repeats the values) replaced by the marker of its text.
 * Anything that is not a Secret is returned as it is.
 */
export function redactSecret(obj: KubeObject): KubeObject {
  if (!isSecret(obj)) return obj;
  const copy: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  for (const [field, decode] of [
    ['data', (v: string) => Buffer.from(v, 'base64')],
    ['stringData', (v: string) => Buffer.from(v, 'utf8')],
  ] as const) {
    const values = obj[field];
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      if (values !== undefined) delete copy[field];
      continue;
    }
    copy[field] = Object.fromEntries(
      Object.entries(values as Record<string, unknown>).map(([key, value]) => [
        key,
        redactedMarker(typeof value === 'string' ? decode(value) : Buffer.from(JSON.stringify(value) ?? '', 'utf8')),
      ]),
    );
  }
  const annotations = obj.metadata.annotations;
  if (annotations && typeof annotations === 'object' && typeof annotations[LAST_APPLIED] === 'string') {
    copy.metadata.annotations = { ...annotations, [LAST_APPLIED]: redactedMarker(Buffer.from(annotations[LAST_APPLIED], 'utf8')) };
  }
  return copy;
}

/**
 * `obj` with every Secret manifest in it redacted: itself, and Secrets embedded in other objects (a KubeVela
 * ResourceTracker entry's `raw`, a List's items). Unchanged parts are shared, not copied.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 64 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => redactSecrets(v, depth + 1));
    return (items.some((v, i) => v !== value[i]) ? items : value) as T;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(record)) {
    const redacted = redactSecrets(v, depth + 1);
    if (redacted !== v) (copy ??= { ...record })[key] = redacted;
  }
  const result = copy ?? record;
  if (isSecret(result) && typeof result.metadata === 'object' && result.metadata !== null) return redactSecret(result as KubeObject) as T;
  return result as T;
}
