import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSnapshotFile, SnapshotSource } from '../../../src/cluster/snapshot.ts';
import { resourceName } from '../../../src/cluster/resources.ts';
import type { ClusterSource, ListOutcome, ListRequest } from '../../../src/cluster/source.ts';
import { runScan } from '../../../src/engine/scan.ts';
import type { Finding } from '../../../src/engine/finding.ts';
import type { Rule } from '../../../src/engine/rule.ts';
import type { KubeObject } from '../../../src/kube/object.ts';
import { FIXTURES, type RuleRun } from '../../rule-tester.ts';

/** The scan clock of every stuck-deletion fixture. */
export const NOW = '2026-11-22T12:00:00Z';

/** Objects of fixture files under test/fixtures/core/stuck-deletion. */
export function load(...names: string[]): KubeObject[] {
  return names.flatMap((n) => readSnapshotFile(join(FIXTURES, 'core', 'stuck-deletion', n)));
}

/** Runs a rule over objects; lists of the resources in `refuse` answer 403 as a live API server would. */
export async function runObjects(
  rule: Rule,
  objects: KubeObject[],
  options: { refuse?: Record<string, string>; minAgeMs?: number; namespace?: string } = {},
): Promise<RuleRun> {
  const inner = new SnapshotSource(objects, options.namespace ? { namespace: options.namespace } : {});
  const refuse = options.refuse ?? {};
  const source: ClusterSource = {
    info: () => inner.info(),
    discover: () => inner.discover(),
    stats: () => inner.stats(),
    async list(request: ListRequest): Promise<ListOutcome> {
      const reason = refuse[resourceName(request.type)];
      return reason ? { ok: false, failure: 'forbidden', reason } : inner.list(request);
    },
  };
  const scan = await runScan(source, {
    rules: [rule],
    now: new Date(NOW),
    minAgeMs: options.minAgeMs,
    namespace: options.namespace,
    concurrency: 4,
  });
  return { result: scan.rules[0]!, findings: scan.findings, heldBack: scan.heldBack };
}

/** The finding about `kind/name`; fails when there is not exactly one. */
export function findingOn(findings: Finding[], kind: string, name: string): Finding {
  const matches = findings.filter((f) => f.object.kind === kind && f.object.name === name);
  assert.equal(
    matches.length,
    1,
    `expected one finding on ${kind}/${name}, got: ${findings.map((f) => `${f.object.kind}/${f.object.name}`).join(', ')}`,
  );
  return matches[0]!;
}

/** A nested evidence value: `ev(f, 'finalizers', 0, 'owner')`. */
export function ev(finding: Finding, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((cur, key) => (cur as Record<string | number, unknown> | undefined)?.[key], finding.evidence);
}

/** Deep-copies a fixture object and applies `change` to the copy. */
export function edit(objects: KubeObject[], kind: string, name: string, change: (o: KubeObject) => void): KubeObject[] {
  return objects.map((o) => {
    if (o.kind !== kind || o.metadata.name !== name) return o;
    const copy = structuredClone(o);
    change(copy);
    return copy;
  });
}

export function risks(finding: Finding): string[] {
  return (finding.remediation?.steps ?? []).map((s) => s.risk);
}

/** ConfigMaps in capi-aws, each stuck on a finalizer of its own that nothing in the cluster owns (one SaaS tenant each). */
export function tenantConfigMaps(n: number, deletionTimestamp: string): KubeObject[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `tenant-${String(i).padStart(4, '0')}`,
      namespace: 'capi-aws',
      uid: `uid-tenant-${i}`,
      resourceVersion: String(9000 + i),
      deletionTimestamp,
      finalizers: [`tenant-${i}.saas.example.io/protect`],
    },
  }));
}
