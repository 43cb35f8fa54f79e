import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type https from 'node:https';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { execConfigOf } from '../../src/cluster/exec-credential.ts';
import type { ConnectionFlags, LoadedKubeConfig } from '../../src/cluster/kubeconfig.ts';
import { DoctorError, ExitCode } from '../../src/errors.ts';

// Every test uses its own temp dir and passes env + homeDir explicitly, so the developer's ~/.kube,
// KUBECONFIG and any real service account are never consulted.
const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-kubeconfig-'));
  roots.push(dir);
  return dir;
}

function write(file: string, content: string, mode?: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, mode === undefined ? undefined : { mode });
  return file;
}

interface Doc {
  current?: string;
  clusters?: Record<string, Record<string, unknown>>;
  users?: Record<string, Record<string, unknown>>;
  contexts?: Record<string, Record<string, unknown>>;
}

/** Writes a kubeconfig in the usual v1 list form. */
function kubeconfig(file: string, doc: Doc): string {
  const list = (m: Record<string, Record<string, unknown>> | undefined, key: string) =>
    Object.entries(m ?? {}).map(([name, body]) => ({ name, [key]: body }));
  return write(
    file,
    dump({
      apiVersion: 'v1',
      kind: 'Config',
      ...(doc.current !== undefined ? { 'current-context': doc.current } : {}),
      clusters: list(doc.clusters, 'cluster'),
      users: list(doc.users, 'user'),
      contexts: list(doc.contexts, 'context'),
    }),
  );
}

/** A home dir with no .kube/config and an empty env: loading only sees what the test passes. */
function load(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = {},
  homeDir = tmp(),
  inClusterDir = path.join(tmp(), 'sa'),
): LoadedKubeConfig {
  return loadKubeConfig(flags, env, { homeDir, inClusterDir });
}

function expectDoctorError(fn: () => unknown, ...patterns: RegExp[]): DoctorError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DoctorError, `expected a DoctorError, got ${String(caught)}`);
  assert.equal(caught.exitCode, ExitCode.CouldNotRun);
  assert.doesNotMatch(caught.message, /\n/, 'message must be one line');
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

async function httpsOptions(loaded: LoadedKubeConfig): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await loaded.kubeConfig.applyToHTTPSOptions(opts);
  return opts;
}

function header(opts: https.RequestOptions, name: string): unknown {
  const headers = (opts.headers ?? {}) as Record<string, unknown>;
  return headers[name];
}

const re = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** A simple, complete single-context kubeconfig. */
function simple(file: string, name = 'dev', server = 'https://dev.example:6443', namespace?: string): string {
  return kubeconfig(file, {
    current: name,
    clusters: { [`${name}-cluster`]: { server } },
    users: { [`${name}-user`]: { token: `${name}-token` } },
    contexts: { [name]: { cluster: `${name}-cluster`, user: `${name}-user`, ...(namespace ? { namespace } : {}) } },
  });
}

