import { ExitCode, type ClusterFailure } from '../errors.ts';
import { SEVERITIES, type Severity } from '../engine/finding.ts';
import { exitCodeOf, REPORT_API_VERSION, type Report } from './report.ts';
import { compareStrings } from '../util/collections.ts';

/** A context that could not be scanned at all: why, in our words, and what of it the kubeconfig told. */
export interface ContextFailure {
  context: string;
  cluster?: string;
  user?: string;
  server?: string;
  reason: ClusterFailure;
  /** One line, as the error a scan of that context alone prints. */
  message: string;
}

type SeverityCounts = Record<Severity, number> & { total: number };

/** `-o json|yaml` of a scan of several contexts (--contexts, --all-contexts): one Report per context scanned. */
export interface ReportList {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'ReportList';
  metadata: { generatedAt: string; now: string; toolVersion: string };
  /** The Reports of the contexts that were scanned, in context name order; each names its context and server. */
  items: Report[];
  summary: {
    contexts: { total: number; scanned: number; failed: number; incomplete: number; withFindings: number };
    findings: SeverityCounts;
    /** Rules with findings, most severe first: how many of each severity, and in which contexts. */
    rules: { rule: string; findings: SeverityCounts; contexts: string[] }[];
    /** Contexts that could not be scanned, and why. */
    failed: ContextFailure[];
    /** Contexts whose scan was incomplete, and the rules that could not see everything there. */
    incomplete: { context: string; rules: string[] }[];
  };
}

function counts(): SeverityCounts {
  return { critical: 0, error: 0, warning: 0, info: 0, total: 0 };
}

/** The context a Report is about: the context name of a live source. */
export function contextOf(report: Report): string {
  return report.source.type === 'live' ? report.source.context : '';
}

/** The ReportList of the scanned contexts' Reports and the failures, both in context name order. */
export function buildReportList(
  reports: readonly Report[],
  failed: readonly ContextFailure[],
  meta: { startedAt: Date; now: Date; toolVersion: string },
): ReportList {
  const total = counts();
  const byRule = new Map<string, { rule: string; findings: SeverityCounts; contexts: string[] }>();
  for (const report of reports) {
    for (const f of report.findings) {
      total[f.severity]++;
      total.total++;
      const entry = byRule.get(f.rule) ?? { rule: f.rule, findings: counts(), contexts: [] };
      entry.findings[f.severity]++;
      entry.findings.total++;
      if (!entry.contexts.includes(contextOf(report))) entry.contexts.push(contextOf(report));
      byRule.set(f.rule, entry);
    }
  }
  const worst = (c: SeverityCounts) => SEVERITIES.findIndex((s) => c[s] > 0);
  const rules = [...byRule.values()].sort(
    (a, b) => worst(a.findings) - worst(b.findings) || b.findings.total - a.findings.total || compareStrings(a.rule, b.rule),
  );
  const incomplete = reports
    .filter((r) => !r.complete)
    .map((r) => ({ context: contextOf(r), rules: r.rules.filter((x) => x.incomplete).map((x) => x.id) }));
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'ReportList',
    metadata: { generatedAt: meta.startedAt.toISOString(), now: meta.now.toISOString(), toolVersion: meta.toolVersion },
    items: [...reports],
    summary: {
      contexts: {
        total: reports.length + failed.length,
        scanned: reports.length,
        failed: failed.length,
        incomplete: incomplete.length,
        withFindings: reports.filter((r) => r.findings.length > 0).length,
      },
      findings: total,
      rules,
      failed: [...failed],
      incomplete,
    },
  };
}

/**
 * The exit code of a scan of several contexts: the worst of the contexts' own, worst first 2 (a context could not be
 * scanned, as a single unreachable cluster exits 2), 1 (findings at or above --fail-on), 3 (incomplete), 0. A context
 * not scanned at all is the largest miss: it outranks findings elsewhere, which the report still lists.
 */
export function exitCodeOfList(list: ReportList, failOn: Severity): ExitCode {
  if (list.summary.failed.length > 0) return ExitCode.CouldNotRun;
  const codes = list.items.map((r) => exitCodeOf(r, failOn));
  for (const code of [ExitCode.Findings, ExitCode.Incomplete]) if (codes.includes(code)) return code;
  return ExitCode.Ok;
}
