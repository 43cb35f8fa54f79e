// Response compression, observed on the wire by the fault proxy (test/harness/fault-proxy.ts) in front of the real API
// server: kube-apiserver gzips an answer over 128 KiB when the request asks for it (Accept-Encoding: gzip, as client-go
// asks). --disable-compression and the kubeconfig cluster's `disable-compression: true` (as kubectl's) stop asking, for
// every request of a scan, a dump and each context of a many-cluster run, and the scan finds the same. A list frees
// each page, gzipped or not, as soon as it has read it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/cluster/http.ts';
import { LiveSource, METADATA_LIST_ACCEPT } from '../../src/cluster/live.ts';
import { SubsetKeeper } from '../../src/engine/keep.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { create, createNamespace, heldConfigMap, parseReport } from './kube.ts';

const ns = uniqueName('e2e-compression');
const dir = tempDir('compression');
let proxy: FaultProxy;
/** The harness kubeconfig pointed at the proxy. */
let kubeconfig: string;
/** The same, every cluster with `disable-compression: true`. */
let disabledKubeconfig: string;
/** Two contexts on the proxy: `zipped` (the harness cluster as it is) and `plain` (a copy with disable-compression). */
let twoContextsKubeconfig: string;

interface KubeconfigJson {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context'?: string;
  [key: string]: unknown;
}

