// Metadata-only pages as a real kube-apiserver writes them (src/cluster/metadata-page.ts): read without parsing the
// objects no `*` read keeps, and owned objects as references, a list keeps and counts exactly what parsing every
// object would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient } from '../../src/cluster/http.ts';
import { LiveSource, METADATA_LIST_ACCEPT } from '../../src/cluster/live.ts';
import { openMetadataPage } from '../../src/cluster/metadata-page.ts';
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
  const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid!, blockOwnerDeletion: true }];
  await cm('blocks', { ownerReferences, labels: { app: 'web' }, annotations: { note: '"ownerReferences":[]' } });
  // As a controller makes its objects: a generated name, and blockOwnerDeletion: false.
  const made = await create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { generateName: 'made-', namespace: ns, ownerReferences: [{ ...ownerReferences[0]!, blockOwnerDeletion: false }] },
  });
  await cm('helm', { labels: { owner: 'helm' } });
  await cm('plain-last');
  const interesting = ['blocks', 'held', 'helm', 'moved'];

  const kc = adminKubeConfig();
  const client = new ApiClient(kc, kc.getCurrentCluster()!.server, { timeoutMs: 30_000 });
  try {
    // The pages themselves: each read as the API server wrote it, with the objects holding a needle parsed.
    const subset = { deleting: true, blockingDependents: true, annotated: [BLOCK_MOVE] };
    const keeper = new SubsetKeeper(subset);
    const needles = [...keeper.needles()!, ...jsonKeyNeedles('owner')];
    const references = { needles: keeper.referenceNeedles(), namespaced: true };
    const candidates: string[] = [];
    const referenced: unknown[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const res = await client.request('GET', `/api/v1/namespaces/${ns}/configmaps`, {
        accept: METADATA_LIST_ACCEPT,
        query: { limit: '4', continue: token },
      });
      assert.equal(res.status, 200, res.text);
      const parsed = JSON.parse(res.text) as { items: unknown[]; metadata: { continue?: string } };
      const opened = openMetadataPage(res.bytes);
      const read = opened?.read(needles, references);
      assert.ok(opened && read, `page ${pages + 1} is in the form the reader expects: ${res.text.slice(0, 200)}`);
      assert.equal(read.count, parsed.items.length);
      assert.equal(opened.continueToken, parsed.metadata.continue || undefined);
      for (const c of read.candidates as { kind?: string; metadata: { name: string } }[]) {
        candidates.push(c.metadata.name);
        if (c.kind === undefined) referenced.push(c);
      }
      token = opened.continueToken;
      pages++;
    } while (token);
    assert.equal(pages, 4);
    assert.deepEqual(candidates.sort(), [...interesting, made.metadata.name].sort());
    // The owned objects no other needle is in, read as their name, namespace and ownerReferences from the text.
    assert.deepEqual(referenced, [
      { metadata: { name: 'blocks', namespace: ns, ownerReferences } },
      { metadata: { name: made.metadata.name, namespace: ns, ownerReferences: [{ ...ownerReferences[0], blockOwnerDeletion: false }] } },
    ]);

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
      if (withNeedles) {
        request.keepNeedles = () => keeper.needles();
        request.referenceNeedles = keeper.referenceNeedles();
      }
      const outcome = await source.list(request);
      assert.ok(outcome.ok);
      return { names: outcome.items.map((o) => o.metadata.name).sort(), count: outcome.count, items: outcome.items };
    };
    const whole = await list(false);
    const read = await list(true);
    assert.deepEqual(read.names, ['blocks', 'held', 'moved']);
    assert.equal(read.count, 16);
    assert.deepEqual(read, whole);
  } finally {
    await client.close();
  }
});
