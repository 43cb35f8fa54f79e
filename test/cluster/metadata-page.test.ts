// openMetadataPage and its read: the objects of a metadata-only page a `*` read may keep, parsed; the others
// counted. The page text here is written as kube-apiserver writes it (Go's encoding: fields in struct order, no
// spaces, a trailing newline); test/e2e/metadata-page.test.ts reads real pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { openMetadataPage } from '../../src/cluster/metadata-page.ts';

/** The page as the bytes it comes as. */
/** The page, as the bytes it comes as, opened and its objects read with `needles`: what a live list does with a page. */
function readMetadataPage(text: string, needles: readonly string[]) {
  const opened = openMetadataPage(Buffer.from(text));
  const objects = opened?.read(needles);
  return objects && { ...objects, continueToken: opened!.continueToken };
}

const item = (metadata: Record<string, unknown>) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata });
const page = (items: unknown[], listMeta: Record<string, unknown> = { resourceVersion: '42' }) =>
  `${JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items })}\n`;

const plain = (name: string, extra: Record<string, unknown> = {}) => item({ name, namespace: 'a', uid: `u-${name}`, ...extra });
const deleting = item({ name: 'going', namespace: 'a', deletionTimestamp: '2026-11-30T00:00:00Z', finalizers: ['x/y'] });
const NEEDLES = ['"deletionTimestamp"'];

/** Numbers in [0, 1) and picks from a list, the same on every run (mulberry32). */
function seeded(start: number) {
  let seed = start;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { random, pick: <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]! };
}

test('counts every object and parses only those holding a needle, in page order; the continue token comes from the list', () => {
  const items = [plain('a'), deleting, plain('b'), item({ name: 'c', annotations: { 'x.io/moved': 'true' } }), plain('d')];
  const text = page(items, { resourceVersion: '42', continue: 'eyJ2IjoxfQ', remainingItemCount: 7 });
  const read = readMetadataPage(text, [...NEEDLES, '"x.io/moved":']);
  assert.deepEqual(read, { count: 5, candidates: [items[1], items[3]], continueToken: 'eyJ2IjoxfQ' });
  // The last page: no continue, or an empty one.
  assert.equal(readMetadataPage(page(items), NEEDLES)?.continueToken, undefined);
  assert.equal(readMetadataPage(page(items, { resourceVersion: '1', continue: '' }), NEEDLES)?.continueToken, undefined);
});

test('a needle in the first or the last object, or several in one object, parses that object once', () => {
  const last = item({ name: 'z', deletionTimestamp: 'x', labels: { deletionTimestamp: 'deletionTimestamp' } });
  const read = readMetadataPage(page([deleting, plain('m'), last]), NEEDLES);
  assert.deepEqual(read?.candidates, [deleting, last]);
  assert.equal(read?.count, 3);
});

test('an empty page counts nothing; a page without needles parses nothing', () => {
  assert.deepEqual(readMetadataPage(page([]), NEEDLES), { count: 0, candidates: [], continueToken: undefined });
  assert.deepEqual(readMetadataPage(page([plain('a'), plain('b')]), []), { count: 2, candidates: [], continueToken: undefined });
});

test('text in values cannot start an object or hold a needle: the quotes a value holds are escaped', () => {
  const sneaky = plain('sneaky', {
    annotations: {
      note: '},{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"deletionTimestamp":"now"}}',
    },
  });
  const read = readMetadataPage(page([plain('a'), sneaky, plain('b')]), NEEDLES);
  assert.deepEqual(read, { count: 3, candidates: [], continueToken: undefined });
});

test('a needle in the list metadata is not an object of the page', () => {
  const text = page([plain('a')], { resourceVersion: '1', continue: 'deletionTimestamp' });
  assert.deepEqual(readMetadataPage(text, ['deletionTimestamp']), { count: 1, candidates: [], continueToken: 'deletionTimestamp' });
});

test('a page in any other form is left to JSON.parse (undefined)', () => {
  const good = page([plain('a'), deleting]);
  const cases: Record<string, string> = {
    'a full list': JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'a' } }] }),
    'keys in another order': JSON.stringify({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadataList', metadata: {}, items: [] }),
    'no items (an empty list leaves them out)': JSON.stringify({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {},
    }),
    'cut short': good.slice(0, -10),
    'pretty-printed': JSON.stringify(JSON.parse(good), null, 2),
    'an object in another form': good.replace(
      '{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"going"',
      '{"metadata":{"name":"going"',
    ),
    'a candidate that is not JSON': good.replace('"deletionTimestamp":"2026-11-30T00:00:00Z"', '"deletionTimestamp":2026-11-30'),
    'a continue that is not a string': page([plain('a')], { resourceVersion: '1', continue: 5 }),
    'list metadata that is not JSON': good.replace('"resourceVersion":"42"', '"resourceVersion":42"'),
    'objects not separated as written': good.replace('}},{"kind"', '}} ,{"kind"'),
  };
  for (const [what, text] of Object.entries(cases)) assert.equal(readMetadataPage(text, NEEDLES), undefined, what);
  assert.ok(readMetadataPage(good, NEEDLES), 'the page the cases are made from is read');
});

