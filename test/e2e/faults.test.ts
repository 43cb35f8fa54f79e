// Scans through a fault-injecting proxy (test/harness/fault-proxy.ts) in front of the real API server: throttling,
// server errors, stalls, resets, truncated bodies, expired continue tokens and a dead server, each with the
// outcome a user should see.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type Fault, type FaultProxy, type ProxyRequest } from '../harness/fault-proxy.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';
import { create, createNamespace, heldConfigMap, parseReport, type JsonReport } from './kube.ts';

const ns = uniqueName('e2e-faults');
const dir = mkdtempSync(join(tmpdir(), 'doctor-faults-'));
let proxy: FaultProxy;
let kubeconfig: string;
let baseline: { result: CliResult; report: JsonReport };

// The configmaps of the test namespace, listed in pages of 2 (5 objects: 3 pages), one of them stuck deleting.
const isConfigMapList = (r: ProxyRequest) => r.method === 'GET' && r.path === `/api/v1/namespaces/${ns}/configmaps`;
const configMapLists = () => proxy.requests.filter((r) => r.path === `/api/v1/namespaces/${ns}/configmaps`);

function scan(extra: string[] = [], timeoutMs = 60_000): Promise<CliResult> {
  return runCli(
    [
      '--kubeconfig',
      kubeconfig,
      '--context',
      e2e().adminContext,
      '-n',
      ns,
      '--rules',
      'core/stuck-deletion',
      '--chunk-size',
      '2',
      '--min-age',
      '0s',
      '-o',
      'json',
      ...extra,
    ],
    { timeoutMs },
  );
}

/** Faults the `n`-th (0-based) configmaps list request of the next run only. */
function onConfigMapList(n: number, fault: Fault): void {
  let seen = 0;
  proxy.hook = (r) => (isConfigMapList(r) && seen++ === n ? fault : undefined);
  proxy.requests.length = 0;
}

/** What must not change when a fault was absorbed: exit code, findings, and the rule's status and gaps. */
function assertAsBaseline(result: CliResult): void {
  const report = parseReport(result);
  assert.equal(result.code, baseline.result.code, result.stderr);
  assert.deepEqual(
    report.findings.map((f) => `${f.object.kind}/${f.object.namespace}/${f.object.name}`).filter((k) => k.includes(ns)),
    baseline.report.findings.map((f) => `${f.object.kind}/${f.object.namespace}/${f.object.name}`).filter((k) => k.includes(ns)),
  );
  assert.deepEqual(
    report.rules.map((r) => [r.id, r.status, (r as { gaps?: unknown }).gaps]),
    baseline.report.rules.map((r) => [r.id, r.status, (r as { gaps?: unknown }).gaps]),
  );
}

before(async () => {
  await createNamespace(ns);
  for (let i = 0; i < 4; i++) await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: ns } });
  await heldConfigMap(ns);
  proxy = await startFaultProxy();
  kubeconfig = proxy.writeKubeconfig(dir);
  const result = await scan();
  baseline = { result, report: parseReport(result) };
  assert.ok(
    baseline.report.findings.some((f) => f.object.name === 'held'),
    `the stuck ConfigMap is found through the proxy: ${result.stderr}`,
  );
  assert.equal(configMapLists().length, 3, 'five configmaps in pages of two');
});

after(async () => {
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('429 with Retry-After on a list: waited for, retried, and the scan is as without it', async () => {
  onConfigMapList(0, { type: 'status', status: 429, retryAfter: 1 });
  const started = Date.now();
  const result = await scan();
  assertAsBaseline(result);
  assert.deepEqual(
    configMapLists().map((r) => r.fault),
    ['status', 'forward', 'forward', 'forward'],
  );
  assert.ok(Date.now() - started >= 1_000, 'Retry-After: 1 was honoured');
});

test('503 once on a later page: retried, the list goes on from that page', async () => {
  onConfigMapList(1, { type: 'status', status: 503 });
  assertAsBaseline(await scan());
  const lists = configMapLists();
  assert.deepEqual(
    lists.map((r) => r.fault),
    ['forward', 'status', 'forward', 'forward'],
  );
  assert.equal(lists[1]!.query.get('continue'), lists[2]!.query.get('continue'), 'the same page was asked again');
});

test('a connection reset mid-list, and a truncated body: the page is read again, the scan is as without them', async () => {
  onConfigMapList(1, { type: 'reset' });
  assertAsBaseline(await scan());
  assert.deepEqual(
    configMapLists().map((r) => r.fault),
    ['forward', 'reset', 'forward', 'forward'],
  );
  onConfigMapList(2, { type: 'truncate' });
  assertAsBaseline(await scan());
  assert.deepEqual(
    configMapLists().map((r) => r.fault),
    ['forward', 'forward', 'truncate', 'forward'],
  );
});

test('410 Expired on a continue token: the list restarts from the first page and the scan is complete', async () => {
  onConfigMapList(1, { type: 'status', status: 410 });
  assertAsBaseline(await scan());
  const lists = configMapLists();
  assert.deepEqual(
    lists.map((r) => [r.fault, r.query.has('continue')]),
    [
      ['forward', false],
      ['status', true],
      ['forward', false],
      ['forward', true],
      ['forward', true],
    ],
  );
});

test('a stalled list is bounded by --request-timeout: one line, exit 2, in time', async () => {
  onConfigMapList(0, { type: 'stall' });
  const result = await scan(['--request-timeout', '2s']);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    `error: cannot reach the API server at ${proxy.url}: no answer within --request-timeout 2s; check --server/--context and that the cluster is up\n`,
  );
});

test('a server that is gone (connections refused): one line, exit 2, fast; back again, the scan works', async () => {
  proxy.hook = () => undefined;
  await proxy.stop();
  const down = await scan(['--request-timeout', '5s']);
  assert.equal(down.code, 2);
  assert.equal(
    down.stderr,
    `error: cannot reach the API server at ${proxy.url}: connection refused; check --server/--context and that the cluster is up\n`,
  );
  await proxy.resume();
  assertAsBaseline(await scan());
});

test('a 503 that does not go away: two quick retries, then the rule is reported with the answer, not a crash', async () => {
  proxy.requests.length = 0;
  proxy.hook = (r) => (isConfigMapList(r) ? { type: 'status', status: 503, message: 'etcd leader changed' } : undefined);
  const result = await scan();
  const report = parseReport(result);
  assert.equal(result.code, 3, result.stderr);
  assert.equal(configMapLists().length, 3);
  const rule = report.rules[0] as { status: string; gaps?: { resource: string; reason: string }[] };
  assert.equal(rule.status, 'partial');
  assert.deepEqual(
    rule.gaps?.find((g) => g.resource === 'configmaps'),
    { resource: 'configmaps', reason: 'api unavailable: configmaps: etcd leader changed' },
  );
});
