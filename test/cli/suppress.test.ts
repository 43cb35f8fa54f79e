// Suppressions through the CLI (main() in-process, snapshot fixtures): the object's annotation, a --suppressions
// file (with an expired entry) and a baseline each take out exactly what they name, and every finding taken out is
// counted and listed with why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertValidReport, runMain } from './run-cli.ts';
import { tempDir } from '../temp.ts';
import { compareStrings } from '../../src/util/collections.ts';

const FIXTURE = 'test/fixtures/suppress/stuck.yaml';
const NOW = '2026-03-01T00:00:00Z';

const run = (args: string[]) => runMain(args);

const scan = (...args: string[]) => run(['--snapshot', FIXTURE, '--now', NOW, '--rules', 'core/stuck-deletion', ...args]);

interface Json {
  findings: { rule: string; object: { name: string }; fingerprint: string }[];
  rules: { id: string; status: string; findings: number }[];
  summary: { findings: { total: number }; suppressed: number };
  suppressed: { fingerprint: string; rule: string; object: { name: string }; by: string; reason?: string; expires?: string }[];
  expiredSuppressions?: { reason: string; expires: string }[];
  baselineGone?: { fingerprint: string; object: { name: string } }[];
}

async function json(...args: string[]): Promise<{ code: number; stderr: string; report: Json }> {
  const r = await scan('-o', 'json', ...args);
  const report = JSON.parse(r.stdout) as Json;
  assertValidReport(report);
  return { code: r.code, stderr: r.stderr, report };
}

const names = (items: { object: { name: string } }[]) => items.map((i) => i.object.name).sort();

test('the doctor.kubectl.io/ignore annotation suppresses the rules it names on that object only, with its reason', async () => {
  const { code, report } = await json();
  assert.equal(code, 1);
  assert.deepEqual(names(report.findings), ['legacy', 'plain'], 'an annotation naming another rule suppresses nothing');
  assert.equal(report.summary.suppressed, 1);
  assert.equal(report.summary.findings.total, 2);
  assert.deepEqual(
    report.suppressed.map(({ object, by, reason, rule }) => ({ name: object.name, by, reason, rule })),
    [{ name: 'annotated', by: 'annotation', reason: 'waiting for the vendor fix', rule: 'core/stuck-deletion' }],
  );
  const table = await scan();
  assert.match(table.stdout, /; 1 suppressed\.\n$/);
  assert.doesNotMatch(table.stdout, /annotated/);
});

test('a --suppressions file: selector and name entries suppress, an expired entry does not and says so; all suppressed exits 0', async () => {
  const dir = tempDir('suppress');
  const file = join(dir, 'suppressions.yaml');
  writeFileSync(
    file,
    `suppressions:
- rule: core/*
  selector: team=legacy
  reason: legacy team migrates in Q1
  expires: 2026-04-01
- kind: ConfigMap
  namespace: app
  name: pla*
  reason: accepted until the end of February
  expires: 2026-02-28
`,
  );
  const { code, stderr, report } = await json('--suppressions', file);
  assert.equal(code, 1, 'the expired entry no longer hides "plain"');
  assert.deepEqual(names(report.findings), ['plain']);
  assert.deepEqual(
    report.suppressed
      .map(({ object, by, reason, expires }) => ({ name: object.name, by, reason, expires }))
      .sort((a, b) => compareStrings(a.name, b.name)),
    [
      { name: 'annotated', by: 'annotation', reason: 'waiting for the vendor fix', expires: undefined },
      { name: 'legacy', by: 'file', reason: 'legacy team migrates in Q1', expires: '2026-04-01' },
    ],
  );
  assert.deepEqual(
    report.expiredSuppressions?.map((e) => [e.reason, e.expires]),
    [['accepted until the end of February', '2026-02-28']],
  );
  assert.match(
    stderr,
    /^warning: suppression for ConfigMap\/app\/pla\* expired on 2026-02-28 and no longer applies \(accepted until the end of February\)$/m,
  );

  // Before its expiry the same entry applies: nothing left, the rule passes, exit 0.
  const earlier = await run([
    '--snapshot',
    FIXTURE,
    '--now',
    '2026-02-27T00:00:00Z',
    '--min-age',
    '0s',
    '--rules',
    'core/stuck-deletion',
    '--suppressions',
    file,
    '-o',
    'json',
  ]);
  const r = JSON.parse(earlier.stdout) as Json;
  assert.equal(earlier.code, 0, earlier.stderr);
  assert.deepEqual(r.findings, []);
  assert.equal(r.summary.suppressed, 3);
  assert.deepEqual(
    r.rules.map((x) => [x.status, x.findings]),
    [['pass', 0]],
  );
  assert.equal(earlier.stderr, '');
});

