import type { Rule } from '../engine/rule.ts';
import { visible } from '../util/terminal.ts';
import { REPORT_API_VERSION } from './report.ts';
import { renderRows, wrapText } from './table.ts';

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
      reasons: Object.entries(r.meta.reasons).map(([reason, message]) => ({ reason, message })),
      explain: r.meta.explain,
    })),
  };
}

export function renderRules(rules: readonly Rule[]): string {
  const rows = rules.map((r) => [r.meta.id, r.meta.severity, r.meta.ecosystem, r.meta.fixable ? 'yes' : 'no', r.meta.summary]);
  return `${renderRows(['ID', 'SEVERITY', 'ECOSYSTEM', 'FIXABLE', 'SUMMARY'], rows).join('\n')}\n`;
}

/** Paragraphs wrapped to `width` columns including the indent, a blank line between them. */
function wrap(text: string, width = 98, indent = '  '): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) =>
      wrapText(visible(paragraph.replace(/\s+/g, ' ').trim()), width - indent.length)
        .map((l) => indent + l)
        .join('\n'),
    )
    .filter((p) => p !== '')
    .join('\n\n');
}

export function renderExplain(rule: Rule): string {
  const { meta } = rule;
  const reads = Object.values(meta.reads).map(
    (r) =>
      `  - ${r.resource === '*' ? 'every listable resource type' : r.resource}${r.metadataOnly ? ' (metadata only)' : ''}` +
      `${r.labelSelector ? ` -l ${r.labelSelector}` : ''}${r.optional ? ' (optional)' : ''}`,
  );
  // Paragraphs are escaped before they are wrapped (so widths are right); one pass over the whole text covers the rest.
  return visible(
    [
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
      'REASONS (the reason field of its findings, and their messages)',
      ...Object.entries(meta.reasons).map(([reason, message]) => wrap(`${reason}: ${message}`, 98, '  ')),
      '',
      'REMEDIATION (safest first)',
      ...meta.explain.remediation.map((step, i) => wrap(`${i + 1}. ${step}`, 98, '  ').replace(/^ {2}/, '  ')),
      '',
      'REFERENCES',
      ...meta.explain.references.map((r) => `  - ${r}`),
      '',
    ].join('\n'),
    { keepNewlines: true },
  );
}
