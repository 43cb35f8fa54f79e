// What the bundle the npm launcher and the single binary start from (scripts/bundle.ts, built before the tests)
// leaves out (client-node's generated API, which only KubeConfig.makeApiClient() uses; undici but for its
// dispatchers), and what it leaves for later (string-width's Intl.Segmenter and Unicode regexes, which only help and
// tables need; client-node's proxy and JSONPath packages, which only some kubeconfigs need), and what it does not do
// (yargs' version guess, which read the directories above the working directory). A live scan through the bundle is in test/e2e/release.test.ts (the single binary and krew).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from '../../scripts/bundle.ts';
import { ROOT } from '../../scripts/release.ts';
import { tempDir } from '../temp.ts';

test('the bundle holds client-node KubeConfig without its generated API; the stand-in says so if ever called', () => {
  const code = readFileSync(BUNDLE, 'utf8');
  assert.match(code, /KubeConfig\.makeApiClient is not available in the kubectl-doctor bundle/);
  // Model and API classes of client-node's gen/ (the package's own names, kept as strings in their serializers).
  for (const generated of ['V1PodSpec', 'CoreV1Api', 'V1CustomResourceDefinitionSpec']) {
    assert.equal(code.includes(generated), false, `${generated} is in the bundle`);
  }
});

test("the bundle holds undici's dispatchers without its fetch, WebSocket, EventSource or mocks", () => {
  const code = readFileSync(BUNDLE, 'utf8');
  assert.match(code, /undici fetch is not available in the kubectl-doctor bundle/);
  // Messages of undici's fetch and WebSocket, and its mock classes.
  for (const left of ['fetch failed', 'Received network error or non-101 status code', 'MockAgent', 'EventSource']) {
    assert.equal(code.includes(left), false, `${left} is in the bundle`);
  }
});

test('the bundle is ASCII, which the launcher reads as Latin-1 (bin/kubectl-doctor runBundle)', () => {
  const bytes = readFileSync(BUNDLE);
  const at = bytes.findIndex((byte) => byte > 0x7f);
  assert.equal(
    at,
    -1,
    `a byte over 0x7f at ${at}, in ${JSON.stringify(bytes.subarray(Math.max(0, at - 60), at + 20).toString('utf8'))}: write it as an escape in the source (esbuild leaves regular expressions as they are)`,
  );
});

test('every stand-in is linked: no import of the bundle was left undefined', () => {
  const code = readFileSync(BUNDLE, 'utf8');
  // esbuild bundles a named import its module does not export as undefined: hpagent's stand-in, taken for an ES module
  // by its path (index.mjs), made client-node's `new HttpsProxyAgent(...)` a `new (void 0)(...)`.
  assert.equal(/new\s*\(void 0\)/.test(code), false, 'a constructor was bundled as undefined');
  assert.match(code, /HttpsProxyAgent/);
});

