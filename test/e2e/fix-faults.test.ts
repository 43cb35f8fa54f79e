// --fix and restore through a fault-injecting proxy (test/harness/fault-proxy.ts) in front of the real API server:
// what the run reports of its writes must be what happened on the server, whatever fails when.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { ROOT, runProcess, type CliResult } from '../cli/run-cli.ts';
import { create, createNamespace, read, readAudit } from './kube.ts';
import { LABEL } from './labelled-rule.ts';

const dir = mkdtempSync(join(tmpdir(), 'doctor-fixfaults-'));
let proxy: FaultProxy;
let kubeconfig: string;
const ENTRY = join(ROOT, 'test/e2e/doctor-with-test-rule.ts');

before(async () => {
  proxy = await startFaultProxy();
  kubeconfig = proxy.writeKubeconfig(dir);
});
after(async () => {
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cm = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
const label = async (ns: string, name: string) => (await read(cm(ns, name))).metadata.labels?.[LABEL];

async function broken(...names: string[]): Promise<string> {
  const ns = uniqueName('e2e-fixfault');
  await createNamespace(ns);
  for (const name of names) await create({ ...cm(ns, name), metadata: { name, namespace: ns, labels: { [LABEL]: 'broken' } } });
  return ns;
}

/** The doctor with the test rule (labelled-rule.ts), through the proxy. */
function doctor(args: string[]): Promise<CliResult> {
  return runProcess(process.execPath, [ENTRY, '--kubeconfig', kubeconfig, '--context', e2e().adminContext, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: dir },
    timeoutMs: 60_000,
  });
}

const isPatchOf = (ns: string, name: string) => (r: { method: string; path: string }) =>
  r.method === 'PATCH' && r.path === `/api/v1/namespaces/${ns}/configmaps/${name}`;

test('a reset after the write reached the server: re-read, logged as applied, the run halts, restore puts it back', async () => {
  const ns = await broken('a', 'b');
  const backupDir = join(dir, uniqueName('run'));
  let faulted = false;
  proxy.hook = (r) => (isPatchOf(ns, 'a')(r) && !faulted ? ((faulted = true), { type: 'reset', after: true }) : undefined);
  proxy.requests.length = 0;
  const r = await doctor(['-n', ns, '--fix', '--yes', '--backup-dir', backupDir, '-o', 'json']);
  assert.equal(r.code, 4, r.stderr);
  const report = JSON.parse(r.stdout) as {
    fix: { halted?: string; results: { object: { name: string }; outcome: string; steps: { status: string; message?: string }[] }[] };
  };
  assert.match(report.fix.halted ?? '', /the connection failed during a write/);
  const a = report.fix.results.find((x) => x.object.name === 'a')!;
  assert.equal(a.steps[0]!.status, 'applied');
  assert.match(a.steps[0]!.message ?? '', /re-reading shows the write applied/);
  assert.equal(report.fix.results.find((x) => x.object.name === 'b')!.outcome, 'not-attempted', 'no write after the failure');
  assert.equal(proxy.requests.filter(isPatchOf(ns, 'b')).length, 0);
  assert.equal(await label(ns, 'a'), 'fixed', 'the write did land');
  assert.equal(await label(ns, 'b'), 'broken');
  assert.deepEqual(
    readAudit(backupDir).map((e) => [e.result, e.object.name]),
    [
      ['intent', 'a'],
      ['applied', 'a'],
    ],
  );
  assert.ok(readAudit(backupDir)[1]!.resourceVersionAfter);

  proxy.hook = () => undefined;
  const restored = await doctor(['restore', backupDir, '--yes']);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.equal(await label(ns, 'a'), 'broken');
});

test('a reset after the write and a failing re-read: the outcome is logged unknown, the run halts, restore still knows the write', async () => {
  const ns = await broken('a');
  const backupDir = join(dir, uniqueName('run'));
  let patched = false;
  proxy.hook = (r) => {
    if (isPatchOf(ns, 'a')(r) && !patched) {
      patched = true;
      return { type: 'reset', after: true };
    }
    if (patched && r.method === 'GET' && r.path === `/api/v1/namespaces/${ns}/configmaps/a`) return { type: 'status', status: 500 };
    return undefined;
  };
  const r = await doctor(['-n', ns, '--fix', '--yes', '--backup-dir', backupDir, '-o', 'json']);
  assert.equal(r.code, 4, r.stderr);
  const report = JSON.parse(r.stdout) as { fix: { results: { outcome: string; steps: { status: string; message?: string }[] }[] } };
  assert.equal(report.fix.results[0]!.outcome, 'failed');
  assert.equal(report.fix.results[0]!.steps[0]!.status, 'unknown');
  assert.match(report.fix.results[0]!.steps[0]!.message ?? '', /whether the write landed is unknown/);
  assert.deepEqual(
    readAudit(backupDir).map((e) => e.result),
    ['intent', 'unknown'],
  );

  proxy.hook = () => undefined;
  const restored = await doctor(['restore', backupDir, '--yes']);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, /outcome was unknown/);
  assert.equal(await label(ns, 'a'), 'broken', 'the write had landed; restore undid it');
});

