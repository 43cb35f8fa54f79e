import { test } from 'node:test';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { buildReport } from '../../src/report/report.ts';
import { renderTable, wrapText } from '../../src/report/table.ts';
import { displayWidth } from '../../src/util/terminal.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { runScan } from '../../src/engine/scan.ts';
import { defineRule } from '../../src/engine/rule.ts';
import { main } from '../../src/cli/main.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { fingerprintOf, type Finding } from '../../src/engine/finding.ts';
import { COMPLETE_COVERAGE, FIXTURES } from '../rule-tester.ts';
import { tempDir } from '../temp.ts';
import { scanResultOf } from '../scan-result.ts';

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'team-a', uid: 'u1' } },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a-rather-long-configmap-name-that-needs-room', namespace: 'team-b', uid: 'u2' },
  },
];

const rule = defineRule({
  meta: {
    id: 'demo/configmap-check',
    summary: 'demo',
    severity: 'error',
    ecosystem: 'demo',
    fixable: false,
    reads: { cms: { resource: 'configmaps' } },
    reasons: { found: '{{message}}' },
    explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
  },
  check(ctx) {
    return ctx.list('cms').map((cm, i) =>
      ctx.finding(cm, {
        severity: i === 0 ? 'critical' : 'warning',
        reason: 'found',
        data: {
          message:
            i === 0
              ? 'short message'
              : 'a long message that has to wrap because it does not fit into the message column of a table that is one hundred columns wide',
        },
        evidence: {},
        remediation: {
          summary: 'x',
          steps: [{ title: 't', risk: 'destructive', reversible: false, action: { type: 'manual', instructions: 'do it' } }],
        },
      }),
    );
  },
});
const skipped = defineRule({
  meta: { ...rule.meta, id: 'demo/needs-addons', reads: { addons: { resource: 'addons.harvesterhci.io' } } },
  check: () => [],
});

async function report() {
  const scan = await runScan(new SnapshotSource(objects), {
    rules: [rule, skipped],
    now: new Date('2026-11-22T12:00:00Z'),
    concurrency: 1,
  });
  return buildReport(scan, '0.0.0');
}

test('the table groups findings by severity, each message on its own lines under rule and object, within 100 columns', async () => {
  const text = renderTable(await report(), { wide: false, noHeaders: false, color: false, width: 100 });
  assert.equal(
    text,
    [
      'CRITICAL (1)',
      'RULE                  OBJECT',
      'demo/configmap-check  ConfigMap/team-a/settings',
      '  short message',
      '',
      'WARNING (1)',
      'RULE                  OBJECT',
      'demo/configmap-check  ConfigMap/team-b/a-rather-long-configmap-name-that-needs-room',
      '  a long message that has to wrap because it does not fit into the message column of a table that is',
      '  one hundred columns wide',
      '',
      'RULE               STATUS   REASON',
      'demo/needs-addons  skipped  api not served: addons.harvesterhci.io',
      '',
      '2 findings (1 critical, 1 warning); 2 rules: 0 pass, 1 fail, 1 skipped, 0 error.',
      '',
    ].join('\n'),
  );
});

test('narrow terminals: rule ids and object names never wrap (a copied name is the name); the message does', async () => {
  const longRule = defineRule({ ...rule, meta: { ...rule.meta, id: 'core/namespace-stuck-terminating' } });
  const scan = await runScan(new SnapshotSource(objects), { rules: [longRule], now: new Date('2026-11-22T12:00:00Z'), concurrency: 1 });
  const text = renderTable(buildReport(scan, '0.0.0'), { wide: false, noHeaders: false, color: false, width: 60 });
  const lines = text.split('\n');
  assert.doesNotMatch(text, /…/);
  assert.deepEqual(lines.slice(6, 11), [
    'RULE                              OBJECT',
    'core/namespace-stuck-terminating  ConfigMap/team-b/a-rather-long-configmap-name-that-needs-room',
    '  a long message that has to wrap because it does not fit',
    '  into the message column of a table that is one hundred',
    '  columns wide',
  ]);
  // Not a terminal (no width): nothing wraps, each message is one line.
  const piped = renderTable(buildReport(scan, '0.0.0'), { wide: false, noHeaders: false, color: false }).split('\n');
  assert.equal(
    piped[8],
    '  a long message that has to wrap because it does not fit into the message column of a table that is one hundred columns wide',
  );
});

