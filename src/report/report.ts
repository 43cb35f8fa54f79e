import type { SourceInfo } from '../cluster/source.ts';
import type { SkippedObject } from '../cluster/validate.ts';
import { ExitCode } from '../errors.ts';
import { atLeast, SEVERITIES, type Finding, type Severity } from '../engine/finding.ts';
import type { RuleResult, ScanResult } from '../engine/scan.ts';

/** Bumped only for incompatible changes; additive fields keep it (README "JSON contract"). */
export const REPORT_API_VERSION = 'kubectl-doctor/v1alpha1';

export interface Report {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'Report';
  metadata: { generatedAt: string; now: string; toolVersion: string };
  source: SourceInfo;
  /** False when any rule could not read all it needed (forbidden, unavailable, errored, malformed objects skipped). */
  complete: boolean;
  summary: {
    findings: Record<Severity, number> & { total: number };
    rules: Record<RuleResult['status'], number> & { total: number };
  };
  rules: RuleResult[];
  findings: Finding[];
  discoveryFailures: { groupVersion: string; reason: string }[];
  /** Objects of the wrong shape that were left out of the scan; the rules reading their types are `partial` or `fail`. */
  skippedObjects: SkippedObject[];
}

export function buildReport(scan: ScanResult, toolVersion: string): Report {
  const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of scan.findings) findings[f.severity]++;
  const rules = { pass: 0, partial: 0, fail: 0, skipped: 0, error: 0 };
  for (const r of scan.rules) rules[r.status]++;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'Report',
    metadata: { generatedAt: scan.startedAt.toISOString(), now: scan.now.toISOString(), toolVersion },
    source: scan.source,
    complete: scan.rules.every((r) => !r.incomplete),
    summary: { findings: { ...findings, total: scan.findings.length }, rules: { ...rules, total: scan.rules.length } },
    rules: scan.rules,
    findings: scan.findings,
    discoveryFailures: scan.discoveryFailures,
    skippedObjects: scan.skippedObjects,
  };
}

/** 1 = findings at or above --fail-on; else 3 = scan incomplete; else 0. */
export function exitCodeOf(report: Report, failOn: Severity): ExitCode {
  if (report.findings.some((f) => atLeast(f.severity, failOn))) return ExitCode.Findings;
  if (!report.complete) return ExitCode.Incomplete;
  return ExitCode.Ok;
}