test('a read error before a write mid-run: no further write, the report and the summary are still printed', async () => {
  const ns = await broken('a', 'b', 'c');
  const backupDir = join(dir, uniqueName('run'));
  proxy.hook = (r) =>
    r.method === 'GET' && r.path === `/api/v1/namespaces/${ns}/configmaps/b`
      ? { type: 'status', status: 500, message: 'etcdserver: leader changed' }
      : undefined;
  proxy.requests.length = 0;
  const r = await doctor(['-n', ns, '--fix', '--yes', '--backup-dir', backupDir, '-o', 'json']);
  assert.equal(r.code, 4, r.stderr);
  const report = JSON.parse(r.stdout) as {
    fix: { halted?: string; results: { object: { name: string }; outcome: string; stopped?: string }[] };
  };
  assert.match(report.fix.halted ?? '', /a read failed: .*leader changed/);
  assert.deepEqual(
    report.fix.results.map((x) => [x.object.name, x.outcome]),
    [
      ['a', 'fixed'],
      ['b', 'failed'],
      ['c', 'not-attempted'],
    ],
  );
  assert.match(r.stderr, /Run halted: a read failed/);
  assert.match(r.stderr, /Fix: 1 fixed, 1 failed, 1 not-attempted\./);
  assert.equal(proxy.requests.filter((x) => x.method === 'PATCH').length, 1, 'only the write before the failure');
  assert.equal(await label(ns, 'c'), 'broken');
});

test('killed while a write is in flight: the intent is on disk, and restore finds the write never landed', async () => {
  const ns = await broken('a');
  const backupDir = join(dir, uniqueName('run'));
  proxy.hook = (r) => (isPatchOf(ns, 'a')(r) ? { type: 'stall' } : undefined);
  proxy.requests.length = 0;
  const child = spawn(
    process.execPath,
    [ENTRY, '--kubeconfig', kubeconfig, '--context', e2e().adminContext, '-n', ns, '--fix', '--yes', '--backup-dir', backupDir],
    {
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 30_000;
  while (!proxy.requests.some(isPatchOf(ns, 'a')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  child.kill('SIGKILL');
  await new Promise((res) => child.on('close', res));
  assert.deepEqual(
    readAudit(backupDir).map((e) => e.result),
    ['intent'],
    'write-ahead: the intent was logged before the request left',
  );

  proxy.hook = () => undefined;
  const restored = await doctor(['restore', backupDir, '--yes']);
  assert.equal(restored.code, 0, restored.stdout + restored.stderr);
  assert.match(restored.stdout, /unchanged since the backup \(the write whose outcome was unknown did not land\)/);
  assert.equal(await label(ns, 'a'), 'broken');
});