describe('file precedence', () => {
  test('--kubeconfig is the only file read; KUBECONFIG and ~/.kube/config are ignored', () => {
    const dir = tmp();
    const flagFile = simple(path.join(dir, 'flag.yaml'), 'flagctx', 'https://flag.example');
    const envFile = simple(path.join(dir, 'env.yaml'), 'envctx', 'https://env.example');
    const home = tmp();
    simple(path.join(home, '.kube', 'config'), 'homectx', 'https://home.example');
    const loaded = load({ kubeconfig: flagFile }, { KUBECONFIG: envFile }, home);
    assert.equal(loaded.contextName, 'flagctx');
    assert.equal(loaded.server, 'https://flag.example');
    assert.deepEqual(loaded.files, [flagFile]);
    assert.equal(loaded.kubeConfig.getContextObject('envctx'), null);
  });

  test('--kubeconfig that does not exist is an error naming the path', () => {
    const dir = tmp();
    const missing = path.join(dir, 'nonexistent');
    simple(path.join(dir, 'env.yaml'));
    expectDoctorError(
      () => load({ kubeconfig: missing }, { KUBECONFIG: path.join(dir, 'env.yaml') }),
      re(`kubeconfig ${missing}: no such file`),
      /--kubeconfig/,
    );
  });

  test('KUBECONFIG merges files; the first file wins current-context and duplicate names', () => {
    const dir = tmp();
    const a = kubeconfig(path.join(dir, 'a.yaml'), {
      current: 'a-ctx',
      clusters: { 'a-cluster': { server: 'https://a.example' }, shared: { server: 'https://shared-from-a.example' } },
      users: { 'a-user': { token: 'a-token' } },
      contexts: {
        'a-ctx': { cluster: 'a-cluster', user: 'a-user' },
        dup: { cluster: 'shared', user: 'a-user', namespace: 'ns-from-a' },
      },
    });
    const b = kubeconfig(path.join(dir, 'b.yaml'), {
      current: 'b-ctx',
      clusters: { 'b-cluster': { server: 'https://b.example' }, shared: { server: 'https://shared-from-b.example' } },
      users: { 'b-user': { token: 'b-token' }, 'a-user': { token: 'a-user-from-b' } },
      contexts: {
        'b-ctx': { cluster: 'b-cluster', user: 'b-user', namespace: 'ns-b' },
        dup: { cluster: 'b-cluster', user: 'b-user', namespace: 'ns-from-b' },
      },
    });
    const env = { KUBECONFIG: [a, b].join(path.delimiter) };

    const current = load({}, env);
    assert.equal(current.contextName, 'a-ctx', 'current-context of the first file wins');
    assert.equal(current.server, 'https://a.example');
    assert.deepEqual(current.files, [a, b]);

    // The duplicate context "dup" comes from a.yaml; b.yaml's version (b-cluster, ns-from-b) must not be used.
    const dup = load({ context: 'dup' }, env);
    assert.equal(dup.clusterName, 'shared');
    assert.equal(dup.server, 'https://shared-from-a.example', 'duplicate cluster: first file wins');
    assert.equal(dup.namespace, 'ns-from-a');
    assert.equal(dup.userName, 'a-user');
    assert.equal(dup.kubeConfig.getCurrentUser()?.token, 'a-token', 'duplicate user: first file wins');

    // Entries only in the second file are still available.
    const fromB = load({ context: 'b-ctx' }, env);
    assert.equal(fromB.server, 'https://b.example');
    assert.equal(fromB.namespace, 'ns-b');
    assert.equal(fromB.kubeConfig.getCurrentUser()?.token, 'b-token');
  });

  test('KUBECONFIG: a later file supplies current-context when earlier ones do not set it', () => {
    const dir = tmp();
    const a = kubeconfig(path.join(dir, 'a.yaml'), { clusters: { c: { server: 'https://a.example' } } });
    const b = simple(path.join(dir, 'b.yaml'), 'b-ctx', 'https://b.example');
    const loaded = load({}, { KUBECONFIG: [a, b].join(path.delimiter) });
    assert.equal(loaded.contextName, 'b-ctx');
  });

  test('KUBECONFIG: files that do not exist are skipped silently', () => {
    const dir = tmp();
    const real = simple(path.join(dir, 'real.yaml'), 'real', 'https://real.example');
    const missing = path.join(dir, 'missing.yaml');
    const loaded = load({}, { KUBECONFIG: ['', missing, real, real].join(path.delimiter) });
    assert.equal(loaded.contextName, 'real');
    assert.deepEqual(loaded.files, [real]);
  });

  test('KUBECONFIG with only missing files is "no kubeconfig found" and lists them', () => {
    const missing = path.join(tmp(), 'missing.yaml');
    expectDoctorError(() => load({}, { KUBECONFIG: missing }), /^no kubeconfig found/, re(missing));
  });

  test('~/.kube/config is used when neither --kubeconfig nor KUBECONFIG is set', () => {
    const home = tmp();
    const file = simple(path.join(home, '.kube', 'config'), 'home', 'https://home.example');
    for (const env of [{}, { KUBECONFIG: '' }]) {
      const loaded = load({}, env, home);
      assert.equal(loaded.contextName, 'home');
      assert.equal(loaded.server, 'https://home.example');
      assert.deepEqual(loaded.files, [file]);
    }
  });

  test('KUBECONFIG set to existing files means ~/.kube/config is not read', () => {
    const home = tmp();
    simple(path.join(home, '.kube', 'config'), 'home');
    const env = simple(path.join(tmp(), 'env.yaml'), 'env');
    assert.equal(load({}, { KUBECONFIG: env }, home).contextName, 'env');
  });

  test('nothing found: one-line DoctorError telling how to fix it', () => {
    expectDoctorError(() => load({}, {}), /^no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~\/\.kube\/config$/);
  });
});

