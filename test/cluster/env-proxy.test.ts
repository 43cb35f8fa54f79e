// proxyFromEnvironment against the cases of Go's own tests of the rules kubectl follows (golang.org/x/net
// http/httpproxy proxy_test.go: TestProxyForURL, TestUseProxy, TestInvalidNoProxy, TestAllNoProxy), and the way the
// kubeconfig's proxy-url and the environment's combine (kubeconfig.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyFromEnvironment } from '../../src/cluster/env-proxy.ts';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { DoctorError } from '../../src/errors.ts';
import { tempDir } from '../temp.ts';

const proxyFor = (server: string, env: NodeJS.ProcessEnv) => proxyFromEnvironment(server, env)?.url ?? '<nil>';

test("the proxy URL for a server, by its scheme, as Go's ProxyForURL", () => {
  const cases: [NodeJS.ProcessEnv, string, string][] = [
    [{ HTTP_PROXY: '127.0.0.1:8080' }, 'http://example.com', 'http://127.0.0.1:8080'],
    [{ HTTP_PROXY: 'cache.corp.example.com:1234' }, 'http://example.com', 'http://cache.corp.example.com:1234'],
    [{ HTTP_PROXY: 'cache.corp.example.com' }, 'http://example.com', 'http://cache.corp.example.com'],
    [{ HTTP_PROXY: 'localhost' }, 'http://example.com', 'http://localhost'],
    [{ HTTP_PROXY: 'https://cache.corp.example.com' }, 'http://example.com', 'https://cache.corp.example.com'],
    [{ HTTP_PROXY: 'https://127.0.0.1:8080' }, 'http://example.com', 'https://127.0.0.1:8080'],
    [{ HTTP_PROXY: 'socks5://127.0.0.1' }, 'http://example.com', 'socks5://127.0.0.1'],
    [{ HTTP_PROXY: 'http.proxy.tld', HTTPS_PROXY: 'secure.proxy.tld' }, 'http://insecure.tld/', 'http://http.proxy.tld'],
    [{ HTTP_PROXY: 'http.proxy.tld', HTTPS_PROXY: 'secure.proxy.tld' }, 'https://secure.tld/', 'http://secure.proxy.tld'],
    [{ HTTP_PROXY: 'http.proxy.tld', HTTPS_PROXY: 'https://secure.proxy.tld' }, 'https://secure.tld/', 'https://secure.proxy.tld'],
    // No fallback from HTTPS_PROXY to HTTP_PROXY.
    [{ HTTP_PROXY: 'http.proxy.tld' }, 'https://secure.tld/', '<nil>'],
    [{}, 'http://example.com', '<nil>'],
    [{ NO_PROXY: 'example.com', HTTP_PROXY: 'proxy' }, 'http://example.com/', '<nil>'],
    [{ NO_PROXY: '.example.com', HTTP_PROXY: 'proxy' }, 'http://example.com/', 'http://proxy'],
    [{ NO_PROXY: 'ample.com', HTTP_PROXY: 'proxy' }, 'http://example.com/', 'http://proxy'],
    [{ NO_PROXY: 'example.com', HTTP_PROXY: 'proxy' }, 'http://foo.example.com/', '<nil>'],
    [{ NO_PROXY: '.foo.com', HTTP_PROXY: 'proxy' }, 'http://example.com/', 'http://proxy'],
    [{ NO_PROXY: '.示例.com', HTTP_PROXY: 'proxy' }, 'http://www.示例.com', '<nil>'],
    [{ NO_PROXY: 'xn--fsq092h.com', HTTP_PROXY: 'proxy' }, 'http://www.示例.com', '<nil>'],
    [{ NO_PROXY: '示例.com', HTTP_PROXY: 'proxy' }, 'http://www.xn--fsq092h.com', '<nil>'],
    // The upper-case name first, an empty one skipped; NO_PROXY else no_proxy.
    [{ HTTPS_PROXY: 'upper:1', https_proxy: 'lower:2' }, 'https://k.example', 'http://upper:1'],
    [{ HTTPS_PROXY: '', https_proxy: 'lower:2' }, 'https://k.example', 'http://lower:2'],
    [{ HTTPS_PROXY: 'p:1', no_proxy: 'k.example' }, 'https://k.example:6443', '<nil>'],
    [{ HTTPS_PROXY: 'p:1', NO_PROXY: 'other.example', no_proxy: 'k.example' }, 'https://k.example:6443', 'http://p:1'],
    // A value that is no URL at all is ignored, as Go ignores it.
    [{ HTTPS_PROXY: 'http://[bad' }, 'https://k.example', '<nil>'],
  ];
  for (const [env, server, want] of cases) assert.equal(proxyFor(server, env), want, `${JSON.stringify(env)} ${server}`);
});

