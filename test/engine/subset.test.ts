// What a scan keeps of a `*` read that declares a subset (src/engine/keep.ts SubsetKeeper), through the engine's
// own read plan over a snapshot source: the objects the subset covers, whatever order the lists arrive in, every
// object of a list some rule reads whole, and a count of everything listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { resourceName } from '../../src/cluster/resources.ts';
import type { ClusterSource, ListOutcome, ListRequest } from '../../src/cluster/source.ts';
import { readCluster, runScan } from '../../src/engine/scan.ts';
import { projection } from '../../src/engine/keep.ts';
import type { ListedType, Rule, Subset } from '../../src/engine/rule.ts';
import type { KubeObject, ObjectMeta } from '../../src/kube/object.ts';
import { ruleReading } from '../rule-tester.ts';

const now = new Date('2026-11-22T12:00:00Z');
const DELETED = '2026-11-22T10:00:00Z';

function obj(
  apiVersion: string,
  kind: string,
  name: string,
  namespace: string | undefined,
  metadata: Partial<ObjectMeta> = {},
): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), uid: `uid-${kind}-${name}`, ...metadata },
    ...(kind === 'ConfigMap' ? { data: { k: 'v' } } : {}),
  };
}

const ownedBy = (owner: KubeObject, blockOwnerDeletion: boolean) => ({
  ownerReferences: [
    { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, blockOwnerDeletion },
  ],
});

const foregroundOwner = obj('example.com/v1', 'Widget', 'owner', 'a', { deletionTimestamp: DELETED, finalizers: ['foregroundDeletion'] });
const backgroundOwner = obj('example.com/v1', 'Widget', 'quiet', 'a', { deletionTimestamp: DELETED, finalizers: ['example.com/cleanup'] });
const objects: KubeObject[] = [
  obj('v1', 'Namespace', 'a', undefined),
  obj('v1', 'Namespace', 'gone', undefined, { deletionTimestamp: DELETED }),
  obj('v1', 'ConfigMap', 'plain', 'a'),
  obj('v1', 'ConfigMap', 'deleting', 'a', { deletionTimestamp: DELETED, finalizers: ['example.com/x'] }),
  obj('v1', 'ConfigMap', 'left-in-gone', 'gone'),
  obj('v1', 'ConfigMap', 'moved', 'a', { annotations: { 'example.com/moved': 'true' } }),
  obj('v1', 'ConfigMap', 'blocks', 'a', ownedBy(foregroundOwner, true)),
  obj('v1', 'ConfigMap', 'owned-not-blocking', 'a', ownedBy(foregroundOwner, false)),
  obj('v1', 'ConfigMap', 'blocks-background', 'a', ownedBy(backgroundOwner, true)),
  obj('v1', 'Secret', 'plain-secret', 'a'),
  obj('v1', 'Secret', 'sh.helm.release.v1.web.v1', 'a', { labels: { owner: 'helm' } }),
  foregroundOwner,
  backgroundOwner,
  obj('example.com/v1', 'Widget', 'idle', 'a'),
];

/**
 * A snapshot whose lists of the types named in `last` answer only after every other list has: the worst order. It
 * also checks ListRequest.keepNeedles as a live source relies on them: every object `keep` keeps holds a needle in
 * its metadata-only JSON text, as the needles stood when its list was answered (`missed` names the others).
 */
