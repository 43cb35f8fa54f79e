// A read that declares `fields` (ResourceRead.fields) promises that its rule reads nothing else of those objects: a
// scan then keeps only those fields, and a rule that reads another one silently finds less on a live cluster than on
// a dump. keep-equivalence.test.ts catches such a read only where a fixture gives the field a value that changes a
// finding; this test catches the read itself. Every rule runs over every rule fixture and the example dump with each
// object of a projected type behind a Proxy that records the paths read (present or not), keeping every object whole
// so the rules take the branches real data drive; each path must lie on or under a declared field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { allRules } from '../../rules/index.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import type { ClusterSource, ListRequest } from '../../src/cluster/source.ts';
import { resourceName } from '../../src/cluster/resources.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { defineRule, type Rule } from '../../src/engine/rule.ts';
import { runScan } from '../../src/engine/scan.ts';
import { ROOT } from '../cli/run-cli.ts';
import { fieldPathParts } from '../../src/engine/keep.ts';
import { readsByResource } from './reads.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const EXAMPLE_DUMP = join(ROOT, 'examples', 'cluster-dump');
const ALWAYS_KEPT = new Set(['apiVersion', 'kind', 'metadata']);

/** The types a scan projects (every read of the type declares fields), with the union of their fields as path steps. */
function projectedTypes(rules: readonly Rule[]): Map<string, string[][]> {
  const projected = new Map<string, string[][]>();
  for (const [resource, reads] of readsByResource(rules)) {
    if (reads.every(({ read }) => read.fields !== undefined))
      projected.set(
        resource,
        reads.flatMap(({ read }) => read.fields!.map(fieldPathParts)),
      );
  }
  return projected;
}

const startsWith = (path: readonly string[], prefix: readonly string[]): boolean =>
  prefix.length <= path.length && prefix.every((p, i) => path[i] === p);

/** A path a rule may read: kept whole (apiVersion, kind, metadata), under a declared field, or on the way to one. */
function covered(path: readonly string[], declared: readonly string[][], enumerated: boolean): boolean {
  if (ALWAYS_KEPT.has(path[0]!)) return true;
  if (declared.some((d) => startsWith(path, d))) return true;
  // Listing an object's keys on the way to a declared field sees only the kept ones: not covered.
  return !enumerated && declared.some((d) => startsWith(d, path));
}

interface Recorder {
  /** resource -> read paths (`spec.options.valuesFrom[].secretKeyRef`), `(keys)` marking an enumeration. */
  reads: Map<string, Set<string>>;
  wrap(resource: string, obj: KubeObject): KubeObject;
}

function recorder(): Recorder {
  const reads = new Map<string, Set<string>>();
  const record = (resource: string, path: readonly string[], enumerated: boolean): void => {
    let set = reads.get(resource);
    if (set === undefined) reads.set(resource, (set = new Set()));
    set.add(path.join('.').replace(/\.\[\]/g, '[]') + (enumerated ? ' (keys)' : ''));
  };
  // One proxy per object, so a rule that keys a Map by object sees the same identity each time.
  const proxies = new WeakMap<object, unknown>();
  const proxy = (resource: string, target: object, path: string[]): unknown => {
    const known = proxies.get(target);
    if (known !== undefined) return known;
    const isArray = Array.isArray(target);
    // An array's length and methods read the array as it is (a projection keeps every element); an index, an element.
    const child = (key: string | symbol): string[] | undefined =>
      typeof key === 'symbol' ? undefined : isArray ? (/^\d+$/.test(key) ? [...path, '[]'] : undefined) : [...path, key];
    const made = new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver) as unknown;
        const at = child(key);
        if (at === undefined) return value;
        record(resource, at, false);
        const own = Object.getOwnPropertyDescriptor(t, key);
        if (own !== undefined && !own.configurable && !own.writable) return value;
        return typeof value === 'object' && value !== null ? proxy(resource, value, at) : value;
      },
      has(t, key) {
        const at = child(key);
        if (at !== undefined) record(resource, at, false);
        return Reflect.has(t, key);
      },
      getOwnPropertyDescriptor(t, key) {
        const at = child(key);
        if (at !== undefined) record(resource, at, false);
        return Reflect.getOwnPropertyDescriptor(t, key);
      },
      ownKeys(t) {
        if (!isArray) record(resource, path, true);
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(target, made);
    return made;
  };
  return { reads, wrap: (resource, obj) => proxy(resource, obj, []) as KubeObject };
}