test('a bad --suppressions file is one error line naming the entry and what to write', async () => {
  const dir = tempDir('suppress-bad');
  const cases: [string, RegExp][] = [
    ['suppressions:\n- reason: everything\n', /suppressions\[0\]: name a rule, a fingerprint or an object/],
    ['suppressions:\n- rule: core/*\n', /suppressions\[0\]: "reason" is required/],
    [
      'suppressions:\n- rule: core/*\n  reason: x\n  expires: soon\n',
      /suppressions\[0\]: invalid expires "soon": use a date such as 2026-12-31/,
    ],
    ['suppressions:\n- rule: core/*\n  reason: x\n  namespaces: a\n', /suppressions\[0\]: unknown field "namespaces"/],
    ['suppression: []\n', /unknown field "suppression" \(known: suppressions, ignoreGaps\)/],
  ];
  for (const [text, pattern] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, text);
    const r = await scan('--suppressions', file);
    assert.equal(r.code, 2, text);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: .*\n$/);
    assert.match(r.stderr, pattern);
  }
  const missing = await scan('--suppressions', join(dir, 'nope.yaml'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: cannot read --suppressions .*nope\.yaml: no such file\n$/);
  const notBaseline = await scan('--baseline', join(dir, 'bad.yaml'));
  assert.match(notBaseline.stderr, /^error: .* is not a baseline .*; write one with --write-baseline FILE\n$/);
});

test('--write-baseline records the findings; --baseline reports only new ones and lists those now gone', async () => {
  const dir = tempDir('baseline');
  const baseline = join(dir, 'baseline.json');
  const first = await json('--write-baseline', baseline);
  assert.equal(first.code, 1);
  const written = JSON.parse(readFileSync(baseline, 'utf8')) as {
    kind: string;
    findings: { fingerprint: string; rule: string; object: { name: string } }[];
  };
  assert.equal(written.kind, 'Baseline');
  // What the run reported, not what the annotation already suppressed.
  assert.deepEqual(names(written.findings), ['legacy', 'plain']);
  assert.deepEqual(written.findings.map((f) => f.fingerprint).sort(), first.report.findings.map((f) => f.fingerprint).sort());

  // Nothing new: exit 0, both counted as baselined.
  const same = await json('--baseline', baseline);
  assert.equal(same.code, 0);
  assert.deepEqual(same.report.findings, []);
  assert.deepEqual(
    same.report.suppressed
      .filter((s) => s.by === 'baseline')
      .map((s) => s.object.name)
      .sort(),
    ['legacy', 'plain'],
  );
  assert.deepEqual(same.report.baselineGone, []);

  // A baseline that knew "legacy" and an object fixed since: "plain" is new, the fixed one is gone.
  const gone = {
    fingerprint: '0000000000000000',
    rule: 'core/stuck-deletion',
    object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'app', name: 'fixed-since' },
  };
  writeFileSync(baseline, JSON.stringify({ kind: 'Baseline', findings: [written.findings.find((f) => f.object.name === 'legacy'), gone] }));
  const later = await json('--baseline', baseline);
  assert.equal(later.code, 1);
  assert.deepEqual(names(later.report.findings), ['plain']);
  assert.deepEqual(
    later.report.baselineGone?.map((g) => g.object.name),
    ['fixed-since'],
  );
  const table = await scan('--baseline', baseline);
  // The summary wraps at the table width: compare it as one line.
  assert.match(
    table.stdout.replace(/\n(?=.)/g, ' '),
    /1 finding \(1 error\); 1 rule: 0 pass, 1 fail, 0 skipped, 0 error; 2 suppressed; 1 baseline finding gone\.\n$/,
  );
});