class LateSource implements ClusterSource {
  readonly inner = new SnapshotSource(objects.map((o) => structuredClone(o)));
  readonly order: string[] = [];
  readonly missed: string[] = [];
  /** How many lists were answered with needles to check. */
  needled = 0;
  readonly #late: Set<string>;
  #others = 0;
  #othersDone!: () => void;
  readonly #allOthers = new Promise<void>((resolve) => (this.#othersDone = resolve));
  constructor(late: string[]) {
    this.#late = new Set(late);
  }
  info() {
    return this.inner.info();
  }
  stats() {
    return {};
  }
  async discover() {
    const discovery = await this.inner.discover();
    this.#others = discovery.preferredTypes().filter((t) => !this.#late.has(resourceName(t))).length;
    return discovery;
  }
  async list(request: ListRequest): Promise<ListOutcome> {
    const name = resourceName(request.type);
    if (this.#late.has(name)) await this.#allOthers;
    const needles = request.keepNeedles?.();
    const keep = request.keep;
    if (needles && keep) this.needled++;
    const checked: ListRequest =
      needles && keep
        ? {
            ...request,
            keep: (o) => {
              const text = JSON.stringify({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata });
              const held = needles.filter((n) => text.includes(n));
              // Holding only reference needles, the object may come as its name, namespace and ownerReferences alone.
              if (held.length > 0 && held.every((n) => request.referenceNeedles?.includes(n))) {
                const { name: objectName, namespace, ownerReferences } = o.metadata;
                const metadata = { name: objectName, ...(namespace ? { namespace } : {}), ...(ownerReferences ? { ownerReferences } : {}) };
                const asReference = keep({ apiVersion: o.apiVersion, kind: o.kind, metadata });
                if (!isDeepStrictEqual(asReference, keep(o))) this.missed.push(`${name} ${o.metadata.name} as a reference`);
              }
              const kept = keep(o);
              if (kept !== undefined && held.length === 0) this.missed.push(`${name} ${o.metadata.name}`);
              return kept;
            },
          }
        : request;
    const outcome = await this.inner.list(checked);
    this.order.push(name);
    if (!this.#late.has(name) && --this.#others === 0) this.#othersDone();
    return outcome;
  }
}

function reading(id: string, reads: Rule['meta']['reads'], seen: (listed: ListedType[]) => void): Rule {
  return ruleReading(id, reads, (ctx) => {
    if (reads.all) seen(ctx.everyType('all').listed);
    return [];
  });
}

/** What each type's list kept of a `*` read with `subset` (names), and how many objects it counted. */
async function kept(
  subset: Subset | undefined,
  source: ClusterSource,
  extra: Rule[] = [],
): Promise<Record<string, { names: string[]; count: number }>> {
  let listed: ListedType[] = [];
  const rule = reading('test/every', { all: { resource: '*', metadataOnly: true, ...(subset ? { subset } : {}) } }, (l) => (listed = l));
  await runScan(source, { rules: [rule, ...extra], now, concurrency: 3 });
  if (source instanceof LateSource)
    assert.deepEqual(source.missed, [], 'an object kept holds no needle, or is kept otherwise as a reference');
  return Object.fromEntries(listed.map((l) => [l.type.kind, { names: l.items.map((o) => o.metadata.name!).sort(), count: l.count }]));
}

test('a "*" read with a subset keeps the objects being deleted and counts every object listed', async () => {
  const lists = await kept({ deleting: true }, new LateSource([]));
  assert.deepEqual(lists.ConfigMap, { names: ['deleting'], count: 7 });
  assert.deepEqual(lists.Secret, { names: [], count: 2 });
  assert.deepEqual(lists.Widget, { names: ['owner', 'quiet'], count: 3 });
  assert.deepEqual(lists.Namespace, { names: ['gone'], count: 2 });
});

test('every object of a namespace being deleted is kept, also when the namespaces list answers last', async () => {
  for (const late of [[], ['namespaces'], ['configmaps']]) {
    const source = new LateSource(late);
    const lists = await kept({ inDeletingNamespaces: true }, source);
    assert.deepEqual(lists.ConfigMap, { names: ['left-in-gone'], count: 7 }, `namespaces late: ${late.length > 0}`);
    assert.deepEqual(lists.Widget?.names, []);
    if (late.length === 0) assert.equal(source.order[0], 'namespaces', 'the namespaces list goes first');
  }
});

test('the dependents a foreground deletion waits for are kept as references, wherever their owner is listed', async () => {
  for (const late of [[], ['widgets.example.com'], ['configmaps']]) {
    const lists = await kept({ blockingDependents: true }, new LateSource(late));
    assert.deepEqual(lists.ConfigMap, { names: ['blocks'], count: 7 }, `late: ${late.join(',')}`);
  }
  let listed: ListedType[] = [];
  const rule = reading(
    'test/every',
    { all: { resource: '*', metadataOnly: true, subset: { blockingDependents: true } } },
    (l) => (listed = l),
  );
  // Listed before its owner or after it: kept as the same reference (name, namespace, blocking ownerReferences), so
  // a live source may read only those of an object's text (metadata-page.ts references).
  for (const late of [['widgets.example.com'], ['configmaps']]) {
    await runScan(new LateSource(late), { rules: [rule], now, concurrency: 2 });
    const blocks = listed.find((l) => l.type.kind === 'ConfigMap')!.items[0]!;
    assert.deepEqual(
      blocks,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'blocks', namespace: 'a', ownerReferences: ownedBy(foregroundOwner, true).ownerReferences },
      },
      `late: ${late.join(',')}`,
    );
  }
});

test('objects carrying a declared annotation are kept; subsets of several rules are joined', async () => {
  const lists = await kept({ annotated: ['example.com/moved'] }, new LateSource([]));
  assert.deepEqual(lists.ConfigMap?.names, ['moved']);
  let joined: ListedType[] = [];
  const other = reading('test/other', { all: { resource: '*', metadataOnly: true, subset: { deleting: true } } }, (l) => (joined = l));
  await kept({ annotated: ['example.com/moved'] }, new LateSource([]), [other]);
  assert.deepEqual(
    joined
      .find((l) => l.type.kind === 'ConfigMap')!
      .items.map((o) => o.metadata.name)
      .sort(),
    ['deleting', 'moved'],
  );
});

