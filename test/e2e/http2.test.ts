// The connection to the real API server, seen from Node's HTTP/2 diagnostics channel: kube-apiserver offers HTTP/2,
// and the client opens it with client-go's flow-control windows (golang.org/x/net/http2 transport.go: 1 GiB for the
// connection, 4 MiB a stream), not undici's (512 KiB, 256 KiB), which let a far server send one window per round trip.
// With several --as-group it speaks HTTP/1.1, where each group is a header of its own. (Through an HTTPS proxy's
// tunnel: test/e2e/env-proxy.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, type ApiClientOptions } from '../../src/cluster/http.ts';
import { adminKubeConfig, e2e } from '../harness/env.ts';
import { CLIENT_GO_WINDOWS, http2Streams } from './kube.ts';

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