test('candidates younger than their threshold are counted in the summary, listed by -v and in JSON; --min-age 0s reports them', async () => {
  const young = ['--snapshot', FIXTURE, '--now', '2026-02-01T00:00:30Z', '--rules', 'core/stuck-deletion'];
  const table = await run(young);
  assert.equal(table.code, 0);
  assert.match(
    table.stdout.replace(/\n(?=.)/g, ' '),
    /No findings; 1 rule: 1 pass, 0 fail, 0 skipped, 0 error; 3 candidates younger than their thresholds \(--min-age 0s shows them; -v lists them\)\.\n$/,
  );
  assert.doesNotMatch(table.stderr, /held back/);
  const verbose = await run([...young, '-v']);
  assert.deepEqual(
    verbose.stderr.split('\n').filter((l) => l.includes('held back')),
    ['annotated', 'legacy', 'plain'].map(
      (n) => `doctor: held back: core/stuck-deletion ConfigMap/app/${n}: deleting for 30s, reported after 15m`,
    ),
  );
  const json = JSON.parse((await run([...young, '-o', 'json'])).stdout) as {
    summary: { heldBack: number };
    heldBack: { rule: string; object: { name: string }; reason: string }[];
  };
  assertValidReport(json);
  assert.equal(json.summary.heldBack, 3);
  assert.deepEqual(
    json.heldBack.map((h) => h.object.name),
    ['annotated', 'legacy', 'plain'],
  );
  const shown = JSON.parse((await run([...young, '--min-age', '0s', '-o', 'json'])).stdout) as Json & { summary: { heldBack: number } };
  assert.equal(shown.summary.heldBack, 0);
  assert.deepEqual(names(shown.findings), ['legacy', 'plain']);
});

test('-l narrows the findings to objects with matching labels: the others are out of scope, not suppressed', async () => {
  const { code, report } = await json('-l', 'team=legacy');
  assert.equal(code, 1);
  assert.deepEqual(names(report.findings), ['legacy']);
  assert.equal(report.summary.suppressed, 0);
  const none = await json('-l', 'team in (nobody)');
  assert.deepEqual([none.code, none.report.findings, none.report.rules.map((r) => r.status)], [0, [], ['pass']]);
  const bad = await scan('-l', 'team==(');
  assert.deepEqual([bad.code, bad.stdout], [2, '']);
  assert.match(bad.stderr, /^error: invalid label selector "team==\(": cannot parse "team==\("\n$/);
});

interface Related {
  rule: string;
  fingerprint: string;
  object: { kind: string; name: string };
  remediation?: unknown;
  related?: { ledBy?: string; seeAlso?: string[] };
}

