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
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/** kubectl-like borderless tables, findings grouped by severity, a summary line last. */
export function renderTable(report: Report, options: TableOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  const out: string[] = [];

  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    out.push(paint(SEVERITY_STYLE[severity], `${severity.toUpperCase()} (${findings.length})`));
    out.push(findingsTable(findings, options));
    out.push('');
  }

  const notRun = report.rules.filter((r) => r.status === 'skipped' || r.status === 'error' || r.gaps);
  if (notRun.length > 0) {
    const table = new Table({
      head: options.noHeaders ? [] : ['RULE', 'STATUS', 'REASON'],
      chars: BORDERLESS,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      colWidths: [34, 9, Math.max(20, options.width - 47)],
      wordWrap: true,
    });
    for (const r of notRun) table.push([r.id, r.status === 'pass' || r.status === 'fail' ? 'partial' : r.status, r.reason ?? '']);
    out.push(table.toString());
    out.push('');
  }

  out.push(summaryLine(report));
  return `${out.join('\n')}\n`;
}

function findingsTable(findings: Finding[], options: TableOptions): string {
  const head = options.wide ? ['RULE', 'OBJECT', 'MESSAGE', 'FIX', 'FINGERPRINT'] : ['RULE', 'OBJECT', 'MESSAGE'];
  const ruleWidth = Math.min(34, Math.max(...findings.map((f) => f.rule.length)) + 2);
  const objectWidth = Math.min(40, Math.max(8, ...findings.map((f) => objectName(f).length)) + 2);
  const fixed = ruleWidth + objectWidth + (options.wide ? 14 + 18 : 0);
  const colWidths = [ruleWidth, objectWidth, Math.max(30, options.width - fixed)];
  if (options.wide) colWidths.push(14, 18);
  const table = new Table({
    head: options.noHeaders ? [] : head,
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
  });
  for (const f of findings) {
    const row = [f.rule, objectName(f), f.message];
    if (options.wide) row.push(fixOf(f), f.fingerprint);
    table.push(row);
  }
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
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
