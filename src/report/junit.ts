import type { Report } from './report.ts';
import { contextOf, type ReportList } from './report-list.ts';
import { objectName } from './table.ts';
import { visible } from '../util/terminal.ts';
import { pushAll } from '../util/collections.ts';

/**
 * JUnit XML of a Report, as CI systems show test results: one testcase per rule, one failure per finding, skipped
 * and errored rules as such; a partial rule passes with its reason on system-err. Cluster text is shown with
 * control characters as escapes (XML 1.0 cannot carry most of them) and then XML-escaped.
 */
export function renderJunit(report: Report): string {
  const suite = testsuite(report, 'kubectl-doctor');
  return document(suite.counts, suite.lines);
}

/**
 * JUnit XML of a scan of several contexts: one testsuite per context, named `kubectl-doctor <context>` with the
 * server as its hostname, and the context in each testcase's classname (`kubectl-doctor.<context>.<ecosystem>`) for
 * CI systems that flatten the suites. A context that could not be scanned is a suite with one errored testcase.
 */
export function renderJunitList(list: ReportList): string {
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const lines: string[] = [];
  const add = (suite: { counts: typeof total; lines: string[] }) => {
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += suite.counts[k];
    pushAll(lines, suite.lines);
  };
  for (const report of list.items) add(testsuite(report, `kubectl-doctor ${contextOf(report)}`, contextOf(report)));
  for (const f of list.summary.failed) {
    const counts = { tests: 1, failures: 0, errors: 1, skipped: 0 };
    add({
      counts,
      lines: [
        `  <testsuite name="${attr(`kubectl-doctor ${f.context}`)}"${f.server ? ` hostname="${attr(f.server)}"` : ''} ${totals(counts)} timestamp="${attr(list.metadata.generatedAt)}" time="0.000">`,
        `    <testcase classname="${attr(`kubectl-doctor.${f.context}`)}" name="scan" time="0.000">`,
        `      <error type="${f.reason}" message="${attr(`not scanned: ${f.message}`)}"/>`,
        '    </testcase>',
        '  </testsuite>',
      ],
    });
  }
  return document(total, lines);
}

type Counts = { tests: number; failures: number; errors: number; skipped: number };

function totals(c: Counts): string {
  return `tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}"`;
}

function document(counts: Counts, suites: string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kubectl-doctor" ${totals(counts)}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function testsuite(report: Report, name: string, context?: string): { counts: Counts; lines: string[] } {
  const counts = {
    tests: report.rules.length,
    failures: report.rules.filter((r) => r.findings > 0).length,
    errors: report.rules.filter((r) => r.status === 'error').length,
    skipped: report.rules.filter((r) => r.status === 'skipped').length,
  };
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const host = context !== undefined && report.source.type === 'live' ? ` hostname="${attr(report.source.server)}"` : '';
  const classPrefix = context !== undefined ? `kubectl-doctor.${context}` : 'kubectl-doctor';
  const out = [
    `  <testsuite name="${attr(name)}"${host} ${totals(counts)} timestamp="${attr(report.metadata.generatedAt)}" time="${time(report.rules.reduce((sum, r) => sum + r.durationMs, 0))}">`,
  ];
  for (const r of report.rules) {
    out.push(
      `    <testcase classname="${attr(`${classPrefix}.${r.id.split('/')[0]!}`)}" name="${attr(r.id)}" time="${time(r.durationMs)}">`,
    );
    if (r.status === 'skipped') out.push(`      <skipped message="${attr(r.reason ?? '')}"/>`);
    if (r.status === 'error') out.push(`      <error message="${attr(r.reason ?? '')}"/>`);
    for (const f of report.findings.filter((x) => x.rule === r.id)) {
      out.push(
        `      <failure type="${f.severity}" message="${attr(`${objectName(f)}: ${f.message}`)}">${text(`${f.severity} ${objectName(f)} (fingerprint ${f.fingerprint})\n${f.message}`)}</failure>`,
      );
    }
    if (r.status !== 'skipped' && r.status !== 'error' && r.incomplete && r.reason)
      out.push(`      <system-err>${text(`incomplete: ${r.reason}`)}</system-err>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>');
  return { counts, lines: out };
}

function text(value: string): string {
  return visible(value, { keepNewlines: true }).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(visible(value)).replace(/"/g, '&quot;');
}
