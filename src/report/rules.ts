import type { ResourceRead, Rule } from '../engine/rule.ts';
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

/** `-o wide` adds what each rule needs (without it the rule is skipped) and what it uses when present. */
export function renderRules(rules: readonly Rule[], options: { wide?: boolean } = {}): string {
  if (!options.wide) {
    const rows = rules.map((r) => [r.meta.id, r.meta.severity, r.meta.ecosystem, r.meta.fixable ? 'yes' : 'no', r.meta.summary]);
    return `${renderRows(['ID', 'SEVERITY', 'ECOSYSTEM', 'FIXABLE', 'SUMMARY'], rows).join('\n')}\n`;
  }
  const rows = rules.map((r) => {
    const reads = Object.values(r.meta.reads);
    const names = (list: ResourceRead[]) => [...new Set(list.map(readName))].join(', ') || '-';
    return [r.meta.id, r.meta.severity, names(reads.filter((x) => !x.optional)), names(reads.filter((x) => x.optional))];
  });
  return `${renderRows(['ID', 'SEVERITY', 'NEEDS', 'USES WHEN PRESENT'], rows).join('\n')}\n`;
}

/** A read as a dump must hold it: `*` (every type), `secrets(meta)`, `secrets@vela-system`, `pods(-l app)`. */
function readName(read: ResourceRead): string {
  const name = read.resource === '*' ? '*' : read.resource;
  const parts = [read.metadataOnly ? 'meta' : '', read.labelSelector ? `-l ${read.labelSelector}` : ''].filter(Boolean);
  return `${name}${read.namespace ? `@${read.namespace}` : ''}${parts.length > 0 ? `(${parts.join(' ')})` : ''}`;
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
