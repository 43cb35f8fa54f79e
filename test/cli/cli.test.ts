import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { allRules } from '../../rules/index.ts';
import { assertValidReport, assertValidRuleList, ROOT, runCli, runMain } from './run-cli.ts';
import { tempDir } from '../temp.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');

function assertOneLineError(result: { code: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  assert.equal(result.code, 2, `exit code 2 expected, stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

function kubeconfig(server: string, extra = ''): string {
  const dir = tempDir('cli');
  const path = join(dir, 'config');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
current-context: main
clusters:
- name: main
  cluster: {server: "${server}", insecure-skip-tls-verify: true}
users:
- name: main
  user: {token: not-a-real-token}
contexts:
- name: main
  context: {cluster: main, user: main}
${extra}`,
    { mode: 0o600 },
  );
  return path;
}

test('--help shows usage as a kubectl plugin, with kubectl-spelled flags', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /kubectl doctor \[flags\]/);
  for (const flag of [
    '--kubeconfig',
    '--context',
    '--cluster',
    '--user',
    '-n, --namespace',
    '-A, --all-namespaces',
    '-s, --server',
    '--token',
    '--as ',
    '--as-group',
    '--certificate-authority',
    '--insecure-skip-tls-verify',
    '--client-certificate',
    '--client-key',
    '--tls-server-name',
    '--disable-compression',
    '--request-timeout',
    '-o, --output',
    '--rules',
    '--skip-rules',
    '--fail-on',
    '--no-headers',
    '--snapshot',
    '--now',
  ]) {
    assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
  }
});

test('version prints the package version', async () => {
  const r = await runCli(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^kubectl-doctor v\d+\.\d+\.\d+/);
});

test('rules lists every registered rule; -o json gives a RuleList', async () => {
  const table = await runCli(['rules']);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /^ID\s+SEVERITY\s+ECOSYSTEM\s+FIXABLE\s+SUMMARY/);
  for (const rule of allRules) assert.ok(table.stdout.includes(rule.meta.id), rule.meta.id);
  for (const rule of allRules)
    assert.match(table.stdout, new RegExp(`^${rule.meta.id} .* ${rule.meta.fixable || 'no'} `, 'm'), `${rule.meta.id}: FIXABLE`);
  const json = await runCli(['rules', '-o', 'json']);
  const doc = JSON.parse(json.stdout) as { kind: string; items: { id: string; fixable: unknown }[] };
  assertValidRuleList(doc);
  assert.equal(doc.kind, 'RuleList');
  assert.deepEqual(
    doc.items.map((i) => i.fixable),
    allRules.map((r) => r.meta.fixable),
  );
  assert.deepEqual(
    doc.items.map((i) => i.id),
    allRules.map((r) => r.meta.id),
  );
});