describe('in-cluster fallback', () => {
  function serviceAccount(namespace = 'kube-system\n'): string {
    const sa = path.join(tmp(), 'serviceaccount');
    write(path.join(sa, 'token'), 'sa-token-xyz');
    write(path.join(sa, 'ca.crt'), 'not-really-a-pem');
    write(path.join(sa, 'namespace'), namespace);
    return sa;
  }
  const inClusterEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  test('uses the service account when no kubeconfig exists', async () => {
    const sa = serviceAccount();
    const loaded = load({}, inClusterEnv, tmp(), sa);
    assert.equal(loaded.contextName, 'in-cluster');
    assert.equal(loaded.server, 'https://10.96.0.1:443');
    assert.equal(loaded.namespace, 'kube-system');
    assert.equal(loaded.namespaceExplicit, false);
    assert.deepEqual(loaded.files, []);
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.caFile, path.join(sa, 'ca.crt'));
    const opts = await httpsOptions(loaded);
    assert.equal(header(opts, 'Authorization'), 'Bearer sa-token-xyz');
  });

  test('-n wins over the service account namespace; POD_NAMESPACE wins over the file', () => {
    const sa = serviceAccount();
    assert.equal(load({ namespace: 'mine' }, inClusterEnv, tmp(), sa).namespace, 'mine');
    assert.equal(load({}, { ...inClusterEnv, POD_NAMESPACE: 'from-env' }, tmp(), sa).namespace, 'from-env');
    assert.equal(load({}, inClusterEnv, tmp(), serviceAccount('')).namespace, 'default');
  });

  test('IPv6 service host is bracketed', () => {
    const loaded = load({}, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, tmp(), serviceAccount());
    assert.equal(loaded.server, 'https://[fd00::1]:443');
  });

  test('not used without the token file or without the service env vars', () => {
    const empty = path.join(tmp(), 'sa');
    expectDoctorError(() => load({}, inClusterEnv, tmp(), empty), /^no kubeconfig found/);
    expectDoctorError(() => load({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, tmp(), serviceAccount()), /^no kubeconfig found/);
  });

  test('a kubeconfig with a current context takes precedence over in-cluster', () => {
    const home = tmp();
    simple(path.join(home, '.kube', 'config'), 'home', 'https://home.example');
    assert.equal(load({}, inClusterEnv, home, serviceAccount()).contextName, 'home');
  });

  test('--token and --server override the in-cluster defaults', async () => {
    const loaded = load({ token: 'flag-token', server: 'https://override.example:6443' }, inClusterEnv, tmp(), serviceAccount());
    assert.equal(loaded.server, 'https://override.example:6443');
    assert.equal(header(await httpsOptions(loaded), 'Authorization'), 'Bearer flag-token');
  });

  test('--disable-compression is honoured in-cluster too (clientcmd would drop it there, silently)', () => {
    assert.equal(load({ disableCompression: true }, inClusterEnv, tmp(), serviceAccount()).disableCompression, true);
    assert.equal(load({}, inClusterEnv, tmp(), serviceAccount()).disableCompression, false);
  });
});

