// The API server reached through the proxy the environment names, as kubectl reaches it (src/cluster/env-proxy.ts):
// a real CONNECT proxy on 127.0.0.1 in front of the real API server, which the kubeconfig names by a host no
// resolver knows (.test is reserved, RFC 2606), so a scan that reaches it went through the proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ApiClient } from '../../src/cluster/http.ts';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { e2e } from '../harness/env.ts';
import { runCli } from '../cli/run-cli.ts';
import { CLIENT_GO_WINDOWS, editedKubeconfig, http2Streams, TWO_GROUPS_SCAN } from './kube.ts';

const HOST = 'kubernetes.doctor.test';
const external = e2e().external;
let proxy: Server;
let proxyPort: number;
let apiPort: number;
let kubeconfig: string;
const connects: { target: string; authorization: string | undefined }[] = [];
const sockets = new Set<Socket>();

before(async () => {
  if (external) return;
  apiPort = Number(new URL(e2e().server).port);
  // The harness kubeconfig with its server named by HOST; the serving certificate is for localhost.
  kubeconfig = editedKubeconfig('env-proxy', (cluster) => {
    cluster.server = `https://${HOST}:${apiPort}`;
    cluster['tls-server-name'] = 'localhost';
  });
  // An HTTP proxy that tunnels CONNECT to HOST to the API server, and refuses any other.
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    connects.push({ target: req.url ?? '', authorization: req.headers['proxy-authorization'] });
    if (req.url !== `${HOST}:${apiPort}`) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(apiPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as AddressInfo).port;
});

after(async () => {
  if (external) return;
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => proxy.close(resolve));
});

const scan = (env: Record<string, string>, file = kubeconfig) =>
  runCli(['--kubeconfig', file, '--context', e2e().adminContext, '-n', 'default', '--rules', 'core/stuck-deletion', '-o', 'json', '-v'], {
    env,
    timeoutMs: 60_000,
  });

/** The findings of a JSON report, as the objects they are about. */
const findings = (stdout: string): string[] =>
  (JSON.parse(stdout) as { findings: { rule: string; object: { kind: string; name: string } }[] }).findings.map(
    (f) => `${f.rule} ${f.object.kind}/${f.object.name}`,
  );

test('HTTPS_PROXY: the scan goes through the proxy, which gets its credentials; -v names it without them', { skip: external }, async () => {
  connects.length = 0;
  const result = await scan({ HTTPS_PROXY: `http://doctor:s3cret@127.0.0.1:${proxyPort}` });
  // As a scan of the same server without a proxy (its gaps, an aggregated API without a backend, make it exit 3).
  const direct = await scan({}, e2e().kubeconfigPath);
  assert.notEqual(direct.code, 2, direct.stderr);
  assert.equal(result.code, direct.code, result.stderr);
  assert.deepEqual(findings(result.stdout), findings(direct.stdout));
  assert.ok(connects.length > 0, 'no CONNECT reached the proxy');
  for (const c of connects) {
    assert.equal(c.target, `${HOST}:${apiPort}`);
    assert.equal(c.authorization, `Basic ${Buffer.from('doctor:s3cret').toString('base64')}`);
  }
  assert.match(result.stderr, new RegExp(`proxy http://127\\.0\\.0\\.1:${proxyPort} \\(HTTPS_PROXY\\)`));
  assert.doesNotMatch(result.stderr, /s3cret/);
  // Lower case, as Go also reads it.
  connects.length = 0;
  const lower = await scan({ https_proxy: `127.0.0.1:${proxyPort}` });
  assert.equal(lower.code, direct.code, lower.stderr);
  assert.ok(connects.length > 0);
});

