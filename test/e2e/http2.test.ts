// The connection to the real API server, seen from Node's HTTP/2 diagnostics channel: kube-apiserver offers HTTP/2,
// and the client opens it with client-go's flow-control windows (golang.org/x/net/http2 transport.go: 1 GiB for the
// connection, 4 MiB a stream), not undici's (512 KiB, 256 KiB), which let a far server send one window per round trip.
// With several --as-group it speaks HTTP/1.1, where each group is a header of its own. (Through an HTTPS proxy's
// tunnel: test/e2e/env-proxy.test.ts.) A scan through the benchmark's remote-like link (test/harness/tcp-link.ts:
// TLS and HTTP/2 end to end over a TCP pass-through with latency) finds what a direct scan finds, and so does one of
// a server on http:// (kubectl proxy's), where the client makes its own plain dispatcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApiClient, type ApiClientOptions } from '../../src/cluster/http.ts';
import { adminKubeConfig, e2e, uniqueName } from '../harness/env.ts';
import { startTcpLink } from '../harness/tcp-link.ts';
import { tempDir } from '../temp.ts';
import { CLIENT_GO_WINDOWS, createNamespace, doctor, editedKubeconfig, heldConfigMap, http2Streams, parseReport } from './kube.ts';

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

test('requests that authenticate at once (discovery asks for /api and /apis together) share one dispatcher', async () => {
  const kc = adminKubeConfig();
  let made = 0;
  const applyToHTTPSOptions = kc.applyToHTTPSOptions.bind(kc);
  kc.applyToHTTPSOptions = async (options) => {
    made++;
    return applyToHTTPSOptions(options);
  };
  const shared = new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000 });
  try {
    const answers = await Promise.all(['/api', '/apis', '/version'].map((path) => shared.request('GET', path)));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal(made, 1, 'one dispatcher made, whose TLS options are read once');
  } finally {
    await shared.close();
  }
});

test('through a TCP link of 20 ms round trip, a scan over HTTP/2 finds what a direct scan finds', { skip: e2e().external }, async () => {
  const ns = uniqueName('e2e-tcp-link');
  await createNamespace(ns);
  await heldConfigMap(ns);
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

test(
  'a server on http:// (as `kubectl proxy` serves one): plain HTTP/1.1, and the scan finds what it finds',
  { skip: e2e().external },
  async () => {
    const ns = uniqueName('e2e-plain-http');
    await createNamespace(ns);
    await heldConfigMap(ns);
    // What kubectl proxy does: plain HTTP on 127.0.0.1, forwarded to the API server with the proxy's own credentials.
    const admin = adminKubeConfig();
    const upstream = new URL(admin.getCurrentCluster()!.server);
    const ca = Buffer.from(admin.getCurrentCluster()!.caData!, 'base64');
    const token = admin.getCurrentUser()!.token!;
    const versions = new Set<string>();
    const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      versions.add(req.httpVersion);
      const out = httpsRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          ca,
          headers: { ...req.headers, host: upstream.host, authorization: `Bearer ${token}` },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const kubeconfigPath = join(tempDir('plain-http'), 'kubeconfig');
      writeFileSync(
        kubeconfigPath,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'proxy', cluster: { server: `http://127.0.0.1:${port}` } }],
          users: [{ name: 'none', user: {} }],
          contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'none' } }],
          'current-context': 'proxy',
        }),
      );
      const scan = await doctor(['-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '-o', 'json'], {
        cluster: { kubeconfigPath, adminContext: 'proxy' },
      });
      assert.equal(scan.code, 1, scan.stderr);
      assert.deepEqual(
        parseReport(scan).findings.map((f) => `${f.object.kind}/${f.object.name}`),
        ['ConfigMap/held'],
      );
      assert.deepEqual([...versions], ['1.1']);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  },
);
