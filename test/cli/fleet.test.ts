// Many clusters without an API server: which contexts --contexts selects, the flags refused with it, contexts that
// cannot be scanned (a closed port, a broken kubeconfig entry) in every output, and that a Report keeps none of the
// objects its scan listed. The scan of real clusters is test/e2e/fleet.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { closedPort } from '../harness/http.ts';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as yaml from 'js-yaml';
import { contextFailure, fleetProgressText, scanContexts } from '../../src/cli/fleet.ts';
import { ClusterError } from '../../src/errors.ts';
import { contextOf } from '../../src/report/report-list.ts';
import type { Report } from '../../src/report/report.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import type { ClusterSource } from '../../src/cluster/source.ts';
import { runScan } from '../../src/engine/scan.ts';
import { loadPolicy, policyReport } from '../../src/cli/suppressions.ts';
import { defineRule, type Rule } from '../../src/engine/rule.ts';
import { allRules } from '../../rules/index.ts';
import { assertValidReportList, ROOT, runMain } from './run-cli.ts';
import { tempDir } from '../temp.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');

/** prod-a, prod-b: closed ports; staging-eu: names a cluster the kubeconfig lacks. */
async function kubeconfig(): Promise<string> {
  const dir = tempDir('fleet-cli');
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'prod-a',
      clusters: [
        { name: 'a', cluster: { server: `https://127.0.0.1:${await closedPort()}` } },
        { name: 'b', cluster: { server: `https://127.0.0.1:${await closedPort()}` } },
      ],
      users: [{ name: 'u', user: { token: 'not-sent-anywhere' } }],
      contexts: [
        { name: 'prod-a', context: { cluster: 'a', user: 'u' } },
        { name: 'prod-b', context: { cluster: 'b', user: 'u' } },
        { name: 'staging-eu', context: { cluster: 'gone', user: 'u' } },
      ],
    }),
  );
  return file;
}

function run(args: string[]) {
  return runMain(args, allRules, { env: { HOME: '/nonexistent-home' } });
}

function assertOneLineError(r: { code: number; stdout: string; stderr: string }, message: string) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `error: ${message}\n`);
}

test('flags that cannot go with --contexts are refused with one line, before anything is read', async () => {
  const kc = await kubeconfig();
  const base = ['--kubeconfig', kc, '--contexts', 'prod-*'];
  assertOneLineError(
    await run([...base, '--context', 'prod-a']),
    '--context and --contexts do not go together: --context scans one context; name it in --contexts instead',
  );
  assertOneLineError(
    await run([...base, '--snapshot', EXAMPLE]),
    '--contexts scans live clusters and does not go with --snapshot; several dumps are one merged scan: --snapshot a --snapshot b',
  );
  assertOneLineError(
    await run(['--kubeconfig', kc, '--all-contexts', '--fix']),
    "--fix changes one cluster at a time and does not go with --all-contexts: run it with --context NAME; -o script with --all-contexts writes every context's plans",
  );
  assertOneLineError(
    await run([...base, '--all-contexts']),
    '--contexts and --all-contexts do not go together: --all-contexts already scans every context; use one of them',
  );
  for (const flag of ['--server', '--token', '--user', '--cluster', '--client-key'])
    assertOneLineError(
      await run([...base, flag, 'x']),
      `${flag} picks one cluster or credential and would apply to every context: it does not go with --contexts; set it in the kubeconfig's contexts instead`,
    );
  assertOneLineError(
    await run([...base, '--baseline', 'b.json']),
    "--baseline holds one cluster's findings and does not go with --contexts: use it with --context NAME",
  );
  assertOneLineError(
    await run([...base, '--max-parallel', '0']),
    'invalid --max-parallel 0: use a whole number of contexts scanned at once, e.g. 4',
  );
  // Without several contexts it would be silently ignored.
  assertOneLineError(
    await run(['--kubeconfig', kc, '--max-parallel', '2']),
    '--max-parallel is how many contexts are scanned at once and goes with --contexts or --all-contexts',
  );
  assertOneLineError(
    await run(['--kubeconfig', kc, '--contexts', ' , ']),
    '--contexts " , " names no context; name contexts or globs (kubectl config get-contexts lists them), or use --all-contexts',
  );
});