describe('context, cluster and user selection', () => {
  function multi(): string {
    return kubeconfig(path.join(tmp(), 'config'), {
      current: 'one',
      clusters: { c1: { server: 'https://c1.example' }, c2: { server: 'https://c2.example/' } },
      users: { u1: { token: 't1' }, u2: { token: 't2' } },
      contexts: { one: { cluster: 'c1', user: 'u1', namespace: 'ns-one' }, two: { cluster: 'c2', user: 'u2' } },
    });
  }

  test('--context picks the context', () => {
    const loaded = load({ kubeconfig: multi(), context: 'two' });
    assert.equal(loaded.contextName, 'two');
    assert.equal(loaded.clusterName, 'c2');
    assert.equal(loaded.userName, 'u2');
    assert.equal(loaded.server, 'https://c2.example', 'trailing slash dropped');
    assert.equal(loaded.kubeConfig.getCurrentContext(), 'two');
    assert.equal(loaded.kubeConfig.getCurrentUser()?.token, 't2');
  });

  test('unknown --context: exit code 2, one line, names the context and the files', () => {
    const file = multi();
    expectDoctorError(
      () => load({ kubeconfig: file, context: 'nope' }),
      re(`context "nope" not found in kubeconfig (${file}); list them with kubectl config get-contexts`),
    );
  });

  test('current-context naming a missing context is an error', () => {
    const file = kubeconfig(path.join(tmp(), 'config'), { current: 'ghost', clusters: { c: { server: 'https://c' } } });
    expectDoctorError(() => load({ kubeconfig: file }), /current-context "ghost" not found/, /--context/);
  });

  test('no current context and no --context is an error unless something selects a cluster', () => {
    const file = kubeconfig(path.join(tmp(), 'config'), { clusters: { c: { server: 'https://c.example' } } });
    expectDoctorError(() => load({ kubeconfig: file }), /no current context/, re(file), /--context/);
    assert.equal(load({ kubeconfig: file, cluster: 'c' }).server, 'https://c.example');
  });

  test('-n overrides the context namespace; the context namespace is the default; else "default"', () => {
    const file = multi();
    const flagged = load({ kubeconfig: file, namespace: 'flag-ns' });
    assert.equal(flagged.namespace, 'flag-ns');
    assert.equal(flagged.namespaceExplicit, true);
    assert.equal(flagged.kubeConfig.getContextObject('one')?.namespace, 'flag-ns');

    const fromContext = load({ kubeconfig: file });
    assert.equal(fromContext.namespace, 'ns-one');
    assert.equal(fromContext.namespaceExplicit, false);

    const none = load({ kubeconfig: file, context: 'two' });
    assert.equal(none.namespace, 'default');
    assert.equal(none.namespaceExplicit, false);
  });

  test('--cluster and --user override the context', async () => {
    const loaded = load({ kubeconfig: multi(), cluster: 'c2', user: 'u2' });
    assert.equal(loaded.contextName, 'one');
    assert.equal(loaded.clusterName, 'c2');
    assert.equal(loaded.userName, 'u2');
    assert.equal(loaded.server, 'https://c2.example');
    assert.equal(loaded.namespace, 'ns-one');
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.name, 'c2');
    assert.equal(header(await httpsOptions(loaded), 'Authorization'), 'Bearer t2');
  });

  test('unknown --cluster / --user are errors', () => {
    const file = multi();
    expectDoctorError(() => load({ kubeconfig: file, cluster: 'nope' }), /cluster "nope" not found/, /get-clusters/);
    expectDoctorError(() => load({ kubeconfig: file, user: 'nope' }), /user "nope" not found/, /get-users/);
  });

  test('a context naming an undefined cluster is an error; an undefined user means anonymous', async () => {
    const file = kubeconfig(path.join(tmp(), 'config'), {
      current: 'a',
      clusters: { real: { server: 'https://real.example' } },
      contexts: { a: { cluster: 'ghost', user: 'nobody' }, b: { cluster: 'real', user: 'nobody' } },
    });
    expectDoctorError(() => load({ kubeconfig: file }), /refers to cluster "ghost"/);
    const anon = load({ kubeconfig: file, context: 'b' });
    assert.equal(anon.userName, 'nobody');
    assert.equal(header(await httpsOptions(anon), 'Authorization'), undefined);
  });
});

