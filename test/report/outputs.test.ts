// -o sarif, -o junit and -o name through the CLI (main() in-process, snapshot fixtures). SARIF is validated against
// the official SARIF 2.1.0 schema (test/fixtures/sarif, vendored from oasis-tcs/sarif-spec), JUnit is read by a real
// XML parser (fast-xml-parser), as CI systems would read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { allRules } from '../../rules/index.ts';
import { ROOT, runMain, SCHEMA_FORMATS } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { buildReport } from '../../src/report/report.ts';
import { buildReportList } from '../../src/report/report-list.ts';
import { renderJunitList } from '../../src/report/junit.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { scanResultOf } from '../scan-result.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');
const NOW = '2026-03-01T00:00:00Z';

const run = (args: string[]) => runMain(args);

async function findings(snapshot = EXAMPLE, ...args: string[]) {
  const r = await run(['--snapshot', snapshot, '--now', NOW, '-o', 'json', ...args]);
  return JSON.parse(r.stdout) as {
    findings: {
      rule: string;
      severity: string;
      message: string;
      fingerprint: string;
      object: { kind: string; namespace?: string; name: string };
    }[];
    rules: { id: string; status: string }[];
  };
}

const sarifSchema = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'sarif', 'sarif-schema-2.1.0.json'), 'utf8')) as object;
// The SARIF schema is JSON Schema draft-04, which Ajv reads through ajv-draft-04 (a CommonJS module: the class is its default).
const validateSarif = new ajvDraft04.default({ allErrors: true, strict: false, formats: SCHEMA_FORMATS }).compile(sarifSchema);

/** A finding whose object name carries markup and an escape sequence, as a tenant could write it. */
function hostileDump(): string {
  const dir = tempDir('outputs');
  writeFileSync(
    join(dir, 'hostile.json'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'a<b>&"c\u001b[2J',
        namespace: 'app',
        uid: 'u1',
        creationTimestamp: '2026-01-01T00:00:00Z',
        deletionTimestamp: '2026-02-01T00:00:00Z',
        finalizers: ['example.com/x'],
      },
    }),
  );
  return dir;
}

test('-o sarif validates against the SARIF 2.1.0 schema: one result per finding, the object as logical location, explain text as help', async () => {
  const r = await run(['--snapshot', EXAMPLE, '--now', NOW, '-o', 'sarif']);
  assert.equal(r.code, 1, r.stderr);
  const log = JSON.parse(r.stdout) as {
    version: string;
    runs: {
      tool: { driver: { rules: { id: string; help: { text: string } }[] } };
      results: {
        ruleId: string;
        ruleIndex: number;
        level: string;
        message: { text: string };
        locations: { logicalLocations: { fullyQualifiedName: string }[] }[];
        partialFingerprints: Record<string, string>;
      }[];
    }[];
  };
  assert.ok(validateSarif(log), JSON.stringify(validateSarif.errors?.slice(0, 5)));
  assert.equal(log.version, '2.1.0');
  const expected = await findings();
  const run0 = log.runs[0]!;
  assert.equal(run0.results.length, expected.findings.length);
  for (const [i, f] of expected.findings.entries()) {
    const result = run0.results[i]!;
    assert.equal(result.ruleId, f.rule);
    assert.equal(run0.tool.driver.rules[result.ruleIndex]!.id, f.rule);
    assert.equal(result.message.text, f.message);
    assert.equal(
      result.level,
      f.severity === 'critical' || f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'note',
    );
    assert.equal(
      result.locations[0]!.logicalLocations[0]!.fullyQualifiedName,
      `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`,
    );
    assert.equal(result.partialFingerprints['kubectlDoctor/v1'], f.fingerprint);
  }
  assert.deepEqual(
    run0.tool.driver.rules.map((x) => x.id),
    allRules.map((x) => x.meta.id),
  );
  for (const rule of run0.tool.driver.rules) assert.match(rule.help.text, /WHAT IT DETECTS[\s\S]*REMEDIATION/);
  // The schema check itself bites: a result without a message is refused.
  const broken = structuredClone(log) as unknown as { runs: { results: { message?: unknown }[] }[] };
  delete broken.runs[0]!.results[0]!.message;
  assert.equal(validateSarif(broken), false);
});