test('a page of 20,000 objects: the objects needles are in are found among them', () => {
  const items = Array.from({ length: 20_000 }, (_, i) => plain(`cm-${i}`, i % 1000 === 0 ? { deletionTimestamp: 'x' } : {}));
  const read = readMetadataPage(page(items), NEEDLES);
  assert.equal(read?.count, 20_000);
  assert.deepEqual(
    read?.candidates.map((c) => (c as { metadata: { name: string } }).metadata.name),
    items.filter((_, i) => i % 1000 === 0).map((o) => o.metadata.name),
  );
});

test('a key written with its `/` escaped (JSON allows it; kube-apiserver does not) is found by its escaped needle', () => {
  const key = 'clusterctl.cluster.x-k8s.io/block-move';
  const moved = plain('moved', { annotations: { [key]: 'true' } });
  const text = page([plain('a'), moved]).replace(key, key.replace('/', '\\/'));
  assert.ok(text.includes('x-k8s.io\\/block-move'));
  const needles = [`"${key}":`, `"${key.replace('/', '\\/')}":`];
  assert.deepEqual(readMetadataPage(text, needles)?.candidates, [moved]);
  assert.deepEqual(readMetadataPage(page([plain('a'), moved]), needles)?.candidates, [moved]);
});

test('fuzzed pages: every object a needle names is a candidate, every candidate is an object of the page, the count is exact', () => {
  const { random, pick } = seeded(0x5eed);
  // Text a tenant may write into names, labels and annotations, needles and the object prefix among it.
  const words = [
    'a',
    'gone',
    'x.io/moved',
    'deletionTimestamp',
    '"deletionTimestamp"',
    '"blockOwnerDeletion":true',
    '},{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{',
    '}}]}',
    '\\',
    '"',
    '\u2028',
    '\u0000',
    'é€😀',
    '{"a":[1,{"b":"c"}]}',
  ];
  const text = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(words)).join('');
  const map = () =>
    Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, () => [random() < 0.2 ? 'x.io/moved' : text(), text()]));
  const NEEDLES = ['"deletionTimestamp"', '"blockOwnerDeletion"', '"x.io/moved":', '"namespace":"gone"'];
  for (let p = 0; p < 300; p++) {
    const items = Array.from({ length: Math.floor(random() * 12) }, (_, i) => {
      const metadata: Record<string, unknown> = { name: text(), namespace: random() < 0.2 ? 'gone' : text(), uid: `uid-${p}-${i}` };
      if (random() < 0.5) metadata.labels = map();
      if (random() < 0.5) metadata.annotations = map();
      if (random() < 0.15) metadata.deletionTimestamp = '2026-11-30T00:00:00Z';
      if (random() < 0.2)
        metadata.ownerReferences = [
          { apiVersion: 'v1', kind: text(), name: text(), uid: 'u', ...(random() < 0.5 ? { blockOwnerDeletion: random() < 0.5 } : {}) },
        ];
      // In any key order: a needle may be the first thing in an object or the last.
      const keys = Object.keys(metadata).sort(() => random() - 0.5);
      return item(Object.fromEntries(keys.map((k) => [k, metadata[k]])));
    });
    const token = random() < 0.5 ? `tok-${p}` : undefined;
    const read = readMetadataPage(page(items, { resourceVersion: '1', ...(token ? { continue: token } : {}) }), NEEDLES);
    assert.ok(read, `page ${p} is read`);
    assert.equal(read.count, items.length, `page ${p}: count`);
    assert.equal(read.continueToken, token);
    const uids = new Set(read.candidates.map((c) => (c as { metadata: { uid: string } }).metadata.uid));
    for (const o of items) {
      const m = o.metadata as Record<string, unknown> & { annotations?: object; ownerReferences?: object[] };
      const named =
        m.deletionTimestamp !== undefined ||
        m.namespace === 'gone' ||
        (m.annotations !== undefined && Object.hasOwn(m.annotations, 'x.io/moved')) ||
        (m.ownerReferences ?? []).some((r) => Object.hasOwn(r, 'blockOwnerDeletion'));
      if (named) assert.ok(uids.has(m.uid as string), `page ${p}: ${m.uid as string} is a candidate`);
    }
    for (const c of read.candidates)
      assert.ok(
        items.some((o) => JSON.stringify(o) === JSON.stringify(c)),
        `page ${p}: a candidate not on the page`,
      );
  }
});