describe('command-line overrides', () => {
  test('--server and --token override the cluster and replace the user credentials', async () => {
    const dir = tmp();
    write(path.join(dir, 'client.crt'), 'CERT');
    write(path.join(dir, 'client.key'), 'KEY');
    const file = kubeconfig(path.join(dir, 'config'), {
      current: 'ctx',
      clusters: { c: { server: 'https://file.example', 'tls-server-name': 'file-name' } },
      users: { u: { token: 'file-token', 'client-certificate': 'client.crt', 'client-key': 'client.key' } },
      contexts: { ctx: { cluster: 'c', user: 'u' } },
    });
    const before = await httpsOptions(load({ kubeconfig: file }));
    assert.equal(header(before, 'Authorization'), 'Bearer file-token');
    assert.equal(String(before.cert), 'CERT');

    const loaded = load({ kubeconfig: file, server: 'https://flag.example:8443', token: 'flag-token' });
    assert.equal(loaded.server, 'https://flag.example:8443');
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, 'https://flag.example:8443');
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.tlsServerName, undefined, '--server clears tls-server-name');
    const opts = await httpsOptions(loaded);
    assert.equal(header(opts, 'Authorization'), 'Bearer flag-token');
    assert.equal(opts.cert, undefined, '--token replaces the client certificate');
  });

  test('--server works with no kubeconfig at all', async () => {
    const loaded = load({ server: 'https://bare.example:6443', token: 'tok' });
    assert.equal(loaded.contextName, '');
    assert.equal(loaded.server, 'https://bare.example:6443');
    assert.deepEqual(loaded.files, []);
    assert.equal(loaded.namespace, 'default');
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, 'https://bare.example:6443');
    assert.equal(header(await httpsOptions(loaded), 'Authorization'), 'Bearer tok');
  });

  test('a plain-http server (kubectl proxy) is accepted', async () => {
    const loaded = load({ server: 'http://127.0.0.1:8001' });
    assert.equal(loaded.server, 'http://127.0.0.1:8001');
    await assert.doesNotReject(httpsOptions(loaded));
  });

  test('an invalid --server is an error', () => {
    expectDoctorError(() => load({ server: 'ftp://x' }), /invalid server URL "ftp:\/\/x" from --server/);
  });

  test('--insecure-skip-tls-verify clears the CA; --certificate-authority clears insecure; both together is an error', async () => {
    const dir = tmp();
    const ca = write(path.join(dir, 'ca.crt'), 'FILE-CA');
    const flagCa = write(path.join(dir, 'flag-ca.crt'), 'FLAG-CA');
    const file = kubeconfig(path.join(dir, 'config'), {
      current: 'ctx',
      clusters: {
        c: { server: 'https://c.example', 'certificate-authority': 'ca.crt' },
        i: { server: 'https://i.example', 'insecure-skip-tls-verify': true },
      },
      users: { u: { token: 't' } },
      contexts: { ctx: { cluster: 'c', user: 'u' }, insecure: { cluster: 'i', user: 'u' } },
    });
    assert.equal(String((await httpsOptions(load({ kubeconfig: file }))).ca), 'FILE-CA');
    assert.equal(load({ kubeconfig: file }).kubeConfig.getCurrentCluster()?.caFile, ca);

    const insecure = load({ kubeconfig: file, insecureSkipTlsVerify: true });
    assert.equal(insecure.kubeConfig.getCurrentCluster()?.caFile, undefined);
    assert.equal(insecure.kubeConfig.getCurrentCluster()?.skipTLSVerify, true);
    const opts = await httpsOptions(insecure);
    assert.equal(opts.rejectUnauthorized, false);
    assert.equal(opts.ca, undefined);

    // insecure-skip-tls-verify from the file is honoured; --certificate-authority turns it off.
    assert.equal((await httpsOptions(load({ kubeconfig: file, context: 'insecure' }))).rejectUnauthorized, false);
    const withCa = load({ kubeconfig: file, context: 'insecure', certificateAuthority: flagCa });
    assert.equal(withCa.kubeConfig.getCurrentCluster()?.skipTLSVerify, false);
    assert.equal(String((await httpsOptions(withCa)).ca), 'FLAG-CA');

    expectDoctorError(
      () => load({ kubeconfig: file, certificateAuthority: flagCa, insecureSkipTlsVerify: true }),
      /--certificate-authority and --insecure-skip-tls-verify cannot be used together/,
    );
  });

  test('--as / --as-group are recorded; client-node sends Impersonate-User itself', async () => {
    const file = simple(path.join(tmp(), 'config'));
    const loaded = load({ kubeconfig: file, as: 'jane', asGroups: ['devs', 'ops'] });
    assert.deepEqual(loaded.impersonate, { user: 'jane', groups: ['devs', 'ops'] });
    assert.equal(header(await httpsOptions(loaded), 'Impersonate-User'), 'jane');
    assert.equal(load({ kubeconfig: file }).impersonate, undefined);
    expectDoctorError(() => load({ kubeconfig: file, asGroups: ['devs'] }), /--as-group requires --as/);
  });

  test("--disable-compression, or the effective cluster's disable-compression: true; false cannot undo the kubeconfig's", () => {
    const file = kubeconfig(path.join(tmp(), 'config'), {
      current: 'plain',
      clusters: {
        zipped: { server: 'https://zipped.example' },
        plain: { server: 'https://plain.example', 'disable-compression': true },
        quoted: { server: 'https://quoted.example', 'disable-compression': 'true' },
      },
      users: { u: { token: 't' } },
      contexts: {
        plain: { cluster: 'plain', user: 'u' },
        zipped: { cluster: 'zipped', user: 'u' },
        quoted: { cluster: 'quoted', user: 'u' },
      },
    });
    assert.equal(load({ kubeconfig: file }).disableCompression, true);
    assert.equal(load({ kubeconfig: file, context: 'zipped' }).disableCompression, false);
    assert.equal(load({ kubeconfig: file, context: 'zipped', disableCompression: true }).disableCompression, true);
    // --cluster chooses the cluster whose field counts, not the context's.
    assert.equal(load({ kubeconfig: file, context: 'zipped', cluster: 'plain' }).disableCompression, true);
    // clientcmd merges only non-zero overrides (tools/clientcmd/merge.go), so kubectl keeps the kubeconfig's true.
    assert.equal(load({ kubeconfig: file, disableCompression: false }).disableCompression, true);
    // Only a YAML true counts (clientcmd refuses to load anything else there; compressing is the harmless reading).
    assert.equal(load({ kubeconfig: file, context: 'quoted' }).disableCompression, false);
    // --server with no kubeconfig: nothing but the flag.
    assert.equal(load({ server: 'https://10.0.0.1:6443', disableCompression: true }).disableCompression, true);
  });
});