test('a --contexts pattern that matches no context is one line and exit 2, even beside one that matches', async () => {
  const kc = await kubeconfig();
  const message = `--contexts: no context matches "dev-*" in kubeconfig (${kc}); list them with kubectl config get-contexts`;
  assertOneLineError(await run(['--kubeconfig', kc, '--contexts', 'dev-*']), message);
  assertOneLineError(await run(['--kubeconfig', kc, '--contexts', 'prod-a,dev-*', '-o', 'json']), message);
  assertOneLineError(await run(['--kubeconfig', kc, '--contexts', 'prod-a', '--contexts', 'dev-*']), message);
});

test('contexts that cannot be scanned are reported with their reason in every output, and the run exits 2', async () => {
  const kc = await kubeconfig();
  const json = await run(['--kubeconfig', kc, '--all-contexts', '-o', 'json']);
  assert.equal(json.code, 2, json.stderr);
  const list = JSON.parse(json.stdout);
  assertValidReportList(list);
  assert.equal(list.kind, 'ReportList');
  assert.deepEqual(list.items, []);
  assert.deepEqual(
    list.summary.failed.map((f: { context: string; reason: string; cluster?: string }) => [f.context, f.reason, f.cluster]),
    [
      ['prod-a', 'unreachable', 'a'],
      ['prod-b', 'unreachable', 'b'],
      ['staging-eu', 'kubeconfig', undefined],
    ],
  );
  // The hint names the context, not --server/--context, which a run of many contexts does not take per context.
  assert.match(
    list.summary.failed[0].message,
    /^cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connection refused; check the cluster context prod-a names in the kubeconfig, and that it is up$/,
  );
  assert.match(list.summary.failed[2].message, /^context "staging-eu" refers to cluster "gone", which is not in kubeconfig/);
  assert.deepEqual(list.summary.contexts, { total: 3, scanned: 0, failed: 3, incomplete: 0, withFindings: 0 });
  // Machine outputs keep stderr informed: one line per context not scanned.
  assert.deepEqual(
    json.stderr.split('\n').map((l) => l.replace(/:.*/, '')),
    ['error', 'error', 'error', ''],
  );
  assert.match(json.stderr, /^error: context staging-eu not scanned \(kubeconfig\): context "staging-eu" refers to/m);

  const table = await run(['--kubeconfig', kc, '--contexts', 'prod-*']);
  assert.equal(table.code, 2);
  assert.equal(table.stderr, '', 'the table says it itself');
  assert.match(table.stdout, /^CONTEXT prod-a {2}https:\/\/127\.0\.0\.1:\d+\nnot scanned \(unreachable\): cannot reach/m);
  assert.match(table.stdout, /^CONTEXT prod-b /m);
  assert.doesNotMatch(table.stdout, /staging-eu/, 'only the contexts prod-* selects');
  assert.match(table.stdout, /^NOT SCANNED {2}REASON\nprod-a {7}unreachable: /m);
  assert.match(table.stdout, /\nNo findings in 0 contexts scanned; 2 contexts not scanned \(prod-a, prod-b\)\.\n$/);

  const sarif = JSON.parse((await run(['--kubeconfig', kc, '--contexts', 'prod-a,staging-eu', '-o', 'sarif'])).stdout);
  assert.deepEqual(
    sarif.runs.map((r: { automationDetails: { id: string }; invocations: { executionSuccessful: boolean }[] }) => [
      r.automationDetails.id,
      r.invocations[0]!.executionSuccessful,
    ]),
    [
      ['kubectl-doctor/prod-a/', false],
      ['kubectl-doctor/staging-eu/', false],
    ],
  );
  const junit = (await run(['--kubeconfig', kc, '--contexts', 'prod-a,staging-eu', '-o', 'junit'])).stdout;
  assert.match(junit, /^<testsuites name="kubectl-doctor" tests="2" failures="0" errors="2" skipped="0">$/m);
  assert.match(junit, /^ {2}<testsuite name="kubectl-doctor prod-a" hostname="https:\/\/127\.0\.0\.1:\d+" tests="1"/m);
  assert.match(junit, /^ {6}<error type="kubeconfig" message="not scanned: context &quot;staging-eu&quot; refers/m);
  const script = await run(['--kubeconfig', kc, '--all-contexts', '-o', 'script']);
  assert.equal(script.code, 2);
  assert.match(script.stdout, /^# {3}staging-eu: not scanned: context "staging-eu" refers to cluster "gone"/m);
  assert.equal(spawnSync('bash', ['-n'], { input: script.stdout }).status, 0);
});

test('completion offers the kubeconfig contexts after --contexts, one more after each comma', async () => {
  const kc = await kubeconfig();
  const complete = async (word: string) => {
    const r = await run(['__complete', '--kubeconfig', kc, '--contexts', word]);
    return r.stdout.trimEnd().split('\n');
  };
  assert.deepEqual(await complete(''), ['prod-a\tcurrent context', 'prod-b', 'staging-eu', ':4']);
  assert.deepEqual(await complete('prod-a,'), ['prod-a,prod-b', 'prod-a,staging-eu', ':4']);
  assert.deepEqual(await complete('prod-a,st'), ['prod-a,staging-eu', ':4']);
});

test('a Report keeps none of the objects its scan listed: once built, they are garbage', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const listed: WeakRef<object>[] = [];
  /** The example dump, every list's items watched. */
  const watched = (): ClusterSource => {
    const source = SnapshotSource.fromPaths([EXAMPLE], { complete: true });
    return {
      info: () => source.info(),
      discover: () => source.discover(),
      stats: () => source.stats(),
      list: async (request) => {
        const outcome = await source.list(request);
        if (outcome.ok) for (const item of [outcome.items, ...outcome.items]) listed.push(new WeakRef(item));
        return outcome;
      },
    };
  };
  const reportOf = async (rules: readonly Rule[]) => {
    const result = await runScan(watched(), { rules, now: new Date('2026-08-02T10:00:00Z'), concurrency: 8 });
    return policyReport(result, loadPolicy({}), {}, '0.0.0', () => undefined);
  };
  const alive = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    return listed.filter((ref) => ref.deref() !== undefined).length;
  };

  // The check can fail: a rule that put the objects it read into its evidence would keep them in the Report.
  const leaky = defineRule({
    meta: {
      id: 'test/leaky',
      summary: 'keeps what it read',
      severity: 'info',
      ecosystem: 'test',
      fixable: false,
      reads: { namespaces: { resource: 'namespaces' } },
      reasons: { found: 'found' },
      explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
    },
    check: (ctx) => ctx.list('namespaces').map((ns) => ctx.finding(ns, { reason: 'found', data: {}, evidence: { object: ns } })),
  });
  const held = await reportOf([leaky]);
  assert.ok(held.findings.length > 0);
  assert.equal(await alive(), held.findings.length, 'the objects in the evidence, and nothing else, are alive');
  listed.length = 0;

  const report = await reportOf(allRules);
  assert.ok(listed.length > 100, `${listed.length} objects and lists watched`);
  assert.ok(report.findings.length >= 10, 'the example dump has its findings');
  assert.equal(await alive(), 0, 'objects or lists of the scan are still reachable from the Report');
  assert.ok(JSON.stringify(report).length > 0);
});

