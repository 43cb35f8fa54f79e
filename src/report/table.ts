import { styleText } from 'node:util';
import { keyOf } from '../kube/object.ts';
import { SEVERITIES, type Finding, type Severity } from '../engine/finding.ts';
import { displayWidth, visible } from '../util/terminal.ts';
import type { Report } from './report.ts';
import { contextOf, type ReportList } from './report-list.ts';
import type { RuleResult } from '../engine/scan.ts';
import { compareStrings } from '../util/collections.ts';

export interface TableOptions {
  wide: boolean;
  noHeaders: boolean;
  color: boolean;
  /**
   * The terminal's width: messages, reasons and the summary wrap to it. Undefined (not a terminal): nothing wraps.
   * Rule ids, object names and fingerprints never wrap at any width, as kubectl never wraps a NAME: a copied name
   * must be the name. A line with a long name is as long as it needs to be.
   */
  width?: number | undefined;
  /**
   * With --no-headers in a table of several contexts, where no context header is printed: the context, as the first
   * cell of every row, so each row still says which cluster it is about.
   */
  context?: string | undefined;
}

const SEVERITY_STYLE: Record<Severity, Parameters<typeof styleText>[0]> = {
  critical: ['bold', 'red'],
  error: 'red',
  warning: 'yellow',
  info: 'cyan',
};

/**
 * kubectl-like borderless tables, findings grouped by severity (one column layout for all groups), a summary line last.
 * Every cell and message goes through `visible`. Drawn line by line here, in time linear in the output: cli-table3
 * took time cubic in a multi-line cell's length and quadratic in the number of rows.
 */
export function renderTable(report: Report, options: TableOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const out: string[] = [];
  const lead = options.noHeaders && options.context !== undefined ? [options.context] : [];
  const leadWidths = lead.map((c) => displayWidth(visible(c)));
  const layout = findingsLayout(report.findings, options);
  layout.widths.unshift(...leadWidths);
  // The message gets lines of its own under its rule and object: messages are sentences, not cells.
  const messageWidth = options.width !== undefined ? Math.max(MIN_WRAP, options.width - MESSAGE_INDENT.length) : undefined;
  const ruleOf = rulesByFingerprint(report.findings);

  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    // --no-headers prints rows only, as kubectl's: no group titles, headers, blank lines or summary.
    if (!options.noHeaders) {
      out.push(paint(SEVERITY_STYLE[severity], `${severity.toUpperCase()} (${findings.length})`));
      appendRow(out, layout.head, layout.widths);
    }
    for (const f of findings) {
      const row = [...lead, f.rule, objectName(f)];
      if (options.wide) row.push(fixOf(f), f.fingerprint);
      appendRow(out, row, layout.widths);
      // Line breaks in a message are spaces to the wrap; they never reach the terminal.
      const message = wrapText(visible(`${f.message}${relatedNote(f, ruleOf)}`, { keepNewlines: true }), messageWidth);
      for (const line of message.length > 0 ? message : ['']) out.push((MESSAGE_INDENT + line).trimEnd());
    }
    if (!options.noHeaders) out.push('');
  }

  // Every rule that did not see everything: skipped, errored, partial, or failing on part of its data.
  const notRun = report.rules.filter(
    (r) => r.status === 'skipped' || r.status === 'error' || r.status === 'partial' || r.gaps || (r.incomplete && r.reason),
  );
  if (notRun.length > 0) {
    const ruleWidth = Math.max(4, ...notRun.map((r) => displayWidth(visible(r.id))));
    const widths = [...leadWidths, ruleWidth, 7];
    const reasonWidth = options.width !== undefined ? Math.max(MIN_WRAP, options.width - ruleWidth - 11) : undefined;
    if (!options.noHeaders) appendRow(out, ['RULE', 'STATUS', 'REASON'], widths, reasonWidth);
    for (const r of notRun)
      appendRow(
        out,
        [...lead, r.id, r.status === 'pass' || r.status === 'fail' ? 'partial' : r.status, shortReason(r)],
        widths,
        reasonWidth,
      );
    if (!options.noHeaders) out.push('');
  }

  // A gap shared by several rules (one unavailable aggregated API hides objects from every rule that reads `*`) is
  // explained once, with the flag that accepts it.
  const gaps = new Map<string, string>();
  for (const r of report.rules) for (const g of r.gaps ?? []) if (!gaps.has(g.resource)) gaps.set(g.resource, g.reason);
  if (gaps.size > 0) {
    const gapWidth = Math.max(3, ...[...gaps.keys()].map((g) => displayWidth(visible(g))));
    const reasonWidth = options.width !== undefined ? Math.max(MIN_WRAP, options.width - gapWidth - 2) : undefined;
    if (!options.noHeaders) appendRow(out, ['GAP', 'REASON'], [gapWidth], reasonWidth);
    for (const [resource, reason] of gaps) appendRow(out, [...lead, resource, reason], [...leadWidths, gapWidth], reasonWidth);
    if (!options.noHeaders) out.push('Accept a known gap with --ignore-gaps=<GAP>.', '');
  }

  if (options.noHeaders) return out.length > 0 ? `${out.join('\n')}\n` : '';
  out.push(...wrapText(summaryLine(report), options.width));
  return `${out.join('\n')}\n`;
}

