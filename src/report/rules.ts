import Table from 'cli-table3';
import type { Rule } from '../engine/rule.ts';
import { REPORT_API_VERSION } from './report.ts';
import { BORDERLESS } from './table.ts';


export function rulesDocument(rules: readonly Rule[]) {
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'RuleList' as const,
    items: rules.map((r) => ({
      id: r.meta.id,
      severity: r.meta.severity,
      ecosystem: r.meta.ecosystem,
      fixable: r.meta.fixable,
      summary: r.meta.summary,
      reads: Object.values(r.meta.reads).map((read) => ({ ...read })),
      explain: r.meta.explain,
    })),
  };
}

export function renderRules(rules: readonly Rule[]): string {
  const table = new Table({
    head: ['ID', 'SEVERITY', 'ECOSYSTEM', 'FIXABLE', 'SUMMARY'],
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rules) table.push([r.meta.id, r.meta.severity, r.meta.ecosystem, r.meta.fixable ? 'yes' : 'no', r.meta.summary]);
  return `${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n`;
}

function wrap(text: string, width = 98, indent = '  '): string {
  const lines: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width - indent.length) {
        lines.push(indent + line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) lines.push(indent + line);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

export function renderExplain(rule: Rule): string {
  const { meta } = rule;
  const reads = Object.values(meta.reads).map((r) =>
    `  - ${r.resource === '*' ? 'every listable resource type' : r.resource}${r.metadataOnly ? ' (metadata only)' : ''}` +
    `${r.labelSelector ? ` -l ${r.labelSelector}` : ''}${r.optional ? ' (optional)' : ''}`);
  return [
    `${meta.id} (${meta.severity}, ${meta.ecosystem}${meta.fixable ? ', fixable' : ''})`,
    `  ${meta.summary}`,
    '',
    'WHAT IT DETECTS',
    wrap(meta.explain.detects),
    '',
    'WHY IT HAPPENS',
    wrap(meta.explain.why),
    '',
    'EVIDENCE',
    wrap(meta.explain.evidence),
    '',
    'READS',
    ...reads,
    '',
    'REMEDIATION (safest first)',
    ...meta.explain.remediation.map((step, i) => wrap(`${i + 1}. ${step}`, 98, '  ').replace(/^ {2}/, '  ')),
    '',
    'REFERENCES',
    ...meta.explain.references.map((r) => `  - ${r}`),
    '',
  ].join('\n');
}