test('-o wide adds the fix plan size with its worst risk, and the fingerprint; --no-headers drops headers', async () => {
  const text = renderTable(await report(), { wide: true, noHeaders: true, color: false, width: 140 });
  assert.match(text, /ConfigMap\/team-a\/settings\s+1 step \(destructive\)\s+[0-9a-f]{16}\n  short message/);
  assert.doesNotMatch(text, /^RULE/m);
});

test('colour only on a terminal, and never with NO_COLOR or --no-color', async () => {
  const dump = tempDir('table');
  copyFileSync(join(FIXTURES, 'snapshot', 'single.yaml'), join(dump, 'single.yaml'));
  writeFileSync(join(dump, 'coverage.yaml'), COMPLETE_COVERAGE);
  const run = async (args: string[], env: NodeJS.ProcessEnv) => {
    let out = '';
    const stdout = {
      write: (t: string) => {
        out += t;
      },
      isTTY: true,
      columns: 100,
    };
    await main(['--snapshot', dump, ...args], { stdout, stderr: { write: () => undefined }, env }, { rules: [rule] });
    return out;
  };
  // eslint-disable-next-line no-control-regex
  const ansi = /\u001b\[/;
  assert.match(await run([], {}), ansi);
  assert.doesNotMatch(await run([], { NO_COLOR: '1' }), ansi);
  assert.doesNotMatch(await run(['--no-color'], {}), ansi);
});

/** One finding whose message and object name are given, in a report. */
async function reportOf(message: string, name = 'settings', ruleId = 'demo/configmap-check') {
  const one = defineRule({
    ...rule,
    meta: { ...rule.meta, id: ruleId },
    check: (ctx) => ctx.list('cms').map((cm) => ctx.finding(cm, { reason: 'found', data: { message }, evidence: {} })),
  });
  const scan = await runScan(
    new SnapshotSource([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'team-a', uid: 'u1' } }]),
    { rules: [one], now: new Date('2026-11-22T12:00:00Z'), concurrency: 1 },
  );
  return buildReport(scan, '0.0.0');
}

/** The OBJECT cell of a one-finding table: its row is the line after the header, cells two or more spaces apart. */
function objectColumn(text: string): string {
  return text.split('\n')[2]!.split(/ {2,}/)[1]!;
}

const words = (kb: number) =>
  Array.from({ length: kb * 128 }, (_, i) => `w${(i % 1000).toString().padStart(5, '0')}`)
    .join(' ')
    .slice(0, kb * 1024);

test('64 KB messages and object names render whole, in the table and -o wide, in output linear in their length', async () => {
  for (const wide of [false, true]) {
    const render = async (message: string, name?: string) =>
      renderTable(await reportOf(message, name), { wide, noHeaders: false, color: false, width: 100 });
    const base = (await render('')).length;
    const [m16, m64] = [await render(words(16)), await render(words(64))];
    const [n16, n64] = [await render('m', 'n'.repeat(16 * 1024)), await render('m', 'n'.repeat(64 * 1024))];
    for (const line of m64.split('\n')) assert.ok(line.length <= 100, `${line.length} columns`);
    for (const text of [m64, n64]) assert.doesNotMatch(text, /…/);
    assert.ok(m64.replace(/\s+/g, '').includes(words(64).replace(/\s+/g, '')), 'every word of the message, in order');
    assert.ok(objectColumn(n64) === `ConfigMap/team-a/${'n'.repeat(64 * 1024)}`, 'the whole name');
    // Four times the text, four times the output: wrapping adds a bounded amount per line, never per line drawn so far.
    for (const [small, large] of [
      [m16, m64],
      [n16, n64],
    ] as const) {
      const ratio = (large.length - base) / (small.length - base);
      assert.ok(ratio > 3.99 && ratio < 4.01, `output grows ${ratio.toFixed(3)}x for 4x the text`);
    }
  }
});