test('rules -o wide: what each rule needs from a cluster or dump, and what it uses when present', async () => {
  const wide = await runMain(['rules', '-o', 'wide']);
  assert.equal(wide.code, 0);
  const lines = wide.stdout.split('\n');
  assert.match(lines[0]!, /^ID\s+SEVERITY\s+FIXABLE\s+THRESHOLDS\s+NEEDS\s+USES WHEN PRESENT$/);
  const row = (id: string) => lines.find((l) => l.startsWith(`${id} `))!.replace(/\s{2,}/g, ' | ');
  assert.equal(
    row('fleet/missing-values-secret'),
    'fleet/missing-values-secret | error | destructive | 5m*, 15m* | bundledeployments.fleet.cattle.io, bundles.fleet.cattle.io, secrets(meta) | gitrepos.fleet.cattle.io, deployments.apps(-l app=fleet-controller)',
  );
  assert.equal(
    row('cluster-api/paused-deletion'),
    'cluster-api/paused-deletion | error | disruptive | 5m* | *(meta), clusters.cluster.x-k8s.io | -',
  );
  assert.match(row('kubevela/orphaned-cluster-reference'), /secrets@vela-system\(-l /);
  // A header, a row a rule, and the --min-age note.
  assert.equal(lines.filter((l) => l !== '').length, allRules.length + 2);
});

test('explain prints every section of a rule; an unknown rule is a one-line error', async () => {
  for (const rule of allRules) {
    const r = await runCli(['explain', rule.meta.id]);
    assert.equal(r.code, 0);
    for (const heading of ['WHAT IT DETECTS', 'WHY IT HAPPENS', 'EVIDENCE', 'REMEDIATION', 'REFERENCES'])
      assert.ok(r.stdout.includes(heading));
  }
  assertOneLineError(await runCli(['explain', 'nope/nothing']), /unknown rule "nope\/nothing"/);
});

test('explain and rules -o wide state every threshold a rule uses, and the --min-age override once', async () => {
  const note = '* --min-age DURATION replaces the thresholds marked * (--min-age 0s reports at once)';
  const human = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);
  for (const rule of allRules) {
    const thresholds = Object.values(rule.meta.thresholds ?? {});
    const text = (await runCli(['explain', rule.meta.id])).stdout;
    const section = text.slice(text.indexOf('\nTHRESHOLDS\n'), text.indexOf('\nREMEDIATION'));
    for (const t of thresholds) {
      const line = new RegExp(
        `^  ${human(t.ms)}${t.minAge ? '\\*' : ' '} +${t.describe
          .split(' ')
          .slice(0, 4)
          .join(' ')
          .replace(/[()*.]/g, '\\$&')}`,
        'm',
      );
      assert.match(section, line, `${rule.meta.id}: ${t.describe}`);
    }
    assert.equal(section.split(note).length - 1, thresholds.some((t) => t.minAge) ? 1 : 0, `${rule.meta.id}: the override said once`);
  }
  assert.ok(
    allRules.some((r) => r.meta.thresholds),
    'some rule has thresholds',
  );
  const wide = await runCli(['rules', '-o', 'wide']);
  assert.match(wide.stdout, /^ID\s+SEVERITY\s+FIXABLE\s+THRESHOLDS\s+NEEDS\s+USES WHEN PRESENT/);
  assert.match(wide.stdout, /^core\/stuck-deletion .* 15m\*, 1h /m);
  assert.equal(wide.stdout.split(note).length - 1, 1);
});

test('unknown flags and commands: one-line error, usage hint, exit 2', async () => {
  const flag = await runCli(['--bogus']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^error: unknown flag --bogus\nSee 'kubectl doctor --help' for usage\.\n$/);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '-o', 'xml']), /output/);
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--now', 'yesterday']), /invalid --now "yesterday"/);
  assertOneLineError(await runCli(['--snapshot', EXAMPLE, '--rules', 'nope/*']), /--rules: no rule matches "nope\/\*"/);
});

test('--kubeconfig /nonexistent: one-line error, exit 2', async () => {
  assertOneLineError(await runCli(['--kubeconfig', '/nonexistent']), /\/nonexistent/);
});

test('--context nope: one-line error naming the context, exit 2', async () => {
  assertOneLineError(await runCli(['--kubeconfig', kubeconfig('https://127.0.0.1:1'), '--context', 'nope']), /context "nope" not found/);
});

test('a server that refuses connections: one-line error, exit 2, no waiting for a timeout', async () => {
  // No timed assertion: the error names the refusal, which is only seen when it is not waited out as a timeout.
  const r = await runCli(['--kubeconfig', kubeconfig('https://127.0.0.1:1'), '--request-timeout', '5m']);
  assertOneLineError(r, /cannot reach the API server at https:\/\/127\.0\.0\.1:1: connection refused/);
});

