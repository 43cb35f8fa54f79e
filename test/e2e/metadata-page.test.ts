// Metadata-only pages as a real kube-apiserver writes them (src/cluster/metadata-page.ts): read without parsing the
// objects no `*` read keeps, a list keeps and counts exactly what parsing every object would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient } from '../../src/cluster/http.ts';
import { LiveSource, METADATA_LIST_ACCEPT } from '../../src/cluster/live.ts';
import { readMetadataPage } from '../../src/cluster/metadata-page.ts';
import type { ListRequest } from '../../src/cluster/source.ts';
import { jsonKeyNeedles, SubsetKeeper } from '../../src/engine/keep.ts';
import { adminKubeConfig, uniqueName } from '../harness/env.ts';
import { create, createNamespace, raw } from './kube.ts';

const BLOCK_MOVE = 'clusterctl.cluster.x-k8s.io/block-move';

test('a metadata-only list keeps and counts the same with its pages read for needles as parsed whole', async () => {
  const ns = uniqueName('e2e-meta-page');
  await createNamespace(ns);
  const cm = (name: string, metadata: Record<string, unknown> = {}) =>
    create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...metadata } });
  for (let i = 0; i < 9; i++) await cm(`plain-${i}`);
  const owner = await cm('owner');
  await cm('held', { finalizers: ['example.com/hold'] });
  await raw('DELETE', `/api/v1/namespaces/${ns}/configmaps/held`);
  await cm('moved', { annotations: { [BLOCK_MOVE]: 'true' } });
  await cm('blocks', {
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, blockOwnerDeletion: true }],
  });
  await cm('helm', { labels: { owner: 'helm' } });
  await cm('plain-last');
  const interesting = ['blocks', 'held', 'helm', 'moved'];

  const kc = adminKubeConfig();
  const client = new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000 });
  try {
    // The pages themselves: each read as the API server wrote it, with the objects holding a needle parsed.
    const subset = { deleting: true, blockingDependents: true, annotated: [BLOCK_MOVE] };
    const needles = [...new SubsetKeeper(subset).needles()!, ...jsonKeyNeedles('owner')];
    const candidates: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const res = await client.request('GET', `/api/v1/namespaces/${ns}/configmaps`, {
        accept: METADATA_LIST_ACCEPT,
        query: { limit: '4', continue: token },
      });
      assert.equal(res.status, 200, res.text);
      const parsed = JSON.parse(res.text) as { items: unknown[]; metadata: { continue?: string } };
      const read = readMetadataPage(res.bytes, needles);
      assert.ok(read, `page ${pages + 1} is in the form the reader expects: ${res.text.slice(0, 200)}`);
      assert.equal(read.count, parsed.items.length);
      assert.equal(read.continueToken, parsed.metadata.continue || undefined);
      for (const c of read.candidates) candidates.push((c as { metadata: { name: string } }).metadata.name);
      token = read.continueToken;
      pages++;
    } while (token);
    assert.equal(pages, 4);
    assert.deepEqual(candidates.sort(), interesting);

    // A list through LiveSource, with needles and without: the same objects kept, the same count.
    const source = new LiveSource(client, {
      info: { type: 'live', context: 'admin', cluster: 'test', user: 'admin', server: '' },
      chunkSize: 4,
      concurrency: 2,
    });
    const type = (await source.discover()).find('configmaps')!;
    const list = async (withNeedles: boolean) => {
      const keeper = new SubsetKeeper(subset);
      keeper.namespacesListed();
      const request: ListRequest = { type, metadataOnly: true, namespace: ns, keep: keeper.subset };
      if (withNeedles) request.keepNeedles = () => keeper.needles();
      const outcome = await source.list(request);
      assert.ok(outcome.ok);
      return { names: outcome.items.map((o) => o.metadata.name).sort(), count: outcome.count, items: outcome.items };
    };
    const whole = await list(false);
    const read = await list(true);
    assert.deepEqual(read.names, ['blocks', 'held', 'moved']);
    assert.equal(read.count, 15);
    assert.deepEqual(read, whole);
  } finally {
    await client.close();
  }
});
