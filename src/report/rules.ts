import type { ResourceRead, Rule, RuleMeta, Subset } from '../engine/rule.ts';
import { humanDuration } from '../util/duration.ts';
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
      thresholds: Object.fromEntries(
        Object.entries(r.meta.thresholds ?? {}).map(([name, t]) => [
          name,
          { seconds: t.ms / 1000, human: humanDuration(t.ms), describe: t.describe, minAge: t.minAge === true },
        ]),
      ),
    })),
  };
}

/** Said once, wherever thresholds are listed: which ones --min-age replaces. */
const MIN_AGE_NOTE = '* --min-age DURATION replaces the thresholds marked * (--min-age 0s reports at once)';

/** `15m*, 1h`: a rule's thresholds, the ones --min-age replaces marked. */
function thresholdList(meta: RuleMeta): string {
  const list = Object.values(meta.thresholds ?? {}).map((t) => `${humanDuration(t.ms)}${t.minAge ? '*' : ''}`);
  return list.length > 0 ? list.join(', ') : '-';
}

/**
 * The rules as a table; `-o wide` trades the summary for the thresholds, what each rule needs (without it the rule
 * is skipped) and what it uses when present: what a dump must hold for it.
 */
export function renderRules(rules: readonly Rule[], options: { wide?: boolean } = {}): string {
  if (!options.wide) {
    const rows = rules.map((r) => [r.meta.id, r.meta.severity, r.meta.ecosystem, r.meta.fixable || 'no', r.meta.summary]);
    return `${renderRows(['ID', 'SEVERITY', 'ECOSYSTEM', 'FIXABLE', 'SUMMARY'], rows).join('\n')}\n`;
  }
  const rows = rules.map((r) => {
    const reads = Object.values(r.meta.reads);
    const names = (list: ResourceRead[]) => [...new Set(list.map(readName))].join(', ') || '-';
    return [
      r.meta.id,
      r.meta.severity,
      r.meta.fixable || 'no',
      thresholdList(r.meta),
      names(reads.filter((x) => !x.optional)),
      names(reads.filter((x) => x.optional)),
    ];
  });
  const note = rules.some((r) => Object.values(r.meta.thresholds ?? {}).some((t) => t.minAge)) ? [MIN_AGE_NOTE] : [];
  return `${[...renderRows(['ID', 'SEVERITY', 'FIXABLE', 'THRESHOLDS', 'NEEDS', 'USES WHEN PRESENT'], rows), ...note].join('\n')}\n`;
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

/** THRESHOLDS: each value and what it decides; the --min-age override said once. */
function thresholdSection(meta: RuleMeta): string[] {
  const thresholds = Object.values(meta.thresholds ?? {});
  if (thresholds.length === 0) return [];
  const values = thresholds.map((t) => `${humanDuration(t.ms)}${t.minAge ? '*' : ''}`);
  const width = Math.max(...values.map((v) => v.length));
  // Each description wraps under itself, beside its value.
  const hanging = ' '.repeat(2 + width + 2);
  const lines = thresholds.map((t, i) =>
    wrapText(visible(t.describe), 98 - hanging.length)
      .map((line, n) => (n === 0 ? `  ${values[i]!.padEnd(width)}  ${line}` : hanging + line))
      .join('\n'),
  );
  return ['THRESHOLDS', ...lines, ...(thresholds.some((t) => t.minAge) ? [`  ${MIN_AGE_NOTE}`] : []), ''];
}

/** `keeps the objects being deleted and ...; counts the rest`: what a scan holds of a `*` read. */
function describeSubset(subset: Subset): string {
  const parts = [
    subset.deleting ? 'the objects being deleted' : '',
    subset.inDeletingNamespaces ? 'every object in a namespace being deleted' : '',
    subset.blockingDependents ? 'the dependents a foreground deletion waits for' : '',
    subset.annotated?.length ? `the objects annotated ${subset.annotated.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `looks at ${parts.join('; ')}; counts the rest` : 'counts the objects of each type';
}

export function renderExplain(rule: Rule): string {
  const { meta } = rule;
  const reads = Object.values(meta.reads).map((r) =>
    wrap(
      `- ${r.resource === '*' ? 'every listable resource type' : r.resource}${r.metadataOnly ? ' (metadata only)' : ''}` +
        `${r.labelSelector ? ` -l ${r.labelSelector}` : ''}${r.optional ? ' (optional)' : ''}` +
        (r.subset ? `: ${describeSubset(r.subset)}` : '') +
        (r.fields ? `: reads ${r.fields.join(', ')}` : ''),
    ).replace(/\n {2}/g, '\n    '),
  );
  // Paragraphs are escaped before they are wrapped (so widths are right); one pass over the whole text covers the rest.
  return visible(
    [
      `${meta.id} (${meta.severity}, ${meta.ecosystem}${meta.fixable ? `, fixable up to ${meta.fixable}` : ''})`,
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
      ...thresholdSection(meta),
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