test('contexts are scanned at most --max-parallel at once, each Report in its place, and the progress line says how far', async () => {
  let inFlight = 0;
  let most = 0;
  const lines: string[] = [];
  const contexts = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const { reports, failed } = await scanContexts(
    contexts,
    3,
    async (context, progress) => {
      inFlight++;
      most = Math.max(most, inFlight);
      progress({ listed: 1, total: 2, objects: 10 });
      await new Promise((resolve) => setTimeout(resolve, context.charCodeAt(0) % 3));
      inFlight--;
      if (context === 'c') return contextFailure(new ClusterError('cannot reach it', 'unreachable'), context, undefined);
      return { kind: 'Report', source: { type: 'live', context } } as unknown as Report;
    },
    (state) => lines.push(fleetProgressText(state)),
  );
  assert.equal(most, 3);
  assert.deepEqual(
    reports.map((r) => contextOf(r)),
    ['a', 'b', 'd', 'e', 'f', 'g'],
  );
  assert.deepEqual(failed, [
    {
      context: 'c',
      reason: 'unreachable',
      message: 'cannot reach it; check the cluster context c names in the kubeconfig, and that it is up',
    },
  ]);
  assert.equal(lines[0], 'scanned 0/7 contexts; listing a ...');
  assert.ok(lines.includes('scanned 0/7 contexts; listing a 1/2, b 1/2, c 1/2'), lines.join('\n'));
  assert.equal(lines.at(-1), 'scanned 7/7 contexts');
});