test('tables are drawn here, not by cli-table3 (its drawing is cubic in a multi-line cell and quadratic in rows)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const sources = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(sources.includes(join('report', 'table.ts')));
  for (const file of sources) assert.doesNotMatch(readFileSync(join('src', file), 'utf8'), /from 'cli-table3'/, file);
});

test('widths are measured on the escaped text: columns stay aligned and within the width', async () => {
  const text = renderTable(await reportOf('message \u001b[31mred', 'x\u001b]0;title\u0007y', 'demo/\u001b[2Jclear'), {
    wide: true,
    noHeaders: false,
    color: false,
    width: 100,
  });
  const lines = text.split('\n');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  const object = 'ConfigMap/team-a/x\\e]0;title\\x07y';
  assert.equal(lines[1], `${'RULE'.padEnd('demo/\\e[2Jclear'.length)}  ${'OBJECT'.padEnd(object.length)}  FIX  FINGERPRINT`);
  assert.match(lines[2]!, /^demo\/\\e\[2Jclear {2}ConfigMap\/team-a\/x\\e\]0;title\\x07y {2}- {4}[0-9a-f]{16}$/);
  assert.equal(lines[3], '  message \\e[31mred');
});

test('wide characters count two columns: CJK text wraps by columns and is never cut', async () => {
  const message = '日本語のメッセージ '.repeat(30);
  for (const wide of [false, true]) {
    const text = renderTable(await reportOf(message, '名前'.repeat(60)), { wide, noHeaders: false, color: false, width: 100 });
    for (const line of text.split('\n').filter((l) => l.startsWith('  ')))
      assert.ok(displayWidth(line) <= 100, `${displayWidth(line)} columns: ${line}`);
    assert.doesNotMatch(text, /…/);
    assert.equal(objectColumn(text), `ConfigMap/team-a/${'名前'.repeat(60)}`);
    assert.ok(text.replace(/\s+/g, '').includes(message.replace(/\s+/g, '')));
  }
  assert.deepEqual(wrapText('日本 語 🙂🙂🙂', 4), ['日本', '語', '🙂🙂', '🙂']);
});

test('a partial rule (an optional read it could not make) is listed with its reason and counted in the summary', async () => {
  const partial = defineRule({
    meta: {
      ...rule.meta,
      id: 'demo/partial',
      reads: { cms: { resource: 'configmaps' }, extra: { resource: 'addons.harvesterhci.io', optional: true } },
    },
    check(ctx) {
      ctx.optional('extra');
      return [];
    },
  });
  const scan = await runScan(new SnapshotSource(objects), { rules: [partial], now: new Date('2026-11-22T12:00:00Z'), concurrency: 1 });
  // A snapshot serves no addons: not served, so the rule is complete; make the read forbidden instead.
  const result = scan.rules[0]!;
  const forced = buildReport(
    {
      ...scan,
      rules: [{ ...result, status: 'partial', incomplete: true, reason: 'without optional data: forbidden: list addons.harvesterhci.io' }],
    },
    '0.0.0',
  );
  const text = renderTable(forced, { wide: false, noHeaders: false, color: false, width: 100 });
  assert.match(text, /demo\/partial +partial +without optional data: forbidden: list addons\.harvesterhci\.io/);
  assert.match(text, /1 rule: 0 pass, 1 partial, 0 fail, 0 skipped, 0 error; scan incomplete\./);
});

