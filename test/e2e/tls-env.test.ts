// TLS verification is the kubeconfig's to decide, as in kubectl (Go ignores Node's NODE_TLS_REJECT_UNAUTHORIZED), and
// without a CA in it, the system's roots are trusted, as Go trusts them (src/cluster/kubeconfig.ts defaultRoots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2e } from '../harness/env.ts';
import { runCli } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { editedKubeconfig } from './kube.ts';

test(
  'NODE_TLS_REJECT_UNAUTHORIZED=0 does not turn off the verification of the API server a kubeconfig asks for',
  { skip: e2e().external },
  async () => {
    // The harness kubeconfig without its CA: the server's certificate cannot be verified.
    let ca = '';
    const kubeconfig = editedKubeconfig('tls-env', (cluster) => {
      ca = String(cluster['certificate-authority-data']);
      delete cluster['certificate-authority-data'];
    });
    const args = [
      '--kubeconfig',
      kubeconfig,
      '--context',
      e2e().adminContext,
      '-n',
      'default',
      '--rules',
      'core/stuck-deletion',
      '-o',
      'json',
    ];
    const envs: Record<string, string>[] = [{}, { NODE_TLS_REJECT_UNAUTHORIZED: '0' }];
    for (const env of envs) {
      const result = await runCli(args, { env, timeoutMs: 60_000 });
      assert.equal(result.code, 2, `${JSON.stringify(env)}: ${result.stderr}`);
      assert.match(result.stderr, /^error: cannot reach the API server at \S+: TLS certificate not trusted/m, JSON.stringify(env));
    }
    // The server's CA installed in the system's roots (SSL_CERT_FILE, which OpenSSL and Go read on Linux): trusted, as
    // kubectl trusts it, with no CA in the kubeconfig.
    const caFile = join(tempDir('tls-env-roots'), 'ca.pem');
    writeFileSync(caFile, Buffer.from(ca, 'base64'));
    const systemRoots = await runCli(args, { env: { SSL_CERT_FILE: caFile }, timeoutMs: 60_000 });
    assert.notEqual(systemRoots.code, 2, systemRoots.stderr);
    // What does turn it off, as in kubectl: the flag (or the kubeconfig's insecure-skip-tls-verify). No warning from Node.
    const unsafe = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    const insecure = await runCli([...args, '--insecure-skip-tls-verify'], { env: unsafe, timeoutMs: 60_000 });
    assert.notEqual(insecure.code, 2, insecure.stderr);
    const verified = await runCli(['--kubeconfig', e2e().kubeconfigPath, ...args.slice(2)], { env: unsafe, timeoutMs: 60_000 });
    assert.notEqual(verified.code, 2, verified.stderr);
    assert.doesNotMatch(`${insecure.stderr}${verified.stderr}`, /NODE_TLS_REJECT_UNAUTHORIZED/);
  },
);
