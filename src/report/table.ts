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

const BORDERLESS = {
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
    out.push(renderRows(layout, options.noHeaders, findings.map((f) => {
      const row = [f.rule, objectName(f), f.message];
      if (options.wide) row.push(fixOf(f), f.fingerprint);
      return row;
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

  out.push(summaryLine(report));
  return `${out.join('\n')}\n`;
}

interface Layout {
  head: string[];
  widths: number[];
}

const GAP = 2;

/** The message column never gets narrower than this. */
const MIN_MESSAGE = 30;

/**
 * Widths that fit the longest rule id and object name, the message taking the rest. The object column is capped
 * at 40 and gives way (down to 20, wrapped beyond) so that long rule ids still leave the message MIN_MESSAGE columns
 * within the width.
 */
function findingsLayout(findings: Finding[], options: TableOptions): Layout {
  const head = options.wide ? ['RULE', 'OBJECT', 'MESSAGE', 'FIX', 'FINGERPRINT'] : ['RULE', 'OBJECT', 'MESSAGE'];
  const ruleWidth = Math.max(4, ...findings.map((f) => f.rule.length));
  const extra = options.wide ? [20, 16] : [];
  const fixed = ruleWidth + extra.reduce((a, b) => a + b, 0) + GAP * (head.length - 1);
  const longestObject = Math.max(6, ...findings.map((f) => objectName(f).length));
  const objectWidth = Math.min(longestObject, Math.max(20, Math.min(40, options.width - fixed - MIN_MESSAGE)));
  return { head, widths: [ruleWidth, objectWidth, Math.max(MIN_MESSAGE, options.width - fixed - objectWidth), ...extra] };
}

function renderRows(layout: Layout, noHeaders: boolean, rows: string[][]): string {
  const table = new Table({
    head: noHeaders ? [] : layout.head,
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colWidths: layout.widths,
    wordWrap: true,
    wrapOnWordBoundary: true,
  });
  // cli-table3 truncates a word longer than its column with an ellipsis; break such words instead, so names survive.
  for (const row of rows) table.push(row.map((cell, i) => hardWrap(cell, layout.widths[i]!)));
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
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