describe('file contents', () => {
  test('relative paths resolve against the directory of the file that defined the entry', async () => {
    const root = tmp();
    const aDir = path.join(root, 'a');
    const bDir = path.join(root, 'b', 'nested');
    write(path.join(aDir, 'certs', 'ca.crt'), 'CA-A');
    write(path.join(bDir, 'client.crt'), 'CERT-B');
    write(path.join(root, 'b', 'client.key'), 'KEY-B');
    write(path.join(bDir, 'token.txt'), 'file-token\n');
    const a = kubeconfig(path.join(aDir, 'config'), {
      current: 'ctx',
      clusters: { c: { server: 'https://c.example', 'certificate-authority': 'certs/ca.crt' } },
      contexts: { ctx: { cluster: 'c', user: 'u' } },
    });
    const b = kubeconfig(path.join(bDir, 'config'), {
      users: {
        u: { 'client-certificate': 'client.crt', 'client-key': '../client.key', tokenFile: 'token.txt' },
        other: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'bin/plugin' } },
        onPath: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } },
        absolute: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/usr/bin/plugin' } },
      },
    });
    const loaded = load({}, { KUBECONFIG: [a, b].join(path.delimiter) });
    const kc = loaded.kubeConfig;
    assert.equal(kc.getCurrentCluster()?.caFile, path.join(aDir, 'certs', 'ca.crt'));
    assert.equal(kc.getCurrentUser()?.certFile, path.join(bDir, 'client.crt'));
    assert.equal(kc.getCurrentUser()?.keyFile, path.join(root, 'b', 'client.key'));
    assert.equal(execConfigOf(kc.getUser('other'))?.command, path.join(bDir, 'bin', 'plugin'));
    assert.equal(execConfigOf(kc.getUser('onPath'))?.command, 'aws', 'a bare command is looked up on PATH');
    assert.equal(execConfigOf(kc.getUser('absolute'))?.command, '/usr/bin/plugin');
    const opts = await httpsOptions(loaded);
    assert.equal(String(opts.ca), 'CA-A');
    assert.equal(String(opts.cert), 'CERT-B');
    assert.equal(header(opts, 'Authorization'), 'Bearer file-token', 'tokenFile resolved, read and trimmed');
  });

  test('a certificate file that cannot be read is an error naming it', () => {
    const dir = tmp();
    const file = kubeconfig(path.join(dir, 'config'), {
      current: 'ctx',
      clusters: { c: { server: 'https://c.example', 'certificate-authority': 'missing-ca.crt' } },
      contexts: { ctx: { cluster: 'c' } },
    });
    expectDoctorError(() => load({ kubeconfig: file }), re(`certificate-authority ${path.join(dir, 'missing-ca.crt')}`), /no such file/);
  });

  test('a YAML syntax error names the file and the line', () => {
    const dir = tmp();
    const good = simple(path.join(dir, 'good.yaml'));
    const bad = write(path.join(dir, 'bad.yaml'), 'apiVersion: v1\nclusters:\n- name: x\n  cluster: {server: [\n');
    expectDoctorError(
      () => load({}, { KUBECONFIG: [good, bad].join(path.delimiter) }),
      re(`kubeconfig ${bad}: invalid YAML at line `),
      /KUBECONFIG/,
    );
    expectDoctorError(() => load({ kubeconfig: bad }), re(`kubeconfig ${bad}: invalid YAML at line `), /--kubeconfig/);
  });

  test('a document that is not a mapping is an error naming the file', () => {
    const bad = write(path.join(tmp(), 'config'), '- just\n- a list\n');
    expectDoctorError(() => load({ kubeconfig: bad }), re(`kubeconfig ${bad}: not a kubeconfig`));
  });

  test('empty files and missing sections are fine', () => {
    const dir = tmp();
    const empty = write(path.join(dir, 'empty.yaml'), '');
    const comments = write(path.join(dir, 'comments.yaml'), '# nothing here\n');
    const partial = write(path.join(dir, 'partial.yaml'), 'apiVersion: v1\nkind: Config\nclusters:\nusers: []\n');
    const real = simple(path.join(dir, 'real.yaml'), 'real');
    const loaded = load({}, { KUBECONFIG: [empty, comments, partial, real].join(path.delimiter) });
    assert.equal(loaded.contextName, 'real');
    assert.deepEqual(loaded.files, [empty, comments, partial, real]);
  });

  test('duplicate names inside one file are an error (as in clientcmd)', () => {
    const file = write(
      path.join(tmp(), 'config'),
      dump({
        clusters: [
          { name: 'x', cluster: { server: 'https://a' } },
          { name: 'x', cluster: { server: 'https://b' } },
        ],
      }),
    );
    expectDoctorError(() => load({ kubeconfig: file }), /duplicate cluster name "x"/);
  });

  test('an exec credential plugin supplies the bearer token, with its env block intact', async () => {
    const dir = tmp();
    write(
      path.join(dir, 'bin', 'cred.sh'),
      '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-%s-%s"}}\' "$TOKEN_SUFFIX" "$1"\n',
      0o755,
    );
    const file = kubeconfig(path.join(dir, 'config'), {
      current: 'ctx',
      clusters: { c: { server: 'https://c.example' } },
      users: {
        u: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: './bin/cred.sh',
            args: ['arg1'],
            env: [{ name: 'TOKEN_SUFFIX', value: 'abc' }],
            interactiveMode: 'Never',
          },
        },
      },
      contexts: { ctx: { cluster: 'c', user: 'u' } },
    });
    const loaded = load({ kubeconfig: file });
    assert.equal(execConfigOf(loaded.kubeConfig.getCurrentUser())?.interactiveMode, 'Never');
    assert.equal(header(await httpsOptions(loaded), 'Authorization'), 'Bearer exec-token-abc-arg1');

    const ctx = new RequestContext('https://c.example/api', HttpMethod.GET);
    await load({ kubeconfig: file }).kubeConfig.applySecurityAuthentication(ctx);
    assert.equal(ctx.getHeaders()['Authorization'], 'Bearer exec-token-abc-arg1');
  });
});