test(
  'NO_PROXY naming the server, or HTTP_PROXY alone for an https server: no proxy, and the host does not resolve',
  { skip: external },
  async () => {
    connects.length = 0;
    const envs: Record<string, string>[] = [
      { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'localhost, .doctor.test' },
      { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, no_proxy: `${HOST}:${apiPort}` },
      { HTTP_PROXY: `http://127.0.0.1:${proxyPort}` },
    ];
    for (const env of envs) {
      const result = await scan(env);
      assert.equal(result.code, 2, JSON.stringify(env));
      assert.match(result.stderr, new RegExp(`error: cannot reach the API server at https://${HOST.replaceAll('.', '\\.')}:${apiPort}: `));
      assert.doesNotMatch(result.stderr, /through the proxy/);
    }
    assert.deepEqual(connects, []);
  },
);

test(
  'a proxy that cannot be reached, or refuses: one line naming it and NO_PROXY; a loopback server is never proxied',
  { skip: external },
  async () => {
    const dead = await scan({ HTTPS_PROXY: 'http://127.0.0.1:1' });
    assert.equal(dead.code, 2, dead.stderr);
    assert.match(
      dead.stderr,
      new RegExp(
        `^error: cannot reach the API server at https://${HOST.replaceAll('.', '\\.')}:${apiPort} through the proxy http://127\\.0\\.0\\.1:1 \\(HTTPS_PROXY\\): .*; check the proxy, or list the server's host in NO_PROXY to connect directly; check --server/--context and that the cluster is up$`,
        'm',
      ),
    );
    // The proxy answers 403 to a CONNECT to another host.
    const other = editedKubeconfig('env-proxy-other', (cluster) => {
      cluster.server = `https://other.${HOST}:${apiPort}`;
      cluster['tls-server-name'] = 'localhost';
    });
    const refused = await scan({ HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` }, other);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^error: cannot reach the API server at https:\/\/other\.kubernetes\.doctor\.test:\d+ through the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\): the proxy answered 403 to the tunnel \(CONNECT\) request; /m,
    );
    const unknown = await scan({ HTTPS_PROXY: 'ftp://u:p@proxy.example' });
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.equal(
      unknown.stderr,
      "error: HTTPS_PROXY names a proxy of scheme ftp: the API server is reached through http, https or socks5 proxies, as kubectl does; fix HTTPS_PROXY, or list the server's host in NO_PROXY to connect directly\n",
    );
    // The harness kubeconfig names https://127.0.0.1:PORT: Go never proxies a loopback address, nor do we.
    const loopback = await scan({ HTTPS_PROXY: 'http://127.0.0.1:1' }, e2e().kubeconfigPath);
    assert.notEqual(loopback.code, 2, loopback.stderr);
    assert.doesNotMatch(loopback.stderr, /proxy/);
  },
);

test('repeated --as-group through the proxy: each group its own header, as without it', { skip: external }, async () => {
  // Only the second group grants access, so it must arrive as a group of its own, not "a, b".
  const impersonating = ['--kubeconfig', kubeconfig, '--context', e2e().adminContext, ...TWO_GROUPS_SCAN];
  connects.length = 0;
  const result = await runCli(impersonating, { env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` }, timeoutMs: 60_000 });
  assert.notEqual(result.code, 2, result.stderr);
  const rule = (JSON.parse(result.stdout) as { rules: { status: string; reason?: string }[] }).rules[0]!;
  assert.notEqual(rule.status, 'skipped', JSON.stringify(rule));
  assert.ok(connects.length > 0, 'no CONNECT reached the proxy');
});

test("through the proxy's tunnel, HTTP/2 with client-go's flow-control windows", { skip: external }, async () => {
  connects.length = 0;
  const env = { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` };
  const loaded = loadKubeConfig({ kubeconfig, context: e2e().adminContext }, env);
  const client = new ApiClient(loaded.kubeConfig, loaded.server, { timeoutMs: 30_000, proxy: loaded.proxy });
  const streams = await http2Streams(client, ['/api', '/version']);
  assert.ok(connects.length > 0, 'no CONNECT reached the proxy');
  assert.equal(streams.length, 2, 'the API server negotiates HTTP/2 inside the tunnel');
  assert.deepEqual(streams[1], CLIENT_GO_WINDOWS);
});