/** ObjectMeta in the order Go writes it (k8s.io/apimachinery/pkg/apis/meta/v1 ObjectMeta's fields). */
const GO_ORDER = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];
const goOrdered = (metadata: Record<string, unknown>) =>
  item(Object.fromEntries(GO_ORDER.filter((k) => metadata[k] !== undefined).map((k) => [k, metadata[k]])));
const REFERENCES = { needles: ['"blockOwnerDeletion"'], namespaced: true };
const readWithReferences = (text: string, needles: readonly string[], references = REFERENCES) =>
  openMetadataPage(Buffer.from(text))?.read(needles, references);
const owner = (name: string, blockOwnerDeletion?: boolean) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name,
  uid: `uid-${name}`,
  controller: true,
  ...(blockOwnerDeletion !== undefined ? { blockOwnerDeletion } : {}),
});
/** A Pod as kube-apiserver lists it metadata-only: owned by its ReplicaSet, with managedFields. */
const pod = (name: string, extra: Record<string, unknown> = {}) =>
  goOrdered({
    name,
    generateName: 'web-7d4b9c-',
    namespace: 'a',
    uid: `uid-${name}`,
    resourceVersion: '812',
    creationTimestamp: '2026-11-30T00:00:00Z',
    labels: { app: 'web', 'pod-template-hash': '7d4b9c' },
    ownerReferences: [owner('web-7d4b9c', true)],
    managedFields: [
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-11-30T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:ownerReferences': { '.': {}, 'k:{"uid":"uid-web-7d4b9c"}': {} } } },
      },
    ],
    ...extra,
  });

test('an object holding only a reference needle is read as its name, namespace and ownerReferences, not parsed whole', () => {
  const owned = pod('web-7d4b9c-x1');
  const deletingOwned = pod('web-7d4b9c-x2', { deletionTimestamp: '2026-11-30T01:00:00Z', finalizers: ['x/y'] });
  const items = [plain('a'), owned, deletingOwned, plain('b')];
  const read = readWithReferences(page(items), [...NEEDLES, '"blockOwnerDeletion"']);
  assert.deepEqual(read, {
    count: 4,
    candidates: [{ metadata: { name: 'web-7d4b9c-x1', namespace: 'a', ownerReferences: [owner('web-7d4b9c', true)] } }, deletingOwned],
  });
  // Without reference needles, every candidate is parsed whole.
  assert.deepEqual(readWithReferences(page(items), [...NEEDLES, '"blockOwnerDeletion"'], { needles: [], namespaced: true })?.candidates, [
    owned,
    deletingOwned,
  ]);
  // Cluster-scoped: no namespace.
  const node = goOrdered({ name: 'lease-1', uid: 'u1', ownerReferences: [owner('n1', false)] });
  assert.deepEqual(readWithReferences(page([node]), ['"blockOwnerDeletion"'], { ...REFERENCES, namespaced: false })?.candidates, [
    { metadata: { name: 'lease-1', ownerReferences: [owner('n1', false)] } },
  ]);
  // A needle only in a label key: no ownerReferences, read as the name and namespace.
  const labelled = goOrdered({ name: 'l', namespace: 'a', labels: { blockOwnerDeletion: 'true' } });
  assert.deepEqual(readWithReferences(page([labelled]), ['"blockOwnerDeletion"'])?.candidates, [
    { metadata: { name: 'l', namespace: 'a' } },
  ]);
});

test('a page of 20,000 objects each holding only a reference needle: each read as a reference, within itself', () => {
  // A label key holds the needle but no ownerReferences follow: the reader looks for them within the object only.
  const items = Array.from({ length: 20_000 }, (_, i) =>
    goOrdered({ name: `cm-${i}`, namespace: 'a', labels: { blockOwnerDeletion: 'x' }, annotations: { note: 'y'.repeat(50) } }),
  );
  items.push(pod('last'));
  const read = readWithReferences(page(items), ['"blockOwnerDeletion"']);
  assert.equal(read?.count, 20_001);
  assert.deepEqual(read?.candidates.slice(0, 2), [
    { metadata: { name: 'cm-0', namespace: 'a' } },
    { metadata: { name: 'cm-1', namespace: 'a' } },
  ]);
  assert.deepEqual(read?.candidates.at(-1), { metadata: { name: 'last', namespace: 'a', ownerReferences: [owner('web-7d4b9c', true)] } });
});

