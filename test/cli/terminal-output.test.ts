import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { defineRule, type Rule } from '../../src/engine/rule.ts';
import { runMain } from './run-cli.ts';
import { allRules } from '../../rules/index.ts';
import { COMPLETE_COVERAGE } from '../rule-tester.ts';

// Cluster data a tenant controls: clear the screen, write the clipboard (OSC 52), ring, return to the line start,
// break the line, a C1 CSI and a bidi override.
const HOSTILE = 'a\u001b[2Jb\u001b]52;c;cHduZWQ=\u0007c\u0007d\re\nf\u009b31mg\u202eh';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;
const SHOWN = 'a\\e[2Jb\\e]52;c;cHduZWQ=\\x07c\\x07d\\r';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'doctor-terminal-'));
  writeFileSync(join(dir, 'coverage.yaml'), COMPLETE_COVERAGE);
  // A dump (JSON keeps every byte): a Terminating namespace whose name and condition message are hostile, and a
  // ConfigMap stuck deleting whose name, namespace and finalizer (evidence the message quotes) are hostile.
  writeFileSync(
    join(dir, 'dump.json'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: `gone${HOSTILE}`,
            uid: 'u1',
            creationTimestamp: '2026-01-01T00:00:00Z',
            deletionTimestamp: '2026-02-01T00:00:00Z',
          },
          spec: { finalizers: ['kubernetes'] },
          status: {
            phase: 'Terminating',
            conditions: [
              { type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `failed ${HOSTILE}` },
            ],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `cm${HOSTILE}`,
            namespace: `team${HOSTILE}`,
            uid: 'u2',
            creationTimestamp: '2026-01-01T00:00:00Z',
            deletionTimestamp: '2026-02-01T00:00:00Z',
            finalizers: [`example.com/f${HOSTILE}`],
          },
        },
      ],
    }),
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], rules: readonly Rule[] = allRules) {
  return runMain(args, rules);
}

const scan = (...args: string[]) => run(['--snapshot', dir, '--now', '2026-03-01T00:00:00Z', '--rules', 'core/*', ...args]);

test('table and -o wide show control characters from names, namespaces, messages and evidence as escapes', async () => {
  for (const args of [[], ['-o', 'wide'], ['--no-headers'], ['-o', 'wide', '--no-headers']]) {
    const r = await scan(...args);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, RAW_CONTROL, `${args.join(' ')}: no raw control character`);
    // Both findings are there, escaped: the hostile text is shown, not obeyed and not dropped.
    assert.match(r.stdout, /core\/namespace-stuck-terminating\s+Namespace\/gonea\\e\[2Jb\\e\]/);
    assert.match(r.stdout, /core\/stuck-deletion\s+ConfigMap\/teama\\e\[2Jb\\e\]/);
    // Wrapped lines joined again, blanks dropped: what the table shows, whatever the column widths.
    const shown = (text: string) => r.stdout.replace(/\s+/g, '').includes(text.replace(/\s+/g, ''));
    assert.ok(shown(`failed ${SHOWN}`), 'the condition message, escaped');
    assert.ok(shown(`held by finalizer example.com/f${SHOWN}`), 'the finalizer from the evidence, escaped');
    assert.ok(shown('\\x9b31mg\\u202eh'), 'C1 CSI and bidi override, escaped');
    assert.ok(shown(`/cm${SHOWN}e\\nf`), 'a newline in a name is shown as \\n');
  }
});

test('JSON and YAML keep the cluster data exact, control characters included', async () => {
  const json = await scan('-o', 'json');
  const fromJson = JSON.parse(json.stdout) as { findings: { message: string; object: { name: string; namespace?: string } }[] };
  const fromYaml = yaml.load((await scan('-o', 'yaml')).stdout) as typeof fromJson;
  for (const report of [fromJson, fromYaml]) {
    const cm = report.findings.find((f) => f.object.name === `cm${HOSTILE}`);
    assert.ok(cm, 'the ConfigMap finding names the object byte for byte');
    assert.equal(cm.object.namespace, `team${HOSTILE}`);
    assert.ok(cm.message.includes(`example.com/f${HOSTILE}`), cm.message);
    const ns = report.findings.find((f) => f.object.name === `gone${HOSTILE}`);
    assert.ok(ns?.message.includes(`failed ${HOSTILE}`), ns?.message);
  }
  assert.ok(json.stdout.includes('\\u001b]52;c;cHduZWQ=\\u0007'), 'JSON escapes control characters as JSON does, nothing else');
});

test('error lines show server text and arguments escaped, on one line', async () => {
  for (const args of [['explain', HOSTILE], ['--snapshot', dir, '--now', HOSTILE], [`--x${HOSTILE}`], ['--snapshot', join(dir, HOSTILE)]]) {
    const r = await run(args);
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, RAW_CONTROL);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^error: /);
    // (yargs ends a flag's name at "=", so the unknown flag is shown up to there.)
    assert.ok(lines[0]!.includes('a\\e[2Jb\\e]52;c;cHduZWQ'), lines[0]);
    assert.ok(lines.length === 1 || (lines.length === 2 && lines[1]!.startsWith('See ')), r.stderr);
  }
});

test('rules and explain show control characters in rule metadata as escapes', async () => {
  const rule = defineRule({
    meta: {
      id: 'demo/hostile',
      summary: `summary ${HOSTILE}`,
      severity: 'info',
      ecosystem: 'demo',
      fixable: false,
      reads: { cms: { resource: `configmaps${HOSTILE}`, labelSelector: `app=${HOSTILE}` } },
      reasons: { [`reason${HOSTILE}`]: `template ${HOSTILE}` },
      explain: {
        detects: `detects ${HOSTILE}`,
        why: HOSTILE,
        evidence: HOSTILE,
        remediation: [HOSTILE],
        references: [`https://example.com/${HOSTILE}`],
      },
    },
    check: () => [],
  });
  const rules = await run(['rules'], [rule]);
  assert.equal(rules.code, 0, rules.stderr);
  assert.doesNotMatch(rules.stdout, RAW_CONTROL);
  assert.ok(rules.stdout.includes(`summary ${SHOWN}`), rules.stdout);
  const explain = await run(['explain', 'demo/hostile'], [rule]);
  assert.equal(explain.code, 0, explain.stderr);
  assert.doesNotMatch(explain.stdout, RAW_CONTROL);
  assert.ok(explain.stdout.includes(`summary ${SHOWN}`), explain.stdout);
  assert.ok(explain.stdout.includes(`https://example.com/${SHOWN}`), explain.stdout);
});