describe('kubectl TLS flags', () => {
  test("--client-certificate / --client-key replace the user's files and inline data; --tls-server-name sets the SNI and verified name", async () => {
    const dir = tmp();
    const cert = write(path.join(dir, 'flag.crt'), 'FLAG-CERT');
    const key = write(path.join(dir, 'flag.key'), 'FLAG-KEY');
    const file = kubeconfig(path.join(dir, 'config'), {
      current: 'dev',
      clusters: { c: { server: 'https://dev.example:6443', 'tls-server-name': 'from-file.example' } },
      users: {
        u: {
          'client-certificate-data': Buffer.from('FILE-CERT').toString('base64'),
          'client-key-data': Buffer.from('FILE-KEY').toString('base64'),
        },
      },
      contexts: { dev: { cluster: 'c', user: 'u' } },
    });
    const fromFile = await httpsOptions(load({ kubeconfig: file }));
    assert.deepEqual([String(fromFile.cert), String(fromFile.key), fromFile.servername], ['FILE-CERT', 'FILE-KEY', 'from-file.example']);

    const flagged = load({ kubeconfig: file, clientCertificate: cert, clientKey: key, tlsServerName: 'api.internal' });
    const opts = await httpsOptions(flagged);
    assert.deepEqual([String(opts.cert), String(opts.key), opts.servername], ['FLAG-CERT', 'FLAG-KEY', 'api.internal']);

    expectDoctorError(
      () => load({ kubeconfig: file, clientCertificate: path.join(dir, 'missing.crt') }),
      /client-certificate .*missing\.crt.*pass an existing file to --client-certificate/,
    );
  });
});
