import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../src/report/report.ts';
import { renderTable } from '../../src/report/table.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { runScan } from '../../src/engine/scan.ts';
import { defineRule } from '../../src/engine/rule.ts';
import { main } from '../../src/cli/main.ts';
import type { KubeObject } from '../../src/kube/object.ts';

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'team-a', uid: 'u1' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a-rather-long-configmap-name-that-needs-room', namespace: 'team-b', uid: 'u2' } },
];

const rule = defineRule({
  meta: {
    id: 'demo/configmap-check', summary: 'demo', severity: 'error', ecosystem: 'demo', fixable: true,
    reads: { cms: { resource: 'configmaps' } },
    explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
  },
  check(ctx) {
    return ctx.list('cms').map((cm, i) => ctx.finding(cm, {
      severity: i === 0 ? 'critical' : 'warning',
      message: i === 0 ? 'short message' : 'a long message that has to wrap because it does not fit into the message column of a table that is one hundred columns wide',
      evidence: {},
      remediation: { summary: 'x', steps: [{ title: 't', risk: 'destructive', reversible: false, action: { type: 'manual', instructions: 'do it' } }] },
    }));
  },
});
const skipped = defineRule({
  meta: { ...rule.meta, id: 'demo/needs-addons', reads: { addons: { resource: 'addons.harvesterhci.io' } } },
  check: () => [],
});

async function report() {
  const scan = await runScan(new SnapshotSource(objects), { rules: [rule, skipped], now: new Date('2026-11-22T12:00:00Z'), concurrency: 1 });
  return buildReport(scan, '0.0.0');
}

test('the table groups findings by severity, each message on its own lines under rule and object, within 100 columns', async () => {
  const text = renderTable(await report(), { wide: false, noHeaders: false, color: false, width: 100 });
  assert.equal(text, [
    'CRITICAL (1)',
    'RULE                  OBJECT',
    'demo/configmap-check  ConfigMap/team-a/settings',
    '  short message',
    '',
    'WARNING (1)',
    'RULE                  OBJECT',
    'demo/configmap-check  ConfigMap/team-b/a-rather-long-configmap-name-that-needs-room',
    '  a long message that has to wrap because it does not fit into the message column of a table that',
    '  is one hundred columns wide',
    '',
    'RULE               STATUS   REASON',
    'demo/needs-addons  skipped  api not served: addons.harvesterhci.io',
    '',
    '2 findings (1 critical, 1 warning); 2 rules: 0 pass, 1 fail, 1 skipped, 0 error.',
    '',
  ].join('\n'));
});

test('narrow terminals: long rule ids and object names wrap, nothing passes the width, nothing is cut', async () => {
  const longRule = defineRule({ ...rule, meta: { ...rule.meta, id: 'core/namespace-stuck-terminating' } });
  const scan = await runScan(new SnapshotSource(objects), { rules: [longRule], now: new Date('2026-11-22T12:00:00Z'), concurrency: 1 });
  const text = renderTable(buildReport(scan, '0.0.0'), { wide: false, noHeaders: false, color: false, width: 60 });
  const lines = text.split('\n');
  for (const line of lines) assert.ok(line.length <= 60, `${line.length} columns: ${line}`);
  assert.doesNotMatch(text, /…/);
  assert.deepEqual(lines.slice(6, 11), [
    'RULE                              OBJECT',
    'core/namespace-stuck-terminating  ConfigMap/team-b/a-rather-',
    '                                  long-configmap-name-that-n',
    '                                  eeds-room',
    '  a long message that has to wrap because it does not fit',
  ]);
});

test('-o wide adds the fix plan size with its worst risk, and the fingerprint; --no-headers drops headers', async () => {
  const text = renderTable(await report(), { wide: true, noHeaders: true, color: false, width: 140 });
  assert.match(text, /ConfigMap\/team-a\/settings\s+1 step \(destructive\)\s+[0-9a-f]{16}\n  short message/);
  assert.doesNotMatch(text, /^RULE/m);
});

test('colour only on a terminal, and never with NO_COLOR or --no-color', async () => {
  const run = async (args: string[], env: NodeJS.ProcessEnv) => {
    let out = '';
    const stdout = { write: (t: string) => { out += t; }, isTTY: true, columns: 100 };
    await main(['--snapshot', 'test/fixtures/snapshot/single.yaml', ...args], { stdout, stderr: { write: () => undefined }, env }, { rules: [rule] });
    return out;
  };
  // eslint-disable-next-line no-control-regex
  const ansi = /\u001b\[/;
  assert.match(await run([], {}), ansi);
  assert.doesNotMatch(await run([], { NO_COLOR: '1' }), ansi);
  assert.doesNotMatch(await run(['--no-color'], {}), ansi);
});
