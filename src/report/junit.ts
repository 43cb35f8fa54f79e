import type { Report } from './report.ts';
import { objectName } from './table.ts';
import { visible } from '../util/terminal.ts';

/**
 * JUnit XML of a Report, as CI systems show test results: one testcase per rule, one failure per finding, skipped
 * and errored rules as such; a partial rule passes with its reason on system-err. Cluster text is shown with
 * control characters as escapes (XML 1.0 cannot carry most of them) and then XML-escaped.
 */
export function renderJunit(report: Report): string {
  const counts = {
    tests: report.rules.length,
    failures: report.rules.filter((r) => r.findings > 0).length,
    errors: report.rules.filter((r) => r.status === 'error').length,
    skipped: report.rules.filter((r) => r.status === 'skipped').length,
  };
  const totals = `tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}"`;
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kubectl-doctor" ${totals}>`,
    `  <testsuite name="kubectl-doctor" ${totals} timestamp="${attr(report.metadata.generatedAt)}" time="${time(report.rules.reduce((sum, r) => sum + r.durationMs, 0))}">`,
  ];
  for (const r of report.rules) {
    out.push(`    <testcase classname="kubectl-doctor.${attr(r.id.split('/')[0]!)}" name="${attr(r.id)}" time="${time(r.durationMs)}">`);
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
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

function text(value: string): string {
  return visible(value, { keepNewlines: true }).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(visible(value)).replace(/"/g, '&quot;');
}