interface Layout {
  head: string[];
  widths: number[];
}

const GAP = '  ';

const MESSAGE_INDENT = '  ';

/** The narrowest a wrapped message or reason gets, however long the names beside it. */
const MIN_WRAP = 20;

/** Columns as wide as their widest cell, one layout for every severity group: nothing in them wraps. */
function findingsLayout(findings: Finding[], options: TableOptions): Layout {
  const head = options.wide ? ['RULE', 'OBJECT', 'FIX', 'FINGERPRINT'] : ['RULE', 'OBJECT'];
  const widest = (cell: (f: Finding) => string, title: string) =>
    findings.reduce((max, f) => Math.max(max, displayWidth(visible(cell(f)))), title.length);
  const widths = [widest((f) => f.rule, 'RULE'), widest(objectName, 'OBJECT')];
  if (options.wide) widths.push(widest(fixOf, 'FIX'), 16);
  return { head, widths };
}

/** A table whose columns are as wide as their widest cell, headers first: the lines to print. */
export function renderRows(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [head, ...rows];
  const widths = head.map((_, i) => all.reduce((max, row) => Math.max(max, displayWidth(visible(row[i] ?? ''))), 1));
  const out: string[] = [];
  for (const row of all) appendRow(out, row, widths);
  return out;
}

/**
 * Appends the lines of one row to `out`: each cell escaped by `visible` and padded to its column's width (`widths`,
 * one per column but the last), two spaces between columns, no trailing blanks. Only the last cell wraps, to
 * `lastWidth` when given (a word longer than that is broken, never cut), its continuation lines under its column;
 * the others are never wrapped: they hold names.
 */
function appendRow(out: string[], cells: readonly string[], widths: readonly number[], lastWidth?: number): void {
  const shown = cells.map((c) => visible(c));
  const lead = shown.slice(0, -1).map((cell, i) => cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(cell))));
  const last = wrapText(shown[shown.length - 1] ?? '', lastWidth);
  out.push([...lead, last[0] ?? ''].join(GAP).trimEnd());
  const indent = ' '.repeat(lead.reduce((sum, cell) => sum + displayWidth(cell) + GAP.length, 0));
  for (const line of last.slice(1)) out.push(indent + line);
}

/**
 * Greedy word wrap to `width` columns; a word longer than the width is broken. Linear in the text. Without a width,
 * one line (line breaks and runs of blanks become one space, as the wrap makes them).
 */