/** The example dump's findings (every rule) with these arguments, related as the report shows them. */
async function exampleFindings(...args: string[]): Promise<Related[]> {
  const r = await runMain(['--snapshot', 'examples/cluster-dump', '-o', 'json', ...args]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const report = JSON.parse(r.stdout) as { findings: Related[] };
  assertValidReport(report);
  // No finding points at one the report does not show.
  const shown = new Set(report.findings.map((f) => f.fingerprint));
  for (const f of report.findings)
    for (const fp of [f.related?.ledBy, ...(f.related?.seeAlso ?? [])].filter((x) => x !== undefined))
      assert.ok(shown.has(fp), `${f.rule} ${f.object.kind}/${f.object.name} points at ${fp}, which is not shown`);
  return report.findings;
}

test('related findings are related after suppression: a suppressed leader leaves no follower pointing at it, planless', async () => {
  const all = await exampleFindings();
  const move = all.find((f) => f.rule === 'cluster-api/interrupted-move')!;
  const paused = all.find((f) => f.rule === 'cluster-api/paused-deletion')!;
  assert.equal(paused.related?.ledBy, move.fingerprint, 'the full scan: the move leads');
  assert.equal(paused.remediation, undefined);

  const file = join(tempDir('related'), 'suppressions.yaml');
  writeFileSync(file, 'suppressions:\n  - rule: cluster-api/interrupted-move\n    reason: moving it by hand\n');
  const left = await exampleFindings('--suppressions', file);
  assert.ok(!left.some((f) => f.rule === 'cluster-api/interrupted-move'));
  // The next most specific rule leads now, with its own plan; the rule it refines follows it.
  const lead = left.find((f) => f.rule === 'cluster-api/paused-deletion')!;
  assert.equal(lead.related?.ledBy, undefined);
  assert.ok(lead.remediation, 'the new leader carries its own plan again');
  const onCluster = left.find((f) => f.rule === 'core/stuck-deletion' && f.object.kind === 'Cluster')!;
  assert.equal(onCluster.related?.ledBy, lead.fingerprint);
  // A follower no other shown finding covers stands alone with its own plan.
  const machine = left.find((f) => f.rule === 'core/stuck-deletion' && f.object.kind === 'Machine')!;
  assert.equal(machine.related, undefined);
  assert.ok(machine.remediation);
});

test('narrowing keeps the finding that carries a shown finding its plan: TYPE/NAME, --fingerprint', async () => {
  const all = await exampleFindings();
  const move = all.find((f) => f.rule === 'cluster-api/interrupted-move')!;
  const machine = all.find((f) => f.rule === 'core/stuck-deletion' && f.object.kind === 'Machine')!;
  for (const args of [[`machines.cluster.x-k8s.io/${machine.object.name}`], ['--fingerprint', machine.fingerprint]]) {
    const shown = await exampleFindings(...args);
    assert.deepEqual(
      shown.map((f) => f.fingerprint).sort(),
      [machine.fingerprint, move.fingerprint].sort(),
      `${args.join(' ')}: the Machine's finding and the move's, whose plan covers it`,
    );
  }
});

test('a --suppressions entry can name a finding reason code: it accepts that kind of finding of a rule, not the others', async () => {
  const dir = tempDir('suppress-reason');
  const file = join(dir, 'suppressions.yaml');
  const example = (extra: string[]) =>
    runMain(['--snapshot', 'examples/cluster-dump', '--rules', 'kubevela/*,fleet/*', '-o', 'json', '--suppressions', file, ...extra]);
  writeFileSync(file, 'suppressions:\n- rule: kubevela/*\n  findingReason: addon-args\n  reason: the addon is re-enabled next week\n');
  const accepted = JSON.parse((await example([])).stdout) as Json;
  assertValidReport(accepted);
  assert.deepEqual(
    accepted.suppressed.map((x) => [x.rule, x.by, x.reason]),
    [['kubevela/orphaned-cluster-reference', 'file', 'the addon is re-enabled next week']],
  );
  assert.deepEqual(
    accepted.findings.map((f) => f.rule),
    ['fleet/missing-values-secret'],
  );
  // Another reason of the same rule: nothing accepted.
  writeFileSync(file, 'suppressions:\n- rule: kubevela/*\n  findingReason: stale-*\n  reason: bookkeeping only\n');
  const other = JSON.parse((await example([])).stdout) as Json;
  assert.deepEqual(other.suppressed, []);
  assert.deepEqual(other.findings.map((f) => f.rule).sort(), ['fleet/missing-values-secret', 'kubevela/orphaned-cluster-reference']);
});