test("NO_PROXY, loopback and localhost, as Go's useProxy", () => {
  const noProxy =
    'foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64';
  const proxied: [string, boolean][] = [
    ['localhost', false],
    ['127.0.0.1', false],
    ['127.0.0.2', false],
    ['[::1]', false],
    ['[::2]', true],
    ['192.168.1.1', false],
    ['192.168.1.2', true],
    ['192.168.1.3', false],
    ['192.168.1.4', true],
    ['10.0.0.2', false],
    ['[2001:db8::52:0:1]', false],
    ['[2001:db8::52:0:2]', true],
    ['[2001:db8::52:0:3]', false],
    ['[2002:db8:a::123]', false],
    ['[fe80::424b:c8be:1643:a1b6]', true],
    ['barbaz.net', true],
    ['www.barbaz.net', false],
    ['foobar.com', false],
    ['www.foobar.com', false],
    ['foofoobar.com', true],
    ['baz.com', true],
    ['localhost.net', true],
    ['local.localhost', true],
    ['barbarbaz.net', true],
    ['wildcard.io', true],
    ['nested.wildcard.io', false],
    ['awildcard.io', true],
  ];
  for (const [host, want] of proxied) {
    const server = `http://${host}:80`;
    assert.equal(proxyFor(server, { HTTP_PROXY: 'proxy', NO_PROXY: noProxy }) !== '<nil>', want, host);
    assert.equal(proxyFor(server, { HTTP_PROXY: 'proxy', NO_PROXY: '*' }), '<nil>', `${host} with NO_PROXY=*`);
  }
  assert.equal(proxyFor('http://example.com:80', { HTTP_PROXY: 'proxy', NO_PROXY: ':1' }), 'http://proxy', 'a malformed entry');
});

test('a proxy URL of another scheme is one clear line, without its credentials', () => {
  assert.throws(
    () => proxyFromEnvironment('https://k.example', { HTTPS_PROXY: 'ftp://user:pass@proxy.example' }),
    (err: unknown) =>
      err instanceof DoctorError &&
      err.message ===
        "HTTPS_PROXY names a proxy of scheme ftp: the API server is reached through http, https or socks5 proxies, as kubectl does; fix HTTPS_PROXY, or list the server's host in NO_PROXY to connect directly",
  );
  // Not used for this server: not looked at.
  assert.equal(proxyFor('https://k.example', { HTTPS_PROXY: 'ftp://proxy.example', NO_PROXY: 'k.example' }), '<nil>');
});

test("the kubeconfig's proxy-url wins over the environment's; -v and messages get the proxy without credentials", () => {
  const dir = tempDir('env-proxy-kubeconfig');
  const file = join(dir, 'config');
  // JSON is YAML: the kubeconfig as an object.
  const write = (proxyUrl?: string) => {
    const cluster = {
      server: 'https://k8s.example.com:6443',
      'insecure-skip-tls-verify': true,
      ...(proxyUrl ? { 'proxy-url': proxyUrl } : {}),
    };
    const config = {
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    };
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', ...config }));
  };
  const env = { HTTPS_PROXY: 'http://who:secret@env-proxy:3128' };
  write();
  let loaded = loadKubeConfig({ kubeconfig: file }, env, { homeDir: dir });
  assert.deepEqual(loaded.proxy, { url: 'http://env-proxy:3128', from: 'HTTPS_PROXY' });
  assert.equal(loaded.kubeConfig.getCurrentCluster()?.proxyUrl, 'http://who:secret@env-proxy:3128');
  write('socks5://kubeconfig-proxy:1080');
  loaded = loadKubeConfig({ kubeconfig: file }, env, { homeDir: dir });
  assert.deepEqual(loaded.proxy, { url: 'socks5://kubeconfig-proxy:1080', from: 'proxy-url' });
  assert.equal(loaded.kubeConfig.getCurrentCluster()?.proxyUrl, 'socks5://kubeconfig-proxy:1080');
  write();
  loaded = loadKubeConfig({ kubeconfig: file }, { ...env, NO_PROXY: '.example.com' }, { homeDir: dir });
  assert.equal(loaded.proxy, undefined);
  assert.equal(loaded.kubeConfig.getCurrentCluster()?.proxyUrl, undefined);
});