test('a list some rule reads whole keeps every object, and a "*" read without a subset keeps everything', async () => {
  const secrets = ruleReading('test/secrets', { secrets: { resource: 'secrets', metadataOnly: true } });
  const lists = await kept({ deleting: true }, new LateSource([]), [secrets]);
  assert.deepEqual(lists.Secret, { names: ['plain-secret', 'sh.helm.release.v1.web.v1'], count: 2 });
  assert.deepEqual(lists.ConfigMap?.names, ['deleting']);
  const all = await kept(undefined, new LateSource([]));
  assert.equal(all.ConfigMap?.names.length, 7);
  assert.equal(all.Widget?.names.length, 3);
});

test('a dump keeps every object whatever the subsets (readCluster everyObject)', async () => {
  const rule = ruleReading('test/every', { all: { resource: '*', metadataOnly: true, subset: {} } });
  const read = await readCluster(new LateSource([]), { rules: [rule], concurrency: 2, everyObject: true });
  const configmaps = [...read.fetched.values()].find((f) => f.request.type.resource === 'configmaps')!.outcome;
  assert.ok(configmaps.ok);
  assert.equal(configmaps.items.length, 7);
});

test('a label-selected read a "*" list serves keeps the objects it selects, whole, and sees only them', async () => {
  let helm: string[] = [];
  const selecting = ruleReading(
    'test/helm',
    { secrets: { resource: 'secrets', metadataOnly: true, labelSelector: 'owner=helm' } },
    (ctx) => {
      helm = ctx.list('secrets').map((o) => o.metadata.name!);
      return [];
    },
  );
  const lists = await kept({ deleting: true }, new LateSource([]), [selecting]);
  assert.deepEqual(lists.Secret, { names: ['sh.helm.release.v1.web.v1'], count: 2 });
  assert.deepEqual(helm, ['sh.helm.release.v1.web.v1']);
});

test('projection keeps apiVersion, kind, metadata and the declared paths, through lists with []', () => {
  const project = projection(['spec.replicas', 'spec.template.spec.containers[].image', 'status.readyReplicas']);
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'X', value: 'y' }] }, 'odd'] },
      },
    },
    status: { readyReplicas: 1, conditions: [] },
  };
  assert.deepEqual(project(deployment), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } },
    // A value of another shape than the path expects is kept as it is, never made up.
    spec: { replicas: 2, template: { spec: { containers: [{ image: 'web:1' }, 'odd'] } } },
    status: { readyReplicas: 1 },
  });
  assert.deepEqual(project({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare' } }), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bare' },
  });
});

test('a read declaring fields keeps only them unless another read of the type wants the whole object', async () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'a', uid: 'uid-web' },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
  };
  const seen: Record<string, KubeObject[]> = {};
  const reader = (id: string, fields?: string[]): Rule =>
    ruleReading(id, { deployments: { resource: 'deployments.apps', ...(fields ? { fields } : {}) } }, (ctx) => {
      seen[id] = ctx.list('deployments');
      return [];
    });
  await runScan(new SnapshotSource([deployment]), { rules: [reader('test/replicas', ['spec.replicas'])], now, concurrency: 2 });
  assert.deepEqual(seen['test/replicas']!, [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: deployment.metadata, spec: { replicas: 2 } },
  ]);
  await runScan(new SnapshotSource([deployment]), {
    rules: [reader('test/replicas', ['spec.replicas']), reader('test/image', ['spec.template.spec.containers[].image'])],
    now,
    concurrency: 2,
  });
  assert.deepEqual(seen['test/image']![0]!.spec, { replicas: 2, template: { spec: { containers: [{ image: 'web:1' }] } } });
  await runScan(new SnapshotSource([deployment]), {
    rules: [reader('test/replicas', ['spec.replicas']), reader('test/all')],
    now,
    concurrency: 2,
  });
  assert.deepEqual(seen['test/replicas']![0], deployment);
});

test('a rule that reads no "*" is checked as soon as its lists are in, while a slower list is still being read', async () => {
  const source = new LateSource(['secrets']);
  let listedWhenChecked: string[] = [];
  const early = ruleReading('test/early', { configmaps: { resource: 'configmaps', metadataOnly: true } }, () => {
    listedWhenChecked = [...source.order];
    return [];
  });
  let everyWhenChecked: string[] = [];
  const late = reading('test/late', { all: { resource: '*', metadataOnly: true, subset: { deleting: true } } }, () => {
    everyWhenChecked = [...source.order];
  });
  const scan = await runScan(source, { rules: [late, early], now, concurrency: 2 });
  assert.ok(listedWhenChecked.includes('configmaps') && !listedWhenChecked.includes('secrets'), listedWhenChecked.join(','));
  assert.ok(everyWhenChecked.includes('secrets'), 'a rule reading every type waits for every list');
  assert.deepEqual(
    scan.rules.map((r) => r.id),
    ['test/late', 'test/early'],
    'results keep the order of the rules',
  );
});