const configMapLists = () => proxy.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${ns}/configmaps`);
/** What every request of the last run asked for: 'gzip', or 'none' without Accept-Encoding. */
const askedFor = () => [...new Set(proxy.requests.map((r) => r.acceptEncoding ?? 'none'))];

function scan(config: string, extra: string[] = []): Promise<CliResult> {
  proxy.requests.length = 0;
  return runCli(['--kubeconfig', config, '-n', ns, '--rules', 'core/stuck-deletion', '--min-age', '0s', '-o', 'json', ...extra]);
}

function findings(result: CliResult): string[] {
  assert.equal(result.code, 1, result.stderr);
  return parseReport(result).findings.map((f) => `${f.object.kind}/${f.object.namespace}/${f.object.name}`);
}

before(async () => {
  await createNamespace(ns);
  // Metadata-only, each ConfigMap is ~90 KB of annotation: the list page is ~270 KB, over the server's threshold.
  for (let i = 0; i < 3; i++) {
    const filler = Array.from({ length: 12000 }, (_, j) => `${i}-${j}`).join(',');
    await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `big-${i}`, namespace: ns, annotations: { 'example.com/filler': filler } },
    });
  }
  await heldConfigMap(ns);

  proxy = await startFaultProxy();
  kubeconfig = proxy.writeKubeconfig(dir);
  const config = JSON.parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigJson;

  const disabled = structuredClone(config);
  for (const c of disabled.clusters) c.cluster['disable-compression'] = true;
  disabledKubeconfig = join(dir, 'kubeconfig-disabled');
  writeFileSync(disabledKubeconfig, JSON.stringify(disabled), { mode: 0o600 });

  const admin = config.contexts.find((c) => c.name === e2e().adminContext)!.context;
  const cluster = config.clusters.find((c) => c.name === admin.cluster)!;
  const two: KubeconfigJson = {
    ...config,
    clusters: [cluster, { name: 'plain', cluster: { ...cluster.cluster, 'disable-compression': true } }],
    contexts: [
      { name: 'zipped', context: admin },
      { name: 'plain', context: { ...admin, cluster: 'plain' } },
    ],
    'current-context': 'zipped',
  };
  twoContextsKubeconfig = join(dir, 'kubeconfig-two');
  writeFileSync(twoContextsKubeconfig, JSON.stringify(two), { mode: 0o600 });
});

after(async () => {
  await proxy?.close();
});

let gzippedBytes = 0;
let inflatedBytes = 0;

/** The -vv line of the ConfigMap list request: how its answer came, as the CLI tells the user. */
function listLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.includes(`GET /api/v1/namespaces/${ns}/configmaps?`));
  assert.equal(lines.length, 1, result.stderr);
  return lines[0]!;
}

test('by default every request asks for gzip, and the API server compresses the big list page; -vv says so, with its sizes', async () => {
  const result = await scan(kubeconfig, ['--context', e2e().adminContext, '-vv']);
  assert.ok(findings(result).includes(`ConfigMap/${ns}/held`), result.stderr);
  assert.deepEqual(askedFor(), ['gzip']);
  const list = configMapLists()[0]!;
  assert.equal(list.encoding, 'gzip');
  gzippedBytes = list.bytes!;
  const said = /, gzip: (\d+) bytes on the wire, (\d+) inflated$/.exec(listLine(result));
  assert.ok(said, listLine(result));
  assert.equal(Number(said[1]), gzippedBytes, 'the bytes the proxy saw on the wire');
  inflatedBytes = Number(said[2]);
  assert.ok(inflatedBytes > 2 * gzippedBytes, listLine(result));
});

test('--disable-compression: no request asks for gzip, the page comes uncompressed (-vv says so), the findings are the same', async () => {
  const zipped = findings(await scan(kubeconfig, ['--context', e2e().adminContext]));
  const result = await scan(kubeconfig, ['--context', e2e().adminContext, '--disable-compression', '-vv']);
  assert.deepEqual(findings(result), zipped);
  assert.deepEqual(askedFor(), ['none']);
  const list = configMapLists()[0]!;
  assert.equal(list.encoding, undefined);
  assert.ok(list.bytes! > 128 * 1024 && list.bytes! > 2 * gzippedBytes, `${list.bytes} bytes plain, ${gzippedBytes} gzipped`);
  assert.match(listLine(result), new RegExp(`, uncompressed: ${list.bytes} bytes$`));
  assert.equal(list.bytes, inflatedBytes, 'the same page, as it was inflated before');
  assert.doesNotMatch(result.stderr, /gzip:/, 'no answer came compressed');
});

test("the kubeconfig cluster's disable-compression: true does the same; --disable-compression=false does not undo it (as kubectl)", async () => {
  for (const extra of [[], ['--disable-compression=false']]) {
    const result = await scan(disabledKubeconfig, ['--context', e2e().adminContext, ...extra]);
    assert.ok(findings(result).includes(`ConfigMap/${ns}/held`), result.stderr);
    assert.deepEqual(askedFor(), ['none'], extra.join(' '));
    assert.equal(configMapLists()[0]?.encoding, undefined);
  }
});

test('many contexts: each follows its own cluster, and --disable-compression applies to all of them', async () => {
  const result = await scan(twoContextsKubeconfig, ['--contexts', 'zipped,plain']);
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(
    configMapLists()
      .map((r) => r.encoding ?? 'none')
      .sort(),
    ['gzip', 'none'],
  );
  assert.deepEqual(askedFor().sort(), ['gzip', 'none']);

  const flagged = await scan(twoContextsKubeconfig, ['--contexts', 'zipped,plain', '--disable-compression']);
  assert.equal(flagged.code, 1, flagged.stderr);
  assert.equal(configMapLists().length, 2);
  assert.deepEqual(askedFor(), ['none']);
});

test('dump: --disable-compression reaches its requests too', async () => {
  proxy.requests.length = 0;
  const target = join(dir, 'dump');
  const dumped = await runCli([
    'dump',
    target,
    '--kubeconfig',
    kubeconfig,
    '--context',
    e2e().adminContext,
    '-n',
    ns,
    '--rules',
    'core/stuck-deletion',
    '--disable-compression',
  ]);
  assert.ok(dumped.code === 0 || dumped.code === 3, dumped.stderr);
  assert.equal(configMapLists().length, 1);
  assert.deepEqual(askedFor(), ['none']);
});

const detached = (bytes: Buffer) => (bytes.buffer as ArrayBuffer).detached;

test('a list frees each page as soon as it is read, gzipped or not', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(e2e().adminContext);
  const client = new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000 });
  try {
    // One answer read, then released: its bytes are freed, and reading it again is a bug that says so.
    const one = await client.request('GET', `/api/v1/namespaces/${ns}/configmaps`, { accept: METADATA_LIST_ACCEPT });
    assert.equal(configMapLists().at(-1)?.encoding, 'gzip');
    const bytes = one.bytes;
    assert.equal((one.body as { items: unknown[] }).items.length, 4);
    one.release();
    assert.equal(detached(bytes), true);
    assert.equal(bytes.length, 0);
    for (const read of [() => one.bytes, () => one.text, () => one.body]) assert.throws(read, /read after release/);

    // Every page of a list, two ConfigMaps of ~90 KB to a page: the first, over the server's 128 KiB, comes gzipped.
    const pages: Buffer[] = [];
    const request = client.request.bind(client);
    client.request = async (...args) => {
      const res = await request(...args);
      pages.push(res.bytes);
      return res;
    };
    const source = new LiveSource(client, {
      info: { type: 'live', context: 'admin', cluster: 'test', user: 'admin', server: '' },
      chunkSize: 2,
      concurrency: 1,
    });
    const type = (await source.discover()).find('configmaps')!;
    for (const needles of [false, true]) {
      pages.length = 0;
      proxy.requests.length = 0;
      const keeper = new SubsetKeeper({ deleting: true });
      keeper.namespacesListed();
      const outcome = await source.list({
        type,
        metadataOnly: true,
        namespace: ns,
        ...(needles ? { keep: keeper.subset, keepNeedles: () => keeper.needles() } : {}),
      });
      assert.ok(outcome.ok);
      assert.deepEqual(
        outcome.items.map((o) => o.metadata.name),
        needles ? ['held'] : ['big-0', 'big-1', 'big-2', 'held'],
      );
      const encodings = configMapLists().map((r) => r.encoding ?? 'none');
      assert.deepEqual(encodings, ['gzip', 'none']);
      assert.deepEqual(
        pages.map((bytes) => (detached(bytes) ? 'freed' : 'kept')),
        ['freed', 'freed'],
      );
    }
  } finally {
    await client.close();
  }
});