/** The source with each listed object of a projected type (full lists only) behind the recorder's Proxy. */
function recording(source: ClusterSource, projected: Map<string, unknown>, rec: Recorder): ClusterSource {
  return {
    info: () => source.info(),
    discover: () => source.discover(),
    stats: () => source.stats(),
    async list(request: ListRequest) {
      const outcome = await source.list(request);
      const resource = resourceName(request.type);
      if (!outcome.ok || request.metadataOnly || !projected.has(resource)) return outcome;
      return { ...outcome, items: outcome.items.map((obj) => rec.wrap(resource, obj)) };
    },
  };
}

async function recordReads(rules: readonly Rule[], paths: string[], now: string, rec: Recorder): Promise<void> {
  const projected = projectedTypes(rules);
  const source = recording(SnapshotSource.fromPaths(paths, { complete: true }), projected, rec);
  await runScan(source, { rules, now: new Date(now), concurrency: 4, everyObject: true });
}

/** Each path read of a projected type that no declared field covers, as `resource: path`. */
function undeclared(rules: readonly Rule[], rec: Recorder): string[] {
  const projected = projectedTypes(rules);
  const out: string[] = [];
  for (const [resource, paths] of rec.reads) {
    const declared = projected.get(resource)!;
    for (const path of paths) {
      const enumerated = path.endsWith(' (keys)');
      const parts = fieldPathParts(path.replace(/ \(keys\)$/, '')).filter((p) => p !== '');
      if (!covered(parts, declared, enumerated)) out.push(`${resource}: ${path}`);
    }
  }
  return out.sort();
}

const fixtureDirs = (): string[] =>
  allRules
    .map((rule) => join(FIXTURES, rule.meta.id))
    .filter((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.yaml')));

test('every path a rule reads of a type whose reads declare fields is one of those fields (rule fixtures, example dump)', async () => {
  const rec = recorder();
  const yamlIn = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f));
  for (const dir of fixtureDirs()) {
    for (const file of yamlIn(dir)) {
      for (const now of ['2026-11-22T12:00:00Z', '2027-06-01T00:00:00Z']) await recordReads(allRules, [file], now, rec);
    }
    await recordReads(allRules, yamlIn(dir), '2026-11-22T12:00:00Z', rec);
  }
  await recordReads(allRules, [EXAMPLE_DUMP], '2026-08-02T10:00:00Z', rec);
  const projected = projectedTypes(allRules);
  assert.ok(projected.has('deployments.apps'), 'Deployments are read with declared fields');
  // The Proxy saw the rules read: each projected type was read somewhere beyond its metadata.
  for (const resource of projected.keys()) {
    const read = [...(rec.reads.get(resource) ?? [])].filter((p) => !ALWAYS_KEPT.has(p.split(/[.[ ]/)[0]!));
    assert.ok(read.length > 0, `no fixture made a rule read a field of ${resource} beyond its metadata`);
  }
  assert.deepEqual(undeclared(allRules, rec), [], 'read but not declared in ResourceRead.fields');
});

test('the recorder flags a field read outside the declared ones, an enumeration of a kept object, and passes declared ones', async () => {
  const declares = (fields: string[], check: (deployment: KubeObject) => void): Rule =>
    defineRule({
      meta: {
        id: 'test/field-reads',
        summary: 'reads Deployments',
        severity: 'warning',
        ecosystem: 'test',
        fixable: false,
        reads: { deployments: { resource: 'deployments.apps', allNamespaces: true, fields } },
        reasons: { found: 'found' },
        explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
      },
      check(ctx) {
        for (const d of ctx.list('deployments')) check(d);
        return [];
      },
    });
  const run = async (rule: Rule): Promise<string[]> => {
    const rec = recorder();
    await recordReads([rule], [EXAMPLE_DUMP], '2026-08-02T10:00:00Z', rec);
    return undeclared([rule], rec);
  };
  const spec = (d: KubeObject) => (d as unknown as { spec: Record<string, Record<string, unknown>> }).spec;
  assert.deepEqual(
    await run(
      declares(['spec.replicas', 'spec.template.spec.containers[].image'], (d) => {
        void spec(d).replicas;
        const pod = spec(d).template!.spec as { containers: { image: string }[] };
        for (const c of pod.containers) void c.image;
        void d.metadata.labels;
      }),
    ),
    [],
  );
  assert.deepEqual(
    await run(
      declares(['spec.replicas'], (d) => {
        void spec(d).paused;
      }),
    ),
    ['deployments.apps: spec.paused'],
  );
  assert.deepEqual(
    await run(
      declares(['spec.replicas'], (d) => {
        void Object.keys(spec(d));
      }),
    ),
    // Object.keys asks each key's descriptor too: the keys it saw are read.
    ['deployments.apps: spec (keys)', 'deployments.apps: spec.selector', 'deployments.apps: spec.template'],
  );
});