test('a gap shared by several rules is explained once, in the GAP table, with the flag that accepts it', async () => {
  const scan = await runScan(new SnapshotSource(objects), {
    rules: [rule, skipped],
    now: new Date('2026-11-22T12:00:00Z'),
    concurrency: 1,
  });
  const gap = {
    resource: 'metrics.k8s.io/v1beta1',
    reason: 'api unavailable: metrics.k8s.io/v1beta1 (the server is currently unable to handle the request)',
  };
  const rules = ['demo/a', 'demo/b', 'demo/c'].map((id) => ({
    ...scan.rules[0]!,
    id,
    status: 'partial' as const,
    incomplete: true,
    findings: 0,
    gaps: [gap],
    reason: `could not read 1 resource type completely: ${gap.reason}`,
  }));
  const text = renderTable(buildReport({ ...scan, findings: [], rules }, '0.0.0'), {
    wide: false,
    noHeaders: false,
    color: false,
    width: 100,
  });
  assert.equal(text.split('the server is currently unable').length - 1, 1, text);
  for (const id of ['demo/a', 'demo/b', 'demo/c'])
    assert.match(text, new RegExp(`^${id} +partial +could not read metrics\\.k8s\\.io/v1beta1 \\(see GAP\\)$`, 'm'));
  const wide = renderTable(buildReport({ ...scan, findings: [], rules }, '0.0.0'), {
    wide: false,
    noHeaders: false,
    color: false,
    width: 200,
  });
  assert.match(
    wide,
    /^GAP +REASON\nmetrics\.k8s\.io\/v1beta1 +api unavailable: metrics\.k8s\.io\/v1beta1 \(the server is currently unable to handle the request\)\nAccept a known gap with --ignore-gaps=<GAP>\.$/m,
  );
  assert.match(text, /3 rules: 0 pass, 3 partial, 0 fail, 0 skipped, 0 error; scan incomplete\./);
});

test('a finding leading thousands names their rule once with a count, and each names it, in time linear in the findings', () => {
  const finding = (rule: string, object: Finding['object'], extra: Partial<Finding> = {}): Finding => ({
    rule,
    severity: 'critical',
    object,
    reason: 'r',
    message: `${object.kind} ${object.name}`,
    evidence: {},
    fingerprint: fingerprintOf(rule, object),
    ...extra,
  });
  const api = { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1beta1.metrics.k8s.io', uid: 'a' };
  const namespaces = Array.from({ length: 20_000 }, (_, i) =>
    finding(
      'core/namespace-stuck-terminating',
      { apiVersion: 'v1', kind: 'Namespace', name: `ns-${i}`, uid: `n${i}` },
      { causedBy: [api] },
    ),
  );
  const pod = { apiVersion: 'v1', kind: 'Pod', namespace: 'ns-0', name: 'p', uid: 'p' };
  const stuckPod = finding('core/stuck-deletion', pod, { causedBy: [api] });
  const findings = [finding('core/apiservice-unavailable', api), ...namespaces, stuckPod];
  const report = buildReport(
    scanResultOf(findings, {
      refines: {
        'core/apiservice-unavailable': ['core/namespace-stuck-terminating', 'core/stuck-deletion'],
        'core/namespace-stuck-terminating': [],
        'core/stuck-deletion': [],
      },
    }),
    '0.0.0',
  );
  const lines = renderTable(report, { wide: false, noHeaders: false, color: false }).split('\n');
  assert.equal(lines[2], 'core/apiservice-unavailable       APIService/v1beta1.metrics.k8s.io');
  assert.equal(
    lines[3],
    '  APIService v1beta1.metrics.k8s.io (see also core/namespace-stuck-terminating (20,000 findings), core/stuck-deletion)',
    'each rule named once, with its count when it has several',
  );
  // The JSON contract still lists every related finding by fingerprint.
  assert.deepEqual(
    report.findings[0]!.related?.seeAlso,
    [...namespaces, stuckPod].map((f) => f.fingerprint),
  );
  const led = lines.filter((l) => l.endsWith(' (same cause as core/apiservice-unavailable: its plan applies)'));
  assert.deepEqual(
    led,
    [...namespaces, stuckPod].map(
      (f) => `  ${f.object.kind} ${f.object.name} (same cause as core/apiservice-unavailable: its plan applies)`,
    ),
  );
});
