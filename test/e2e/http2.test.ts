// The connection to the real API server, seen from Node's HTTP/2 diagnostics channel: kube-apiserver offers HTTP/2,
// and the client opens it with client-go's flow-control windows (golang.org/x/net/http2 transport.go: 1 GiB for the
// connection, 4 MiB a stream), not undici's (512 KiB, 256 KiB), which let a far server send one window per round trip.
// With several --as-group it speaks HTTP/1.1, where each group is a header of its own. (Through an HTTPS proxy's
// tunnel: test/e2e/env-proxy.test.ts.) And a scan through the benchmark's remote-like link (test/harness/tcp-link.ts:
// TLS and HTTP/2 end to end over a TCP pass-through with latency) finds what a direct scan finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, type ApiClientOptions } from '../../src/cluster/http.ts';
import { adminKubeConfig, e2e, uniqueName } from '../harness/env.ts';
import { startTcpLink } from '../harness/tcp-link.ts';
import { CLIENT_GO_WINDOWS, create, createNamespace, doctor, editedKubeconfig, http2Streams, parseReport, remove } from './kube.ts';

function client(options: Omit<ApiClientOptions, 'timeoutMs'> = {}): ApiClient {
  const kc = adminKubeConfig();
  return new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000, ...options });
}

test("requests go over HTTP/2 with client-go's flow-control windows", { skip: e2e().external }, async () => {
  const streams = await http2Streams(client(), ['/api', '/version']);
  assert.equal(streams.length, 2, 'kube-apiserver negotiates HTTP/2: one stream a request');
  assert.deepEqual(streams[1], CLIENT_GO_WINDOWS);
});

test('with several impersonated groups, HTTP/1.1: no HTTP/2 stream', async () => {
  const impersonate = { user: 'doctor-test', groups: ['a', 'system:masters'] };
  assert.deepEqual(await http2Streams(client({ impersonate }), ['/api', '/version']), []);
});

test('through a TCP link of 20 ms round trip, a scan over HTTP/2 finds what a direct scan finds', { skip: e2e().external }, async () => {
  const ns = uniqueName('e2e-tcp-link');
  await createNamespace(ns);
  const held = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: ns, finalizers: ['example.com/never'] } };
  await create(held);
  await remove(held);
  const server = new URL(e2e().server);
  const link = await startTcpLink({ host: server.hostname, port: Number(server.port) }, { rttMs: 20, bytesPerSecond: 100e6 / 8 });
  try {
    const kubeconfigPath = editedKubeconfig('tcp-link', (cluster) => {
      cluster.server = `https://${server.hostname}:${link.port}`;
    });
    const scan = ['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '-o', 'json'];
    const found = (r: Awaited<ReturnType<typeof doctor>>) => parseReport(r).findings.map((f) => `${f.object.kind}/${f.object.name}`);
    const direct = await doctor(scan);
    const linked = await doctor(scan, { cluster: { kubeconfigPath, adminContext: e2e().adminContext } });
    assert.equal(linked.code, 1, linked.stderr);
    assert.deepEqual(found(linked), found(direct));
    assert.deepEqual(found(linked), ['ConfigMap/held']);
    assert.ok(link.bytesDown > 0, 'nothing went through the link');
  } finally {
    await link.close();
  }
});
