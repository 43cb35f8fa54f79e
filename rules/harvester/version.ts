/**
 * Helpers shared by the Harvester rules: the `server-version` Setting, version boundaries, second-precision
 * timestamps. Ages and thresholds come from rules/lib/age.ts. Not a rule: it has no default export.
 */
import { field, type KubeObject } from '../../src/kube/object.ts';
import { parseTime } from '../lib/age.ts';

/** The Setting that holds the running Harvester version (cluster-scoped, `harvesterhci.io`, not Rancher's). */
export const SERVER_VERSION_SETTING = 'server-version';

/** What the rules know about the Harvester version: the value read, or why it could not be read. */
export type HarvesterVersion =
  | { value: string; source: string; major: number; minor: number }
  | { value: string; source: string; major?: undefined; minor?: undefined }
  | { unavailable: string };

/**
 * Reads `settings.harvesterhci.io/server-version`: `value` when set, else `default` (which is `dev`).
 * `settings` is the outcome of an optional read of `settings.harvesterhci.io`.
 */
export function harvesterVersion(settings: KubeObject[] | { unavailable: string }): HarvesterVersion {
  if (!Array.isArray(settings)) return { unavailable: `settings.harvesterhci.io could not be read (${settings.unavailable})` };
  const setting = settings.find((s) => s.metadata.name === SERVER_VERSION_SETTING);
  if (!setting) return { unavailable: 'settings.harvesterhci.io/server-version not found' };
  const value =
    typeof setting.value === 'string' && setting.value !== '' ? setting.value : typeof setting.default === 'string' ? setting.default : '';
  if (value === '') return { unavailable: 'settings.harvesterhci.io/server-version has no value' };
  const source = `settings.harvesterhci.io/${SERVER_VERSION_SETTING}`;
  const m = /^v?(\d+)\.(\d+)(?:\.|$|-)/.exec(value);
  return m ? { value, source, major: Number(m[1]), minor: Number(m[2]) } : { value, source };
}

/** The version string, or undefined when unknown. */
export function versionValue(v: HarvesterVersion): string | undefined {
  return 'value' in v ? v.value : undefined;
}

/**
 * Whether the version is at or after `major.minor`: true/false, or undefined when unknown or unparsable
 * (`dev` builds, a missing Setting).
 */
export function atLeastMinor(v: HarvesterVersion, major: number, minor: number): boolean | undefined {
  if (!('value' in v) || v.major === undefined) return undefined;
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** The version as evidence: `{ value, source }` or `{ unavailable }`. */
export function versionEvidence(v: HarvesterVersion): Record<string, unknown> {
  return 'value' in v ? { value: v.value, source: v.source } : { unavailable: v.unavailable };
}

/** Whole seconds since the epoch (truncated), as Kubernetes and wrangler serialise timestamps. */
export function epochSeconds(value: unknown): number | undefined {
  const ms = parseTime(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** `2026-01-10T08:00:00Z`: RFC 3339 at second precision, as wrangler writes condition times. */
export function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** A string field of an object, or undefined. */
export function str(obj: unknown, ...path: (string | number)[]): string | undefined {
  const v = field(obj, ...path);
  return typeof v === 'string' ? v : undefined;
}
