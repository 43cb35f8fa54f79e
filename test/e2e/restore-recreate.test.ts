// A reversible delete is reversible: --fix deletes a stale APIService (its Service is gone) for a namespace whose
// deletion fails discovery, and `restore` recreates it from the backup, only while nothing of that name exists.
// Its own API server: deleting an APIService changes discovery for every test sharing a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeConfigAt, startTestCluster } from '../harness/cluster.ts';
import { e2e, rawRequest, uniqueName } from '../harness/env.ts';
import { runCli } from '../cli/run-cli.ts';
import { answerEverything, doctorCommand, onTerminal } from '../cli/pty.ts';
import { readAudit } from './kube.ts';

const API = 'v1alpha1.cluster.core.oam.dev';
const API_PATH = `/apis/apiregistration.k8s.io/v1/apiservices/${API}`;

test('restore recreates a deleted APIService from its backup', { skip: e2e().external && 'needs its own API server' }, async () => {
  const cluster = await startTestCluster();
  const work = mkdtempSync(join(tmpdir(), 'doctor-recreate-'));
  try {
    const kc = kubeConfigAt(cluster.kubeconfigPath, cluster.adminContext);
    const req = async (method: string, path: string, body?: unknown) => {
      const res = await rawRequest(kc, method, path, body === undefined ? {} : { body });
      return {
        status: res.status,
        json: res.json as { metadata: { uid: string; resourceVersion: string }; spec?: Record<string, unknown> },
        body: res.body,
      };
    };
    // The APIService's Service is gone, as after an uninstall that left the APIService behind.
    const before = await req('GET', API_PATH);
    assert.equal(before.status, 200, before.body);
    const svc = before.json.spec!.service as { namespace: string; name: string };
    await req('DELETE', `/api/v1/namespaces/${svc.namespace}/services/${svc.name}`);
    // A namespace whose deletion fails discovery of that group-version, as the namespace controller reports it.
    const ns = uniqueName('e2e-recreate');
    assert.equal((await req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })).status, 201);
    await req('DELETE', `/api/v1/namespaces/${ns}`);
    const current = await req('GET', `/api/v1/namespaces/${ns}`);
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const put = await req('PUT', `/api/v1/namespaces/${ns}/status`, {
      ...current.json,
      status: {
        phase: 'Terminating',
        conditions: [
          {
            type: 'NamespaceDeletionDiscoveryFailure',
            status: 'True',
            reason: 'DiscoveryFailed',
            lastTransitionTime: at,
            message:
              'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: cluster.core.oam.dev/v1alpha1: stale GroupVersion discovery: cluster.core.oam.dev/v1alpha1',
          },
        ],
      },
    });
    assert.equal(put.status, 200, put.body);

    const run = (args: string[]) => runCli(['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.adminContext, ...args]);
    const fixArgs = ['-n', ns, '--rules', 'core/namespace-stuck-terminating', '--min-age', '0s', '--fix', '--allow=destructive'];
    // A server dry run first: the delete is validated, nothing is deleted, and it exits as the real run does.
    const dry = await run([...fixArgs, '--yes', '--dry-run=server']);
    assert.equal((await req('GET', API_PATH)).status, 200, dry.stdout + dry.stderr);

    const backupDir = join(work, 'backups');
    const pty = onTerminal(
      doctorCommand(['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.adminContext, ...fixArgs, '--backup-dir', backupDir]),
    );
    const { code, questions } = await answerEverything(pty);
    assert.ok(code === 0 || code === 1, `--fix exited ${code}:\n${pty.screen()}`);
    assert.equal(dry.code, code, `the server dry run exits as the real run: ${dry.stdout}`);
    assert.ok(
      questions.some((q) => q.includes(`Delete the stale APIService ${API}`)),
      questions.join('\n'),
    );
    assert.equal((await req('GET', API_PATH)).status, 404, `the APIService was deleted:\n${pty.screen()}`);
    const audit = readAudit(backupDir);
    assert.deepEqual(
      audit.map((e) => [e.result, e.action, e.reversible]),
      [
        ['intent', 'delete', true],
        ['applied', 'delete', true],
      ],
    );

    const restored = await run(['restore', backupDir, '--yes']);
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    assert.match(restored.stdout, new RegExp(`recreated APIService ${API.replace(/\./g, '\\.')}: a new object with uid`));
    const after = await req('GET', API_PATH);
    assert.equal(after.status, 200);
    assert.notEqual(after.json.metadata.uid, before.json.metadata.uid, 'a new object');
    assert.deepEqual(after.json.spec, before.json.spec, "the backup's spec");

    // Restoring again would replace the object that exists now: refused.
    const again = await run(['restore', backupDir, '--yes']);
    assert.equal(again.code, 4, again.stdout + again.stderr);
    assert.match(again.stdout, /refused APIService .*: an object of that name exists now; not replacing it/);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await cluster.stop();
  }
});
