import type { Rule } from '../engine/rule.ts';
import type { Severity } from '../engine/finding.ts';
import type { Report } from './report.ts';
import { contextOf, type ReportList } from './report-list.ts';
import { renderExplain } from './rules.ts';
import { objectName } from './table.ts';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', error: 'error', warning: 'warning', info: 'note' };

/**
 * SARIF 2.1.0 of a Report: one result per finding, located at the object as a logical location (a cluster has no
 * files), the rule's explain text as its help, the fingerprint as a partial fingerprint so code-scanning services
 * track a finding across runs. Rules that could not see everything are tool notifications.
 */
export function renderSarif(report: Report, rules: readonly Rule[]): string {
  return sarifLog([sarifRun(report, rules)]);
}

/**
 * SARIF of a scan of several contexts: one run per context, each with its own `automationDetails.id`
 * (`kubectl-doctor/<context>/`, the run's category), and the context in every result's properties. One run per
 * context rather than one run with a property per result, because code-scanning services track and close alerts
 * per tool and category: GitHub code scanning rejects an upload with several runs of one tool in one category (since
 * June 2025, github.blog changelog 2024-05-06 "code scanning will stop combining runs from a single upload") and
 * keys an alert on its fingerprint within a category, so the same object name in two clusters would be one alert
 * and fixing it in one cluster would close it for both. A context that could not be scanned is a run with no
 * results whose invocation failed, with the reason.
 */
export function renderSarifList(list: ReportList, rules: readonly Rule[]): string {
  const runs: Record<string, unknown>[] = list.items.map((report) => sarifRun(report, rules, contextOf(report)));
  for (const failed of list.summary.failed) {
    runs.push({
      tool: { driver: { name: 'kubectl-doctor', version: list.metadata.toolVersion, rules: [] } },
      automationDetails: { id: `kubectl-doctor/${failed.context}/` },
      properties: { context: failed.context, ...(failed.server ? { server: failed.server } : {}) },
      invocations: [
        {
          executionSuccessful: false,
          toolExecutionNotifications: [
            { level: 'error', message: { text: `context ${failed.context} not scanned (${failed.reason}): ${failed.message}` } },
          ],
        },
      ],
      results: [],
    });
  }
  return sarifLog(runs);
}

function sarifLog(runs: Record<string, unknown>[]): string {
  return `${JSON.stringify({ $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs }, null, 2)}\n`;
}

function sarifRun(report: Report, rules: readonly Rule[], context?: string): Record<string, unknown> {
  const ran = report.rules.map((r) => rules.find((rule) => rule.meta.id === r.id)).filter((r): r is Rule => r !== undefined);
  const index = new Map(ran.map((r, i) => [r.meta.id, i]));
  const where = context !== undefined && report.source.type === 'live' ? { context, server: report.source.server } : undefined;
  return {
    tool: {
      driver: {
        name: 'kubectl-doctor',
        version: report.metadata.toolVersion,
        rules: ran.map((r) => ({
          id: r.meta.id,
          shortDescription: { text: r.meta.summary },
          fullDescription: { text: r.meta.explain.detects.replace(/\s+/g, ' ').trim() },
          help: { text: renderExplain(r) },
          defaultConfiguration: { level: LEVEL[r.meta.severity] },
          properties: { severity: r.meta.severity, ecosystem: r.meta.ecosystem },
        })),
      },
    },
    ...(where ? { automationDetails: { id: `kubectl-doctor/${where.context}/` }, properties: where } : {}),
    invocations: [
      {
        executionSuccessful: report.rules.every((r) => r.status !== 'error'),
        toolExecutionNotifications: report.rules
          .filter((r) => r.incomplete)
          .map((r) => ({
            level: r.status === 'error' ? 'error' : 'warning',
            message: { text: `${r.id} ${r.status}: ${r.reason ?? 'could not read everything'}` },
            ...(index.has(r.id) ? { associatedRule: { id: r.id, index: index.get(r.id)! } } : {}),
          })),
      },
    ],
    results: report.findings.map((f) => ({
      ruleId: f.rule,
      ...(index.has(f.rule) ? { ruleIndex: index.get(f.rule)! } : {}),
      level: LEVEL[f.severity],
      message: { text: f.message },
      locations: [
        {
          logicalLocations: [
            {
              name: f.object.name,
              fullyQualifiedName: objectName(f),
              kind: 'object',
              properties: {
                apiVersion: f.object.apiVersion,
                kind: f.object.kind,
                ...(f.object.namespace ? { namespace: f.object.namespace } : {}),
              },
            },
          ],
        },
      ],
      partialFingerprints: { 'kubectlDoctor/v1': f.fingerprint },
      properties: { severity: f.severity, reason: f.reason, evidence: f.evidence, ...where },
    })),
  };
}
