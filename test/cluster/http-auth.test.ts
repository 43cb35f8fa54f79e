// The credential headers ApiClient sends: a user whose credential cannot change during a run (token, client
// certificate, password) is authenticated once and every request carries the same headers; a user with an exec
// plugin or auth provider is authenticated for each request, so a renewed token is used (src/cluster/http.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { ApiClient } from '../../src/cluster/http.ts';

/** A KubeConfig that counts how often client-node is asked for a request's credentials. */
class CountingKubeConfig extends KubeConfig {
  authentications = 0;
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.authentications++;
    await super.applySecurityAuthentication(context);
  }
}

async function requestsAs(user: { name: string; token?: string; username?: string; password?: string }, n: number) {
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const kc = new CountingKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [user],
    contexts: [{ name: 'x', cluster: 'c', user: user.name }],
    currentContext: 'x',
  });
  const client = new ApiClient(kc, url, { timeoutMs: 5000 });
  try {
    for (let i = 0; i < n; i++) assert.equal((await client.request('GET', '/api')).status, 200);
  } finally {
    await client.close();
    server.close();
  }
  return { seen, authentications: kc.authentications };
}

test('a token is taken from client-node once and sent with every request', async () => {
  const { seen, authentications } = await requestsAs({ name: 'u', token: 'secret-token' }, 5);
  assert.deepEqual(seen, Array(5).fill('Bearer secret-token'));
  assert.equal(authentications, 1);
});

test('a password is taken once and sent as basic auth with every request', async () => {
  const { seen, authentications } = await requestsAs({ name: 'u', username: 'admin', password: 'pw' }, 3);
  assert.deepEqual(seen, Array(3).fill(`Basic ${Buffer.from('admin:pw').toString('base64')}`));
  assert.equal(authentications, 1);
});
