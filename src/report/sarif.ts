import type { Rule } from '../engine/rule.ts';
import type { Severity } from '../engine/finding.ts';
import type { Report } from './report.ts';
import { renderExplain } from './rules.ts';
import { objectName } from './table.ts';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', error: 'error', warning: 'warning', info: 'note' };

/**
 * SARIF 2.1.0 of a Report: one result per finding, located at the object as a logical location (a cluster has no
 * files), the rule's explain text as its help, the fingerprint as a partial fingerprint so code-scanning services
 * track a finding across runs. Rules that could not see everything are tool notifications.
 */
export function renderSarif(report: Report, rules: readonly Rule[]): string {
  const ran = report.rules.map((r) => rules.find((rule) => rule.meta.id === r.id)).filter((r): r is Rule => r !== undefined);
  const index = new Map(ran.map((r, i) => [r.meta.id, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
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
          properties: { severity: f.severity, reason: f.reason, evidence: f.evidence },
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