test('the bundle builds no Intl.Segmenter as it starts: string-width is evaluated when help first measures a width', () => {
  const dir = tempDir('bundle-segmenter');
  // Counts the Segmenters built in the process (string-width and the table renderer build one when first used).
  const preload = join(dir, 'count-segmenters.cjs');
  writeFileSync(
    preload,
    [
      'let made = 0;',
      'const Segmenter = Intl.Segmenter;',
      'Intl.Segmenter = class extends Segmenter { constructor(...args) { super(...args); made++; } };',
      "process.on('exit', () => process.stderr.write(`segmenters built: ${made}\\n`));",
    ].join('\n'),
  );
  const run = (...args: string[]) => spawnSync(process.execPath, ['-r', preload, BUNDLE, ...args], { encoding: 'utf8' });
  const built = (stderr: string) => Number(/segmenters built: (\d+)/.exec(stderr)?.[1]);

  const scan = run('--snapshot', join(ROOT, 'examples', 'cluster-dump'), '-o', 'json');
  assert.equal(scan.status, 1, scan.stderr);
  assert.ok((JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length > 0);
  assert.equal(built(scan.stderr), 0);

  // The stand-ins call the string-width each importer resolved to: help is laid out in columns as before.
  const help = run('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^ {2}-o, --output +\S/m);
  assert.ok(built(help.stderr) > 0, 'help measured no width');
});

test("the bundle evaluates client-node's proxy and JSONPath packages only when a kubeconfig uses them: a SOCKS5 proxy-url still goes through the proxy", async () => {
  const dir = tempDir('bundle-lazy');
  // The Node modules evaluated in the process: socks-proxy-agent brings dns, jsonpath-plus vm, agent-base's debug tty.
  const preload = join(dir, 'modules.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => process.stderr.write(`modules: ${process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ')}\\n`));\n",
  );
  // A SOCKS5 proxy on 127.0.0.1 (RFC 1928, no authentication) that records where it is asked to connect, then refuses.
  const asked: string[] = [];
  const proxy = createServer((socket) => {
    socket.once('data', () => {
      socket.write(Buffer.from([5, 0]));
      socket.once('data', (request) => {
        // VER CMD RSV ATYP(1: IPv4) ADDR PORT
        if (request[3] === 1) asked.push(`${[...request.subarray(4, 8)].join('.')}:${request.readUInt16BE(8)}`);
        socket.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
      });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const kubeconfig = (proxyUrl: string | undefined) => {
    const file = join(dir, `kubeconfig-${proxyUrl ? 'proxy' : 'direct'}`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c',
        '  cluster:',
        '    server: https://127.0.0.1:1',
        '    insecure-skip-tls-verify: true',
        ...(proxyUrl ? [`    proxy-url: ${proxyUrl}`] : []),
        'users:',
        '- name: u',
        '  user: {token: t}',
        'contexts:',
        '- name: c',
        '  context: {cluster: c, user: u}',
        'current-context: c',
      ].join('\n'),
    );
    return file;
  };
  const scan = (file: string) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['-r', preload, BUNDLE, '--kubeconfig', file, '--request-timeout', '5s'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stderr }));
    });
  const modules = (stderr: string) => new Set(/modules: (.*)/.exec(stderr)?.[1]?.split(' '));
  // client-node connects through a socks5 proxy-url with socks' SocksClient (its undici connector): the stand-in's getter.
  try {
    const direct = await scan(kubeconfig(undefined));
    assert.equal(direct.status, 2, direct.stderr);
    assert.match(direct.stderr, /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1: /m);
    for (const left of ['vm', 'dns', 'tty']) assert.equal(modules(direct.stderr).has(left), false, `${left} was loaded`);

    const proxied = await scan(kubeconfig(`socks5://127.0.0.1:${(proxy.address() as AddressInfo).port}`));
    assert.equal(proxied.status, 2, proxied.stderr);
    assert.deepEqual(asked, ['127.0.0.1:1'], proxied.stderr);
    assert.match(
      proxied.stderr,
      /^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1 through the proxy socks5:\/\/127\.0\.0\.1:\d+ \(the cluster's proxy-url\): .*; check --server\/--context/m,
    );
  } finally {
    proxy.close();
  }
});

test('the bundle reads no package.json and no directory of the working directory: yargs guesses no version from it', () => {
  const dir = tempDir('bundle-cwd');
  const cwd = join(dir, 'work', 'project');
  mkdirSync(cwd, { recursive: true });
  // What yargs' version guess found first, walking up from the cwd; its version must not reach anything we print.
  writeFileSync(join(dir, 'work', 'package.json'), '{"name": "someone-elses", "version": "9.9.9"}\n');
  // The directories listed and the files read by the process, by the fs functions yargs (and escalade) call.
  const preload = join(dir, 'fs-reads.cjs');
  writeFileSync(
    preload,
    [
      "const fs = require('node:fs');",
      'const seen = [];',
      "for (const name of ['readdirSync', 'readFileSync', 'statSync']) {",
      '  const real = fs[name];',
      '  fs[name] = function (path, ...rest) { seen.push(`${name} ${path}`); return real.call(this, path, ...rest); };',
      '}',
      "process.on('exit', () => process.stderr.write(`fs: ${JSON.stringify(seen)}\\n`));",
    ].join('\n'),
  );
  const run = (...args: string[]) => spawnSync(process.execPath, ['-r', preload, BUNDLE, ...args], { cwd, encoding: 'utf8' });
  const fsCalls = (stderr: string) => JSON.parse(/^fs: (.*)$/m.exec(stderr)![1]!) as string[];

  const version = run('version');
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^kubectl-doctor v\d+\.\d+\.\d+/);
  const scan = run('--snapshot', join(ROOT, 'examples', 'cluster-dump'), '-o', 'json');
  assert.equal(scan.status, 1, scan.stderr);
  for (const stderr of [version.stderr, scan.stderr]) {
    const calls = fsCalls(stderr);
    assert.ok(calls.length > 0, 'the preload saw no fs call');
    const strays = calls.filter((c) => c.includes(join(dir, 'work')));
    assert.deepEqual(strays, []);
  }
  // --version stays an unknown flag: `version` is the command.
  const flag = run('--version');
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /^error: unknown flag --version$/m);
});
