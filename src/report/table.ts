import { styleText } from 'node:util';
import Table from 'cli-table3';
import { keyOf } from '../kube/object.ts';
import { SEVERITIES, type Finding, type Severity } from '../engine/finding.ts';
import type { Report } from './report.ts';

export interface TableOptions {
  wide: boolean;
  noHeaders: boolean;
  color: boolean;
  /** Total width to fit in; findings tables wrap their message column. */
  width: number;
}

const SEVERITY_STYLE: Record<Severity, Parameters<typeof styleText>[0]> = {
  critical: ['bold', 'red'], error: 'red', warning: 'yellow', info: 'cyan',
};

/** cli-table3 characters for kubectl-like tables: no borders, two spaces between columns. */
export const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: ' '.repeat(2),
};

/** kubectl-like borderless tables, findings grouped by severity (one column layout for all groups), a summary line last. */
export function renderTable(report: Report, options: TableOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const out: string[] = [];
  const layout = findingsLayout(report.findings, options);

  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    out.push(paint(SEVERITY_STYLE[severity], `${severity.toUpperCase()} (${findings.length})`));
    // The message gets a line of its own under its rule and object: messages are sentences, not cells.
    // cli-table3 gives a spanning cell the sum of the column widths, without the gaps between them.
    const messageWidth = layout.widths.reduce((a, b) => a + b, 0) - MESSAGE_INDENT.length;
    out.push(renderRows(layout, options.noHeaders, findings.flatMap((f) => {
      const row: Row = [f.rule, objectName(f)];
      if (options.wide) row.push(fixOf(f), f.fingerprint);
      return [row, [{ colSpan: layout.widths.length, content: wrapText(f.message, messageWidth).map((l) => MESSAGE_INDENT + l).join('\n') }]];
    })));
    out.push('');
  }

  const notRun = report.rules.filter((r) => r.status === 'skipped' || r.status === 'error' || r.gaps);
  if (notRun.length > 0) {
    const ruleWidth = Math.max(4, ...notRun.map((r) => r.id.length));
    const layout = { head: ['RULE', 'STATUS', 'REASON'], widths: [ruleWidth, 7, Math.max(20, options.width - ruleWidth - 11)] };
    out.push(renderRows(layout, options.noHeaders, notRun.map((r) => [r.id, r.status === 'pass' || r.status === 'fail' ? 'partial' : r.status, r.reason ?? ''])));
    out.push('');
  }

  out.push(...wrapText(summaryLine(report), options.width));
  return `${out.join('\n')}\n`;
}

interface Layout {
  head: string[];
  widths: number[];
}

const GAP = 2;

const MESSAGE_INDENT = '  ';

/** Widths that fit the longest rule id, and the object name in what is left (wrapped beyond that). */
function findingsLayout(findings: Finding[], options: TableOptions): Layout {
  const head = options.wide ? ['RULE', 'OBJECT', 'FIX', 'FINGERPRINT'] : ['RULE', 'OBJECT'];
  const ruleWidth = Math.max(4, ...findings.map((f) => f.rule.length));
  const extra = options.wide ? [22, 16] : [];
  const rest = options.width - ruleWidth - extra.reduce((a, b) => a + b, 0) - GAP * (head.length - 1);
  // The object column takes the rest of the width even when names are short: the message line spans the columns.
  return { head, widths: [ruleWidth, Math.max(20, rest), ...extra] };
}

type Row = (string | { colSpan: number; content: string })[];

function renderRows(layout: Layout, noHeaders: boolean, rows: Row[]): string {
  const table = new Table({
    head: noHeaders ? [] : layout.head,
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colWidths: layout.widths,
    wordWrap: true,
    wrapOnWordBoundary: true,
  });
  // cli-table3 truncates a word longer than its column with an ellipsis; break such words instead, so names survive.
  for (const row of rows) table.push(row.map((cell, i) => typeof cell === 'string' ? hardWrap(cell, layout.widths[i]!) : cell));
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
}

/** Greedy word wrap; a word longer than the width is broken. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of hardWrap(text, width).split(/[ \n]+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function hardWrap(text: string, width: number): string {
  return text.split(' ').map((word) => word.length <= width ? word : word.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n')).join(' ');
}

/** `Kind/namespace/name`, as kubectl names objects across kinds. */
function objectName(f: Finding): string {
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
    `${rules.total} rule${rules.total === 1 ? '' : 's'}: ${rules.pass} pass, ${rules.fail} fail, ${rules.skipped} skipped, ${rules.error} error`,
  ];
  if (!report.complete) parts.push('scan incomplete');
  return `${parts.join('; ')}.`;
}
