// Many clusters on real API servers: the shared test server and a second one started here, plus a context on a closed
// loopback port and one whose token the server refuses, scanned in one run (main() in-process with the test rule of
// labelled-rule.ts). Findings belong to the cluster they were found in, the contexts that could not be scanned are
// reported, the exit code is the documented one, and -o script with two contexts changes each cluster through its
// own context.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { closedPort } from '../harness/http.ts';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigAt, startTestCluster, type TestCluster } from '../harness/cluster.ts';
import { e2e, kubectlDir, uniqueName } from '../harness/env.ts';
import { assertValidReportList, runMain } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { create, read } from './kube.ts';
import { LABEL, labelled } from './labelled-rule.ts';

const external = e2e().external;
let second: TestCluster | undefined;
let kubeconfig: string;
let work: string;
const ns = uniqueName('e2e-fleet');
let secondKc: KubeConfig;

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
}

/** The admin cluster and user of a harness kubeconfig. */
function adminOf(path: string): { cluster: Record<string, unknown>; user: Record<string, unknown> } {
  const config = yaml.load(readFileSync(path, 'utf8')) as Kubeconfig;
  const context = config.contexts.find((c) => c.name === e2e().adminContext)!.context;
  return {
    cluster: config.clusters.find((c) => c.name === context.cluster)!.cluster,
    user: config.users.find((u) => u.name === context.user)!.user,
  };
}

before(async () => {
  if (external) return;
  second = await startTestCluster();
  work = tempDir('fleet-e2e');
  const one = adminOf(e2e().kubeconfigPath);
  const two = adminOf(second.kubeconfigPath);
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'one', cluster: one.cluster },
        { name: 'two', cluster: two.cluster },
        { name: 'down', cluster: { server: `https://127.0.0.1:${await closedPort()}` } },
      ],
      users: [
        { name: 'one-admin', user: one.user },
        { name: 'two-admin', user: two.user },
        { name: 'nobody', user: { token: 'a-token-no-server-knows' } },
      ],
      contexts: [
        { name: 'fleet-one', context: { cluster: 'one', user: 'one-admin' } },
        { name: 'fleet-two', context: { cluster: 'two', user: 'two-admin' } },
        { name: 'fleet-down', context: { cluster: 'down', user: 'one-admin' } },
        { name: 'fleet-refused', context: { cluster: 'one', user: 'nobody' } },
      ],
    }),
  );
  secondKc = kubeConfigAt(second.kubeconfigPath, second.adminContext);
  // The same namespace in both clusters, a different broken ConfigMap in each.
  const broken = (name: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { [LABEL]: 'broken' } },
  });
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await create(broken('only-in-one'));
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, secondKc);
  await create(broken('only-in-two'), secondKc);
});

after(async () => {
  await second?.stop();
});

function doctor(args: string[]) {
  return runMain(['--kubeconfig', kubeconfig, '-n', ns, '--rules', 'e2e/*', ...args], [labelled], { env: { HOME: work } });
}

interface ListDoc {
  items: { source: { context: string; server: string; user: string }; findings: { object: { name: string } }[] }[];
  summary: {
    contexts: Record<string, number>;
    rules: { rule: string; findings: Record<string, number>; contexts: string[] }[];
    failed: { context: string; reason: string; server?: string; message: string }[];
  };
}

