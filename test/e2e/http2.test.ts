// The connection to the real API server, seen from Node's HTTP/2 diagnostics channel: kube-apiserver offers HTTP/2,
// and the client opens it with client-go's flow-control windows (golang.org/x/net/http2 transport.go: 1 GiB for the
// connection, 4 MiB a stream), not undici's (512 KiB, 256 KiB), which let a far server send one window per round trip.
// With several --as-group it speaks HTTP/1.1, where each group is a header of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientHttp2Stream } from 'node:http2';
import { ApiClient, type ApiClientOptions } from '../../src/cluster/http.ts';
import { adminKubeConfig, e2e } from '../harness/env.ts';

const STREAM_CREATED = 'http2.client.stream.created';

/** Each HTTP/2 stream's session settings as two GETs through one client see them (the second after SETTINGS). */
async function streamsOf(options: Omit<ApiClientOptions, 'timeoutMs'> = {}) {
  const streams: { initialWindowSize: number | undefined; connectionWindow: number | undefined }[] = [];
  const seen = ({ stream }: { stream: ClientHttp2Stream }) => {
    streams.push({
      initialWindowSize: stream.session?.localSettings.initialWindowSize,
      connectionWindow: stream.session?.state.effectiveLocalWindowSize,
    });
  };
  subscribe(STREAM_CREATED, seen as (message: unknown) => void);
  const kc = adminKubeConfig();
  const client = new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000, ...options });
  try {
    for (const path of ['/api', '/version']) assert.equal((await client.request('GET', path)).status, 200);
  } finally {
    unsubscribe(STREAM_CREATED, seen as (message: unknown) => void);
    await client.close();
  }
  return streams;
}

test("requests go over HTTP/2 with client-go's flow-control windows", { skip: e2e().external }, async () => {
  const streams = await streamsOf();
  assert.equal(streams.length, 2, 'kube-apiserver negotiates HTTP/2: one stream a request');
  assert.deepEqual(streams[1], { initialWindowSize: 4 * 2 ** 20, connectionWindow: 2 ** 30 });
});

test('with several impersonated groups, HTTP/1.1: no HTTP/2 stream', async () => {
  assert.deepEqual(await streamsOf({ impersonate: { user: 'doctor-test', groups: ['a', 'system:masters'] } }), []);
});