test('a server that accepts but never answers: exit 2 within --request-timeout', async () => {
  const sockets: import('node:net').Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await runCli(['--kubeconfig', kubeconfig(`https://127.0.0.1:${port}`), '--request-timeout', '1s']);
    // The deadline's own message; a CLI that hung instead would be killed by runCli and fail on its exit code.
    assertOneLineError(r, /no answer within --request-timeout 1s|timed out/);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('a gzip bomb from the server: one line naming the request, exit 2, not a crash', async () => {
  // 9 gzip members of 64 MiB of spaces, 64 KiB each: 576 MiB inflated, past the bound (the longest string V8 makes).
  const bomb = Buffer.concat(Array<Buffer>(9).fill(gzipSync(Buffer.alloc(64 * 2 ** 20, ' '))));
  let requests = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    // Only the first answer is a bomb: the discovery requests in parallel would each inflate one.
    if (requests++ > 0) res.writeHead(404).end();
    else res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const r = await runCli(['--kubeconfig', kubeconfig(`http://127.0.0.1:${(server.address() as { port: number }).port}`)]);
    assertOneLineError(r, /^error: GET \/\S+: the API server's gzipped answer inflates past 511 MiB, the most one answer may be; /);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a snapshot with a broken YAML file: one-line error naming the file, exit 2', async () => {
  assertOneLineError(
    await runCli(['--snapshot', join(ROOT, 'test', 'fixtures', 'snapshot-broken')]),
    /bad\.yaml: invalid YAML at line \d+/,
  );
});

test('the example dump shows every registered rule failing, in a table and in schema-valid JSON', async () => {
  const table = await runCli(['--snapshot', EXAMPLE, '--no-color']);
  assert.equal(table.code, allRules.length > 0 ? 1 : 0, table.stderr);
  assert.match(table.stdout, /\d+ rules?: \d+ pass, \d+ fail, 0 skipped, 0 error\.\n$/);
  // Into a pipe nothing wraps: each message is one line (a terminal's width is tested in test/report/table.test.ts).
  assert.match(
    table.stdout,
    /^ {2}Terminating for \S+: discovery of metrics\.k8s\.io\/v1beta1 fails .* \(same cause as core\/apiservice-unavailable: its plan applies\)$/m,
  );

  const json = await runCli(['--snapshot', EXAMPLE, '-o', 'json']);
  const report = JSON.parse(json.stdout);
  assertValidReport(report);
  // The schema's date-time format is checked, not ignored.
  assert.throws(() => assertValidReport({ ...report, metadata: { ...report.metadata, generatedAt: 'yesterday' } }), /generatedAt/);
  assert.equal(report.source.type, 'snapshot');
  assert.deepEqual(
    report.rules.filter((r: { status: string }) => r.status !== 'fail').map((r: { id: string }) => r.id),
    [],
    'every registered rule has a broken example in examples/cluster-dump',
  );
  assert.equal(report.summary.findings.total, report.findings.length);

  const yaml = await runCli(['--snapshot', EXAMPLE, '-o', 'yaml']);
  assert.match(yaml.stdout, /^apiVersion: kubectl-doctor\/v1alpha1\nkind: Report\n/);
});

test('--rules and --skip-rules select by id and glob; --fail-on critical turns findings below it into exit 0', async () => {
  const none = await runCli(['--snapshot', EXAMPLE, '-o', 'json', '--skip-rules', '*']);
  assert.equal(JSON.parse(none.stdout).rules.length, 0);
  assert.equal(none.code, 0);
  if (allRules.length > 0) {
    const first = allRules[0]!.meta.id;
    const only = JSON.parse((await runCli(['--snapshot', EXAMPLE, '-o', 'json', '--rules', first])).stdout);
    assert.deepEqual(
      only.rules.map((r: { id: string }) => r.id),
      [first],
    );
    const eco = `${first.split('/')[0]}/*`;
    const byGlob = JSON.parse((await runCli(['--snapshot', EXAMPLE, '-o', 'json', '--rules', eco])).stdout);
    assert.ok(byGlob.rules.every((r: { id: string }) => r.id.startsWith(first.split('/')[0]!)));
    const report = JSON.parse((await runCli(['--snapshot', EXAMPLE, '-o', 'json'])).stdout);
    const hasCritical = report.findings.some((f: { severity: string }) => f.severity === 'critical');
    assert.equal((await runCli(['--snapshot', EXAMPLE, '--fail-on', 'critical'])).code, hasCritical ? 1 : 0);
  }
});

test('--no-headers prints rows only: no headers, group titles, blank lines or summary', async () => {
  const r = await runCli(['--snapshot', EXAMPLE, '--no-headers', '--no-color']);
  assert.doesNotMatch(r.stdout, /^RULE\s+OBJECT/m);
  assert.doesNotMatch(r.stdout, /^(CRITICAL|ERROR|WARNING|INFO) \(/m);
  assert.doesNotMatch(r.stdout, /\n\n|findings? \(|rules?:/);
  assert.match(
    r.stdout,
    /^admission\/webhook-backend-unavailable\s+ValidatingWebhookConfiguration\/rancher\.cattle\.io\n  ValidatingWebhookConfiguration /,
  );
  assert.match(r.stdout, /^core\/namespace-stuck-terminating\s+Namespace\/monitoring\n  Terminating for /m);
  const clean = await runCli(['--snapshot', EXAMPLE, '--no-headers', '-l', 'no=such-object']);
  assert.deepEqual([clean.code, clean.stdout], [0, '']);
});
