import type { SourceInfo } from '../cluster/source.ts';
import type { SkippedObject } from '../cluster/validate.ts';
import { ExitCode } from '../errors.ts';
import { atLeast, SEVERITIES, type Finding, type Severity } from '../engine/finding.ts';
import type { HeldBack, RuleResult, ScanResult } from '../engine/scan.ts';
import { relateFindings } from '../engine/related.ts';
import type { BaselineEntry, SuppressionEntry, SuppressOutcome, Suppressed } from '../engine/suppress.ts';

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
    /** Findings taken out by an annotation, the suppression file or the baseline (listed in `suppressed`). */
    suppressed: number;
    /** Candidates younger than their rule's age threshold (listed in `heldBack`; --min-age shows them). */
    heldBack: number;
  };
  rules: RuleResult[];
  findings: Finding[];
  discoveryFailures: { groupVersion: string; reason: string }[];
  /** Objects of the wrong shape that were left out of the scan; the rules reading their types are `partial` or `fail`. */
  skippedObjects: SkippedObject[];
  /** Findings not in `findings` because an annotation, the suppression file or the baseline accepted them. */
  suppressed: Suppressed[];
  /** Candidates not reported because they are younger than their rule's age threshold: --min-age 0s reports them. */
  heldBack: HeldBack[];
  /** Suppression file entries past their expiry date: they no longer apply. */
  expiredSuppressions?: SuppressionEntry[];
  /** With --baseline: baseline entries whose rule ran completely and no longer reports them. */
  baselineGone?: BaselineEntry[];
}

/** The Report of a scan; with `suppress`, of what is left once suppressed findings are taken out (and listed). */
export function buildReport(scan: ScanResult, toolVersion: string, suppress?: SuppressOutcome): Report {
  // Related among what is shown: a suppressed leader must not leave its followers planless, pointing at nothing.
  const kept = relateFindings(suppress?.findings ?? scan.findings, scan.refines);
  const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of kept) findings[f.severity]++;
  // A rule whose every finding was suppressed reports as if it had found nothing.
  const ruleResults = !suppress
    ? scan.rules
    : scan.rules.map((r) => {
        if (r.status !== 'fail') return r;
        const left = kept.filter((f) => f.rule === r.id).length;
        return left > 0 ? { ...r, findings: left } : { ...r, findings: 0, status: r.incomplete ? ('partial' as const) : ('pass' as const) };
      });
  const rules = { pass: 0, partial: 0, fail: 0, skipped: 0, error: 0 };
  for (const r of ruleResults) rules[r.status]++;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'Report',
    metadata: { generatedAt: scan.startedAt.toISOString(), now: scan.now.toISOString(), toolVersion },
    source: scan.source,
    complete: scan.rules.every((r) => !r.incomplete),
    summary: {
      findings: { ...findings, total: kept.length },
      rules: { ...rules, total: scan.rules.length },
      suppressed: suppress?.suppressed.length ?? 0,
      heldBack: scan.heldBack.length,
    },
    rules: ruleResults,
    findings: kept,
    discoveryFailures: scan.discoveryFailures,
    skippedObjects: scan.skippedObjects,
    suppressed: suppress?.suppressed ?? [],
    heldBack: scan.heldBack,
    ...(suppress && suppress.expired.length > 0 ? { expiredSuppressions: suppress.expired } : {}),
    ...(suppress?.baselineGone ? { baselineGone: suppress.baselineGone } : {}),
  };
}

/**
 * 1 = findings at or above --fail-on; else 3 = incomplete where it matters: a rule that could not see everything
 * and could have reported at or above --fail-on (its severity is its most severe finding), or that errored; else 0.
 */
export function exitCodeOf(report: Report, failOn: Severity): ExitCode {
  if (report.findings.some((f) => atLeast(f.severity, failOn))) return ExitCode.Findings;
  // A rule that errored is a bug, not a known gap: it always counts.
  if (report.rules.some((r) => r.status === 'error' || (r.incomplete && atLeast(r.severity, failOn)))) return ExitCode.Incomplete;
  return ExitCode.Ok;
}