export function wrapText(text: string, width?: number): string[] {
  if (width === undefined) {
    const line = text
      .split(/[ \n]+/)
      .filter(Boolean)
      .join(' ');
    return line ? [line] : [];
  }
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  for (const word of text.split(/[ \n]+/)) {
    for (const piece of displayWidth(word) <= width ? [word] : breakWord(word, width)) {
      const pieceWidth = displayWidth(piece);
      if (line && lineWidth + 1 + pieceWidth > width) {
        lines.push(line);
        line = piece;
        lineWidth = pieceWidth;
      } else if (line) {
        line = `${line} ${piece}`;
        lineWidth += 1 + pieceWidth;
      } else {
        line = piece;
        lineWidth = pieceWidth;
      }
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Made on first use: building a Segmenter loads ICU data, which a start that prints no table should not pay for. */
let graphemes: Intl.Segmenter | undefined;

/** `word` in pieces of at most `width` columns, split between characters (a wider character gets a piece of its own). */
function breakWord(word: string, width: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let pieceWidth = 0;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { segment } of graphemes.segment(word)) {
    const w = displayWidth(segment);
    if (piece && pieceWidth + w > width) {
      pieces.push(piece);
      piece = '';
      pieceWidth = 0;
    }
    piece += segment;
    pieceWidth += w;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/** A rule's reason with its gaps named, not explained: the GAP table below explains each once. */
function shortReason(r: RuleResult): string {
  if (!r.gaps) return r.reason ?? '';
  const optional = r.reason?.indexOf('without optional data: ') ?? -1;
  return `could not read ${r.gaps.map((g) => g.resource).join(', ')} (see GAP)${optional >= 0 ? `; ${r.reason!.slice(optional)}` : ''}`;
}

/**
 * The rule of the first finding with each fingerprint: what related notes name. Looked up, not searched for: one
 * APIService's finding can lead thousands of Terminating namespaces.
 */
function rulesByFingerprint(findings: readonly Finding[]): Map<string, string> {
  const ruleOf = new Map<string, string>();
  for (const f of findings) if (!ruleOf.has(f.fingerprint)) ruleOf.set(f.fingerprint, f.rule);
  return ruleOf;
}

/** Findings that share a root cause on one object point at each other; the led ones carry no plan of their own. */
function relatedNote(f: Finding, ruleOf: ReadonlyMap<string, string>): string {
  // Each rule once, in the order first seen, counted when it has several of the findings: one APIService can lead
  // thousands of Terminating namespaces.
  const rules = (fingerprints: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const fp of fingerprints) {
      const rule = ruleOf.get(fp);
      if (rule) counts.set(rule, (counts.get(rule) ?? 0) + 1);
    }
    return [...counts].map(([rule, n]) => (n === 1 ? rule : `${rule} (${n.toLocaleString('en-US')} findings)`)).join(', ');
  };
  if (f.related?.ledBy) return ` (same cause as ${rules([f.related.ledBy])}: its plan applies)`;
  if (f.related?.seeAlso?.length) return ` (see also ${rules(f.related.seeAlso)})`;
  return '';
}

/** `Kind/namespace/name`, as kubectl names objects across kinds. */
export function objectName(f: Pick<Finding, 'object'>): string {
  return `${f.object.kind}/${keyOf(f.object)}`;
}

function fixOf(f: Finding): string {
  const steps = f.remediation?.steps ?? [];
  if (steps.length === 0) return '-';
  const risks = ['destructive', 'disruptive', 'safe'] as const;
  const worst = risks.find((r) => steps.some((s) => s.risk === r)) ?? 'safe';
  return `${steps.length} step${steps.length === 1 ? '' : 's'} (${worst})`;
}

export function summaryLine(report: Report): string {
  const { findings, rules } = report.summary;
  const counts = SEVERITIES.filter((s) => findings[s] > 0).map((s) => `${findings[s]} ${s}`);
  const parts = [
    findings.total === 0 ? 'No findings' : `${findings.total} finding${findings.total === 1 ? '' : 's'} (${counts.join(', ')})`,
    `${rules.total} rule${rules.total === 1 ? '' : 's'}: ${rules.pass} pass, ${rules.partial > 0 ? `${rules.partial} partial, ` : ''}${rules.fail} fail, ${rules.skipped} skipped, ${rules.error} error`,
  ];
  const held = report.summary.heldBack;
  if (held > 0)
    parts.push(
      `${held} candidate${held === 1 ? '' : 's'} younger than ${held === 1 ? 'its threshold' : 'their thresholds'} (--min-age 0s shows ${held === 1 ? 'it' : 'them'}; -v lists ${held === 1 ? 'it' : 'them'})`,
    );
  if (report.summary.suppressed > 0) parts.push(`${report.summary.suppressed} suppressed`);
  if (report.baselineGone?.length)
    parts.push(`${report.baselineGone.length} baseline finding${report.baselineGone.length === 1 ? '' : 's'} gone`);
  if (!report.complete) parts.push('scan incomplete');
  return `${parts.join('; ')}.`;
}

/** `-o name`: `<rule> <Kind>/<namespace>/<name>` per finding, for scripts (names shown with control characters escaped). */
export function renderNames(report: Report): string {
  return report.findings.map((f) => `${visible(f.rule)} ${visible(objectName(f))}\n`).join('');
}

/** `-o name` of several contexts: `<context> <rule> <Kind>/<namespace>/<name>` per finding. */
export function renderNamesList(list: ReportList): string {
  return list.items
    .flatMap((r) => r.findings.map((f) => `${visible(contextOf(r))} ${visible(f.rule)} ${visible(objectName(f))}\n`))
    .join('');
}

/**
 * The table of several contexts: a header per context (its name and server) with that context's table under it,
 * as renderTable draws one, or why it was not scanned; then the fleet summary: findings by rule and severity across
 * contexts, the contexts not scanned and why, and one line. With --no-headers, the rows only, each starting with
 * its context.
 */
export function renderReportListTable(list: ReportList, options: TableOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const out: string[] = [];
  const failed = new Map(list.summary.failed.map((f) => [f.context, f]));
  const sections = [
    ...list.items.map((r) => ({ context: contextOf(r), report: r as Report | undefined })),
    ...list.summary.failed.map((f) => ({ context: f.context, report: undefined })),
  ].sort((a, b) => compareStrings(a.context, b.context));
  for (const { context, report } of sections) {
    if (options.noHeaders) {
      if (report) out.push(renderTable(report, { ...options, context }).replace(/\n$/, ''));
      continue;
    }
    const failure = failed.get(context);
    const server = report?.source.type === 'live' ? report.source.server : failure?.server;
    out.push(paint('bold', visible(`CONTEXT ${context}${server ? `  ${server}` : ''}`)));
    if (report) out.push(renderTable(report, options));
    else out.push(...wrapText(visible(`not scanned (${failure!.reason}): ${failure!.message}`), options.width), '');
  }
  if (options.noHeaders) return out.filter((l) => l !== '').length > 0 ? `${out.filter((l) => l !== '').join('\n')}\n` : '';

  const { summary } = list;
  out.push(paint('bold', `FLEET (${summary.contexts.total} context${summary.contexts.total === 1 ? '' : 's'})`));
  if (summary.rules.length > 0) {
    const rows = summary.rules.map((r) => [r.rule, ...SEVERITIES.map((s) => String(r.findings[s])), r.contexts.join(', ')]);
    const head = ['RULE', ...SEVERITIES.map((s) => s.toUpperCase()), 'CONTEXTS'];
    const widths = head.slice(0, -1).map((h, i) => Math.max(displayWidth(h), ...rows.map((row) => displayWidth(visible(row[i]!)))));
    const lastWidth =
      options.width !== undefined ? Math.max(MIN_WRAP, options.width - widths.reduce((a, w) => a + w + GAP.length, 0)) : undefined;
    for (const row of [head, ...rows]) appendRow(out, row, widths, lastWidth);
    out.push('');
  }
  if (summary.failed.length > 0) {
    const width = Math.max(displayWidth('NOT SCANNED'), ...summary.failed.map((f) => displayWidth(visible(f.context))));
    const reasonWidth = options.width !== undefined ? Math.max(MIN_WRAP, options.width - width - GAP.length) : undefined;
    appendRow(out, ['NOT SCANNED', 'REASON'], [width], reasonWidth);
    for (const f of summary.failed) appendRow(out, [f.context, `${f.reason}: ${f.message}`], [width], reasonWidth);
    out.push('');
  }
  out.push(...wrapText(visible(fleetSummaryLine(list)), options.width));
  return `${out.join('\n')}\n`;
}

/** The last line of a table of several contexts. */
export function fleetSummaryLine(list: ReportList): string {
  const { findings, contexts } = list.summary;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const counts = SEVERITIES.filter((s) => findings[s] > 0).map((s) => `${findings[s]} ${s}`);
  const parts = [
    findings.total === 0
      ? `No findings in ${plural(contexts.scanned, 'context')} scanned`
      : `${plural(findings.total, 'finding')} (${counts.join(', ')}) in ${contexts.withFindings} of ${plural(contexts.scanned, 'context')} scanned`,
  ];
  if (contexts.failed > 0)
    parts.push(`${plural(contexts.failed, 'context')} not scanned (${list.summary.failed.map((f) => f.context).join(', ')})`);
  if (contexts.incomplete > 0)
    parts.push(`${contexts.incomplete} incomplete (${list.summary.incomplete.map((i) => i.context).join(', ')})`);
  return `${parts.join('; ')}.`;
}