test(
  'two clusters and two contexts that cannot be scanned, in one run: each finding in its cluster, the failures reported, exit 2',
  { skip: external && 'needs a second API server of its own' },
  async () => {
    const r = await doctor(['--contexts', 'fleet-*', '-o', 'json', '--max-parallel', '2']);
    assert.equal(r.code, 2, r.stderr);
    const list = JSON.parse(r.stdout) as ListDoc;
    assertValidReportList(list);
    assert.deepEqual(
      list.items.map((report) => [report.source.context, report.source.server, report.source.user]),
      [
        ['fleet-one', e2e().server, 'one-admin'],
        ['fleet-two', second!.server, 'two-admin'],
      ],
    );
    assert.notEqual(e2e().server, second!.server);
    assert.deepEqual(
      list.items.map((report) => report.findings.map((f) => f.object.name)),
      [['only-in-one'], ['only-in-two']],
    );
    assert.deepEqual(list.summary.rules, [
      {
        rule: 'e2e/labelled-configmap',
        findings: { critical: 0, error: 2, warning: 0, info: 0, total: 2 },
        contexts: ['fleet-one', 'fleet-two'],
      },
    ]);
    assert.deepEqual(
      list.summary.failed.map((f) => [f.context, f.reason]),
      [
        ['fleet-down', 'unreachable'],
        ['fleet-refused', 'unauthorized'],
      ],
    );
    assert.match(list.summary.failed[0]!.message, /^cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: connection refused/);
    assert.equal(
      list.summary.failed[1]!.message,
      `the API server at ${e2e().server} answered 401 Unauthorized: the credentials in the kubeconfig are missing or expired`,
    );
    assert.deepEqual(list.summary.contexts, { total: 4, scanned: 2, failed: 2, incomplete: 0, withFindings: 2 });
    assert.match(r.stderr, /^error: context fleet-down not scanned \(unreachable\): /m);

    // The reachable ones alone: findings, exit 1. The table groups by context and ends with the fleet.
    const table = await doctor(['--contexts', 'fleet-one,fleet-two']);
    assert.equal(table.code, 1, table.stderr);
    const lines = table.stdout.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.startsWith(text));
    assert.ok(at(`CONTEXT fleet-one  ${e2e().server}`) >= 0, table.stdout);
    assert.ok(at(`CONTEXT fleet-one`) < at(`e2e/labelled-configmap  ConfigMap/${ns}/only-in-one`));
    assert.ok(at(`e2e/labelled-configmap  ConfigMap/${ns}/only-in-one`) < at(`CONTEXT fleet-two  ${second!.server}`));
    assert.ok(at(`CONTEXT fleet-two`) < at(`e2e/labelled-configmap  ConfigMap/${ns}/only-in-two`));
    assert.ok(at('FLEET (2 contexts)') > at(`e2e/labelled-configmap  ConfigMap/${ns}/only-in-two`));
    assert.match(table.stdout, /^e2e\/labelled-configmap {2}0 {9}2 {6}0 {8}0 {5}fleet-one, fleet-two$/m);
    assert.match(table.stdout, /\n2 findings \(2 error\) in 2 of 2 contexts scanned\.\n$/);

    const names = await doctor(['--contexts', 'fleet-one,fleet-two', '-o', 'name']);
    assert.equal(
      names.stdout,
      `fleet-one e2e/labelled-configmap ConfigMap/${ns}/only-in-one\nfleet-two e2e/labelled-configmap ConfigMap/${ns}/only-in-two\n`,
    );
  },
);

test(
  '--fix with several contexts is refused; a glob that matches no context is exit 2',
  { skip: external && 'needs a second API server of its own' },
  async () => {
    const fix = await doctor(['--contexts', 'fleet-one,fleet-two', '--fix', '--yes']);
    assert.deepEqual(fix, {
      code: 2,
      stdout: '',
      stderr:
        "error: --fix changes one cluster at a time and does not go with --contexts: run it with --context NAME; -o script with --contexts writes every context's plans\n",
    });
    assert.equal(
      (await read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'only-in-one', namespace: ns } })).metadata.labels?.[LABEL],
      'broken',
    );
    const none = await doctor(['--contexts', 'prod-*']);
    assert.deepEqual(none, {
      code: 2,
      stdout: '',
      stderr: `error: --contexts: no context matches "prod-*" in kubeconfig (${kubeconfig}); list them with kubectl config get-contexts\n`,
    });
  },
);

test(
  '-o script with two contexts: a section per context, each pinned to its own context; run, it fixes each cluster through its own',
  { skip: external && 'needs a second API server of its own' },
  async (t) => {
    const PATH = [kubectlDir(), process.env.PATH].filter(Boolean).join(':');
    if (spawnSync('bash', ['-c', 'command -v kubectl'], { env: { PATH } }).status !== 0) return t.skip('no kubectl to run the script with');
    const r = await doctor(['--contexts', 'fleet-one,fleet-two', '-o', 'script']);
    assert.equal(r.code, 1, r.stderr);
    const script = r.stdout;
    assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0);
    const pins = [...script.matchAll(/^kubectl\(\) \{ command kubectl --kubeconfig (\S+) --context (\S+) "\$@"; \}$/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    assert.deepEqual(pins, [
      [kubeconfig, 'fleet-one'],
      [kubeconfig, 'fleet-two'],
    ]);
    const section = (context: string) => script.indexOf(`# context ${context} (`);
    assert.ok(section('fleet-one') < script.indexOf(`'context fleet-one: ConfigMap ${ns}/only-in-one'`));
    assert.ok(script.indexOf(`'context fleet-one: ConfigMap ${ns}/only-in-one'`) < section('fleet-two'));
    assert.ok(section('fleet-two') < script.indexOf(`'context fleet-two: ConfigMap ${ns}/only-in-two'`));

    // Run as a user would, with a KUBECONFIG that points elsewhere: each section reaches its own cluster.
    const file = join(work, 'fix.sh');
    writeFileSync(file, script);
    const run = spawnSync('bash', [file], { env: { PATH, HOME: work, KUBECONFIG: join(work, 'nothing') }, encoding: 'utf8', cwd: work });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^==> done: 2 findings$/m);
    const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
    assert.equal((await read(cm('only-in-one'))).metadata.labels?.[LABEL], 'fixed');
    assert.equal((await read(cm('only-in-two'), secondKc)).metadata.labels?.[LABEL], 'fixed');
  },
);
