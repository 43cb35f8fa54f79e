import { sha256 } from '../util/hash.ts';
import { groupOf, type ObjectRef } from '../kube/object.ts';
import type { Remediation } from '../plan/actions.ts';

export type Severity = 'critical' | 'error' | 'warning' | 'info';
/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ['critical', 'error', 'warning', 'info'];

/** True when `severity` is at or above `threshold` (critical > error > warning > info). */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

export interface Finding {
  rule: string;
  severity: Severity;
  object: ObjectRef;
  /** Which of the rule's declared reasons this is (meta.reasons): stable, for tests, suppressions and tools. */
  reason: string;
  /** One line, no trailing period: the reason's template filled in. */
  message: string;
  /** The facts that justify the finding, as data. Never Secret data. */
  evidence: Record<string, unknown>;
  remediation?: Remediation;
  /** Stable across runs for the same rule and object: for baselines and suppressions. */
  fingerprint: string;
  /**
   * Other findings on the same object that share its root cause. The finding of the most specific rule leads and
   * carries the one plan (`seeAlso` names the others); the others carry no plan of their own (`ledBy`).
   */
  related?: { ledBy?: string; seeAlso?: string[] };
  /** Objects in a broken state of their own that cause this one (a namespace's discovery failure: the APIService). */
  causedBy?: ObjectRef[];
}

export function fingerprintOf(rule: string, object: ObjectRef): string {
  const key = [rule, groupOf(object.apiVersion), object.kind, object.namespace ?? '', object.name].join('\u0000');
  return sha256(key).slice(0, 16);
}