test('an object not written in Go order is parsed whole, not read as a reference', () => {
  const refs = [owner('o', true)];
  const cases: Record<string, unknown> = {
    'namespace after uid': item({ name: 'p', uid: 'u', namespace: 'a', ownerReferences: refs }),
    'no name first': item({ namespace: 'a', name: 'p', ownerReferences: refs }),
    'ownerReferences before labels': item({ name: 'p', namespace: 'a', ownerReferences: refs, labels: { x: 'y' } }),
    'no name': item({ generateName: 'p-', namespace: 'a', ownerReferences: refs }),
  };
  for (const [what, object] of Object.entries(cases)) {
    assert.deepEqual(readWithReferences(page([object]), ['"blockOwnerDeletion"'])?.candidates, [object], what);
  }
  // A namespaced type's object without a namespace, a cluster-scoped type's with one.
  const clusterScoped = goOrdered({ name: 'p', ownerReferences: refs });
  assert.deepEqual(readWithReferences(page([clusterScoped]), ['"blockOwnerDeletion"'])?.candidates, [clusterScoped]);
  const namespaced = goOrdered({ name: 'p', namespace: 'a', ownerReferences: refs });
  assert.deepEqual(readWithReferences(page([namespaced]), ['"blockOwnerDeletion"'], { ...REFERENCES, namespaced: false })?.candidates, [
    namespaced,
  ]);
});

test('fuzzed owned objects: read as a reference, each is the name, namespace and ownerReferences of the object parsed whole', () => {
  const { random, pick } = seeded(0x0b0d);
  // What a tenant may write into names, labels, annotations and owner names: the keys and ends the reader looks for.
  const words = [
    'a',
    'ownerReferences',
    '"ownerReferences":[',
    ',"ownerReferences":[{"uid":"forged","blockOwnerDeletion":true}],"finalizers":',
    '],"managedFields":',
    '"namespace":"gone"',
    ',"namespace":',
    '"blockOwnerDeletion"',
    '"blockOwnerDeletion":true',
    '"name":"',
    '\\',
    '\\"',
    '"',
    ']',
    '}',
    '[{',
    '\u2028',
    'é€😀',
  ];
  const text = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(words)).join('');
  const map = () => Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, () => [text(), text()]));
  const needles = ['"deletionTimestamp"', '"blockOwnerDeletion"', '"x.io/moved":', '"namespace":"gone"'];
  let references = 0;
  for (let p = 0; p < 300; p++) {
    const items = Array.from({ length: Math.floor(random() * 10) }, (_, i) => {
      const metadata: Record<string, unknown> = { name: text(), namespace: random() < 0.1 ? 'gone' : text(), uid: `uid-${p}-${i}` };
      if (random() < 0.3) metadata.generateName = text();
      if (random() < 0.5) metadata.labels = map();
      if (random() < 0.5) metadata.annotations = { ...map(), ...(random() < 0.1 ? { 'x.io/moved': 'true' } : {}) };
      if (random() < 0.1) metadata.deletionTimestamp = '2026-11-30T00:00:00Z';
      if (random() < 0.8)
        metadata.ownerReferences = Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({
          apiVersion: 'v1',
          kind: text(),
          name: text(),
          uid: text(),
          ...(random() < 0.8 ? { blockOwnerDeletion: random() < 0.7 } : {}),
        }));
      if (random() < 0.3) metadata.finalizers = [text()];
      if (random() < 0.5) metadata.managedFields = [{ manager: text(), fieldsV1: { [`f:${text()}`]: { '.': {} } } }];
      // Mostly as Go writes it; some in another order, which must be parsed whole.
      return random() < 0.85
        ? goOrdered(metadata)
        : item(
            Object.fromEntries(
              Object.keys(metadata)
                .sort(() => random() - 0.5)
                .map((k) => [k, metadata[k]]),
            ),
          );
    });
    const read = readWithReferences(page(items), needles);
    assert.ok(read, `page ${p} is read`);
    assert.equal(read.count, items.length);
    for (const candidate of read.candidates) {
      const c = candidate as { kind?: string; metadata: { name: string; namespace?: string; ownerReferences?: unknown } };
      if (c.kind !== undefined) {
        assert.ok(
          items.some((o) => JSON.stringify(o) === JSON.stringify(c)),
          `page ${p}: a candidate not on the page`,
        );
        continue;
      }
      references++;
      // The object it names, as the reference would be made of it parsed whole, holding no needle but reference ones.
      const others = needles.filter((n) => n !== '"blockOwnerDeletion"');
      const named = items.find((o) => {
        const { name, namespace, ownerReferences } = o.metadata as Record<string, unknown>;
        const reference = { name, namespace, ...(ownerReferences !== undefined ? { ownerReferences } : {}) };
        return isDeepStrictEqual(reference, c.metadata) && !others.some((n) => JSON.stringify(o).includes(n));
      });
      assert.ok(named, `page ${p}: a reference no object of the page makes: ${JSON.stringify(c)}`);
    }
  }
  assert.ok(references > 200, `only ${references} objects were read as references`);
});
