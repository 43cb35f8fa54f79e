import { join } from 'node:path';
import { SnapshotSource } from '../src/cluster/snapshot.ts';
import { runScan, type RuleResult } from '../src/engine/scan.ts';
import type { Finding } from '../src/engine/finding.ts';
import type { Rule } from '../src/engine/rule.ts';
import type { KubeObject } from '../src/kube/object.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export interface RuleRun {
  result: RuleResult;
  findings: Finding[];
}

/**
 * Runs one rule over fixture files (paths relative to test/fixtures, or absolute) or in-memory objects, through
 * the same SnapshotSource and engine a user's `--snapshot` scan uses.
 */
export async function runRule(
  rule: Rule,
  input: string[] | KubeObject[],
  options: { now?: string; minAgeMs?: number; namespace?: string } = {},
): Promise<RuleRun> {
  const source = typeof input[0] === 'string'
    ? SnapshotSource.fromPaths((input as string[]).map((p) => (p.startsWith('/') ? p : join(FIXTURES, p))), options.namespace ? { namespace: options.namespace } : {})
    : new SnapshotSource(input as KubeObject[], options.namespace ? { namespace: options.namespace } : {});
  const scan = await runScan(source, {
    rules: [rule],
    now: new Date(options.now ?? '2026-11-22T12:00:00Z'),
    minAgeMs: options.minAgeMs,
    namespace: options.namespace,
    concurrency: 4,
  });
  return { result: scan.rules[0]!, findings: scan.findings };
}
