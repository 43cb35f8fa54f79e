import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { builtInTypes } from '../../src/cluster/resources.ts';
import { DoctorError } from '../../src/errors.ts';
import { FIXTURES } from '../rule-tester.ts';
import { tempDir } from '../temp.ts';

const dir = join(FIXTURES, 'snapshot');

async function names(
  source: SnapshotSource,
  resource: string,
  extra: { namespace?: string; labelSelector?: string; metadataOnly?: boolean } = {},
) {
  const type = (await source.discover()).find(resource);
  assert.ok(type, `${resource} should be served`);
  const outcome = await source.list({ type, metadataOnly: extra.metadataOnly ?? false, ...extra });
  assert.ok(outcome.ok);
  return outcome.items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}

test('reads every accepted shape: single object, multi-document YAML, List, typed PodList, JSON array, nested directories', async () => {
  const source = SnapshotSource.fromPaths([dir], { complete: true });
  assert.deepEqual(await names(source, 'configmaps'), ['default/single', 'team-a/multi', 'team-b/from-list']);
  assert.deepEqual(await names(source, 'namespaces'), ['/team-a']);
  assert.deepEqual(await names(source, 'deployments.apps'), ['team-a/from-list']);
  assert.deepEqual(await names(source, 'pods'), ['team-a/typed-list-item']);
  assert.deepEqual(await names(source, 'widgets.example.com'), ['team-a/no-crd']);
});

test('items of a typed list get apiVersion and kind from the list', async () => {
  const source = SnapshotSource.fromPaths([join(dir, 'podlist.json')], { complete: true });
  const type = (await source.discover()).find('pods')!;
  const outcome = await source.list({ type, metadataOnly: false });
  assert.ok(outcome.ok);
  assert.equal(outcome.items[0]!.apiVersion, 'v1');
  assert.equal(outcome.items[0]!.kind, 'Pod');
});

test('built-in APIs count as served even with no objects; a custom API only with its CRD or objects', async () => {
  const discovery = await SnapshotSource.fromPaths([join(dir, 'single.yaml')], { complete: true }).discover();
  assert.ok(discovery.find('secrets'), 'secrets is built in');
  assert.ok(discovery.find('apiservices.apiregistration.k8s.io'));
  assert.equal(discovery.find('addons.harvesterhci.io'), undefined);
  const withCrd = await SnapshotSource.fromPaths([join(dir, 'tree', 'crd.yaml')], { complete: true }).discover();
  const gadgets = withCrd.find('gadgets.example.org');
  assert.deepEqual(
    [gadgets?.kind, gadgets?.version, gadgets?.namespaced],
    ['Gadget', 'v1', false],
    'the storage version is preferred, scope from the CRD',
  );
});

test('-n and label selectors filter as the API server would; cluster-scoped types ignore -n', async () => {
  const source = SnapshotSource.fromPaths([dir], { complete: true });
  assert.deepEqual(await names(source, 'configmaps', { namespace: 'team-a' }), ['team-a/multi']);
  assert.deepEqual(await names(source, 'namespaces', { namespace: 'elsewhere' }), ['/team-a']);
  assert.deepEqual(await names(source, 'configmaps', { labelSelector: 'app in (web,db),tier!=back' }), [
    'team-a/multi',
    'team-b/from-list',
  ]);
  assert.deepEqual(await names(source, 'configmaps', { labelSelector: 'app=web,tier' }), ['team-a/multi']);
  assert.deepEqual(await names(source, 'configmaps', { labelSelector: '!app' }), ['default/single']);
});

test('metadata-only lists carry no data, as a live PartialObjectMetadataList', async () => {
  const source = SnapshotSource.fromPaths([join(dir, 'single.yaml')], { complete: true });
  const type = (await source.discover()).find('configmaps')!;
  const outcome = await source.list({ type, metadataOnly: true });
  assert.ok(outcome.ok);
  assert.deepEqual(Object.keys(outcome.items[0]!).sort(), ['apiVersion', 'kind', 'metadata']);
});

function assertDoctorError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DoctorError, `expected DoctorError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    assert.match(err.message, pattern);
    return true;
  });
}

test('a malformed YAML file gives a one-line error naming the file and the line', () => {
  assertDoctorError(
    () => SnapshotSource.fromPaths([join(FIXTURES, 'snapshot-broken')]),
    /snapshot-broken\/bad\.yaml: invalid YAML at line \d+/,
  );
});

test('malformed JSON names the file', () => {
  assertDoctorError(
    () => SnapshotSource.fromPaths([join(FIXTURES, 'snapshot-broken-json.json')]),
    /snapshot-broken-json\.json: invalid JSON/,
  );
});

test('a missing path and a dump with no objects are errors, not empty clean scans', () => {
  assertDoctorError(() => SnapshotSource.fromPaths(['/nonexistent/dump']), /\/nonexistent\/dump: no such file or directory/);
  assertDoctorError(() => SnapshotSource.fromPaths([join(dir, 'tree', 'version.json')]), /no Kubernetes objects found/);
});

test('a List of more objects than a call takes arguments (kubectl get -A -o json of a big cluster) is read whole', async () => {
  const file = join(tempDir('big-list'), 'configmaps.json');
  const items = Array.from({ length: 130_000 }, (_, i) => ({ metadata: { name: `cm-${i}`, namespace: `ns-${i % 100}`, uid: `u${i}` } }));
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMapList', items }));
  const source = SnapshotSource.fromPaths([file]);
  const type = (await source.discover()).find('configmaps')!;
  const outcome = await source.list({ type, metadataOnly: true, keep: (o) => (o.metadata.namespace === 'ns-7' ? o : undefined) });
  assert.ok(outcome.ok);
  assert.equal(outcome.count, 130_000);
  assert.deepEqual(
    outcome.items.map((o) => o.metadata.name),
    items.filter((_, i) => i % 100 === 7).map((o) => o.metadata.name),
  );
});

test("a dump's malformed objects are served once each, however many of its lists named them", async () => {
  const skipped = Array.from({ length: 20_000 }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: `ns-${i % 10}`,
    name: `odd-${i}`,
    reason: 'metadata.labels is not a map of strings',
  }));
  const configmaps = builtInTypes.find((t) => t.group === '' && t.resource === 'configmaps')!;
  const source = new SnapshotSource([], {
    dump: {
      capturedAt: '2026-11-22T12:00:00Z',
      doctorVersion: '0.1.0',
      rules: [],
      redacted: [],
      redactedFields: {},
      // A metadata-only and a full list of every namespace, and one of ns-3 alone, each naming what it skipped.
      covered: [
        { resource: 'configmaps', metadataOnly: true, skipped },
        { resource: 'configmaps', metadataOnly: false, skipped: [...skipped].reverse() },
        { resource: 'configmaps', namespace: 'ns-3', metadataOnly: false, skipped: skipped.filter((s) => s.namespace === 'ns-3') },
      ],
      notCovered: [],
      unread: [],
      discovery: { types: [configmaps], failures: [] },
    },
  });
  const all = await source.list({ type: configmaps, metadataOnly: false });
  assert.ok(all.ok);
  assert.deepEqual(all.skipped, skipped, 'each once, in the order first named');
  const one = await source.list({ type: configmaps, metadataOnly: false, namespace: 'ns-3' });
  assert.ok(one.ok);
  assert.deepEqual(
    one.skipped,
    skipped.filter((s) => s.namespace === 'ns-3'),
  );
});
