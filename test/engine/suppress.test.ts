// applySuppressions at the size of a big scan: a --suppressions file or a baseline listing every finding of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySuppressions, type SuppressionEntry } from '../../src/engine/suppress.ts';
import { fingerprintOf, type Finding } from '../../src/engine/finding.ts';
import type { ScanResult } from '../../src/engine/scan.ts';
import { scanResultOf } from '../scan-result.ts';

function scanOf(findings: Finding[]): ScanResult {
  return scanResultOf(findings, {
    startedAt: new Date('2026-03-01T00:00:00Z'),
    now: new Date('2026-03-01T00:00:00Z'),
    rules: [{ id: 'core/stuck-deletion', status: 'fail', severity: 'error', incomplete: false, durationMs: 0, findings: findings.length }],
    findingObjects: new Map(
      findings.map((f) => [
        f.fingerprint,
        { name: f.object.name, labels: { team: Number(f.object.name.slice(3)) % 7 === 0 ? 'legacy' : 'web' } },
      ]),
    ),
  });
}

test('a file naming thousands of findings by fingerprint: each finding is taken out by the first live entry that matches, in file order', () => {
  const findings = Array.from({ length: 20_000 }, (_, i): Finding => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', namespace: `ns-${i % 40}`, name: `cm-${i}` };
    return {
      rule: 'core/stuck-deletion',
      severity: 'warning',
      object,
      reason: 'finalizer-not-removed',
      message: 'deleting',
      evidence: {},
      fingerprint: fingerprintOf('core/stuck-deletion', object),
    };
  });
  const entries: SuppressionEntry[] = [
    // Expired entries for every finding first: they take nothing out.
    ...findings.map((f) => ({ fingerprint: f.fingerprint, reason: 'old', expires: '2026-01-01' })),
    // A pattern before the fingerprints wins over them for what it matches (every 7th finding's object)...
    { rule: 'core/*', selector: 'team=legacy', reason: 'legacy pattern' },
    // ...then one entry per finding but the last 1,000, two for every 5th (the first one listed wins).
    ...findings
      .slice(0, -1000)
      .flatMap((f, i) => [
        { fingerprint: f.fingerprint, reason: `fingerprint ${i}` },
        ...(i % 5 === 0 ? [{ fingerprint: f.fingerprint, reason: `again ${i}` }] : []),
      ]),
    // A pattern after them takes out only what they leave: the last 1,000 in ns-1 and ns-10..ns-19.
    { namespace: 'ns-1*', reason: 'late pattern' },
    { name: 'cm-1*', rule: 'other/*', reason: 'another rule' },
  ].map((e) => e as SuppressionEntry);
  const outcome = applySuppressions(scanOf(findings), { file: { suppressions: entries, ignoreGaps: [] } });
  assert.equal(outcome.expired.length, 20_000);
  const reasonOf = new Map(outcome.suppressed.map((s) => [s.fingerprint, s.reason]));
  const expected = (f: Finding, i: number) =>
    i % 7 === 0 ? 'legacy pattern' : i < 19_000 ? `fingerprint ${i}` : /^ns-1\d?$/.test(f.object.namespace!) ? 'late pattern' : undefined;
  findings.forEach((f, i) => assert.equal(reasonOf.get(f.fingerprint), expected(f, i), `finding ${i}`));
  assert.ok(outcome.suppressed.some((s) => s.reason === 'late pattern'));
  assert.deepEqual(
    outcome.suppressed.map((s) => s.fingerprint),
    findings.filter((f, i) => expected(f, i) !== undefined).map((f) => f.fingerprint),
    'in the order of the findings',
  );
  assert.deepEqual(
    outcome.findings.map((f) => f.object.name),
    findings.filter((f, i) => expected(f, i) === undefined).map((f) => f.object.name),
  );
  assert.ok(outcome.findings.length > 0);
});