test('-o junit is JUnit XML: one testcase per rule, a failure per finding, skipped rules skipped; hostile names stay well-formed', async () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testcase', 'failure'].includes(name),
  });
  type Case = {
    name: string;
    classname: string;
    failure?: { type: string; message: string; '#text': string }[];
    skipped?: { message: string };
  };
  const parse = (xml: string) => {
    assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
    return parser.parse(xml) as { testsuites: { tests: string; failures: string; testsuite: { testcase: Case[] } } };
  };
  const r = await run(['--snapshot', EXAMPLE, '--now', NOW, '-o', 'junit']);
  assert.equal(r.code, 1, r.stderr);
  const doc = parse(r.stdout);
  const expected = await findings();
  const cases = doc.testsuites.testsuite.testcase;
  assert.deepEqual(
    cases.map((c) => c.name),
    allRules.map((x) => x.meta.id),
  );
  assert.equal(doc.testsuites.tests, String(allRules.length));
  for (const c of cases) {
    const mine = expected.findings.filter((f) => f.rule === c.name);
    assert.deepEqual(
      (c.failure ?? []).map((f) => [f.type, f.message]),
      mine.map((f) => [f.severity, `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}: ${f.message}`]),
      c.name,
    );
  }

  const skipped = parse((await run(['--snapshot', EXAMPLE, '--now', NOW, '-o', 'junit', '--rules', 'harvester/*'])).stdout);
  assert.ok(skipped.testsuites.testsuite.testcase.length > 0);

  const hostile = parse((await run(['--snapshot', hostileDump(), '--now', NOW, '-o', 'junit', '--rules', 'core/stuck-deletion'])).stdout);
  const failure = hostile.testsuites.testsuite.testcase[0]!.failure![0]!;
  assert.match(failure.message, /^ConfigMap\/app\/a<b>&"c\\e\[2J: /, 'markup escaped and read back; the escape sequence shown, not sent');
});

test('-o name prints `<rule> <kind>/<ns>/<name>` per finding and nothing else; control characters are escaped', async () => {
  const r = await run(['--snapshot', EXAMPLE, '--now', NOW, '-o', 'name']);
  assert.equal(r.code, 1);
  const expected = await findings();
  assert.equal(
    r.stdout,
    expected.findings
      .map((f) => `${f.rule} ${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}\n`)
      .join(''),
  );
  assert.ok(
    r.stdout.includes('fleet/missing-values-secret BundleDeployment/cluster-fleet-default-c-abcde-0f1e2d3c4b5a/myrepo-apps-nginx\n'),
  );
  const hostile = await run(['--snapshot', hostileDump(), '--now', NOW, '-o', 'name', '--rules', 'core/stuck-deletion']);
  assert.equal(hostile.stdout, 'core/stuck-deletion ConfigMap/app/a<b>&"c\\e[2J\n');
  const none = await run(['--snapshot', EXAMPLE, '--now', NOW, '-o', 'name', '--rules', 'cluster-api/*']);
  assert.deepEqual([none.code, none.stdout], [0, '']);
});

test('-o junit of several contexts holds every finding however many one context has', () => {
  const findings = Array.from({ length: 130_000 }, (_, i): Finding => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: `cm-${i}` };
    return { rule: 'core/stuck-deletion', severity: 'warning', object, reason: 'r', message: 'stuck', evidence: {}, fingerprint: `${i}` };
  });
  const report = buildReport(
    scanResultOf(findings, {
      source: { type: 'live', context: 'prod', cluster: 'prod', user: 'admin', server: 'https://prod:6443' },
      rules: [
        { id: 'core/stuck-deletion', status: 'fail', severity: 'error', incomplete: false, durationMs: 1, findings: findings.length },
      ],
    }),
    '0.0.0',
  );
  const xml = renderJunitList(buildReportList([report], [], { startedAt: new Date(0), now: new Date(0), toolVersion: '0.0.0' }));
  const failures = xml.split('\n').filter((l) => l.startsWith('      <failure '));
  assert.equal(failures.length, 130_000);
  assert.match(failures.at(-1)!, /^ {6}<failure type="warning" message="ConfigMap\/apps\/cm-129999: stuck">/);
});
