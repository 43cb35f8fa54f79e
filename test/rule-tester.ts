import { join } from 'node:path';
import assert from 'node:assert/strict';
import { readSnapshotFile, SnapshotSource } from '../src/cluster/snapshot.ts';
import { runScan, type RuleResult, type ScanResult } from '../src/engine/scan.ts';
import type { Finding } from '../src/engine/finding.ts';
import type { Rule } from '../src/engine/rule.ts';
import type { KubeObject } from '../src/kube/object.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A coverage document saying a dump is a whole cluster: what a test dump of single objects needs to mean "absent". */
export const COMPLETE_COVERAGE = 'apiVersion: kubectl-doctor/v1\nkind: SnapshotCoverage\ncomplete: true\n';

export interface RuleRun {
  result: RuleResult;
  findings: Finding[];
  /** Candidates the rule held back as younger than its threshold (ctx.heldBack). */
  heldBack: ScanResult['heldBack'];
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
  const source =
    typeof input[0] === 'string'
      ? // Fixtures are whole clusters: every kind they hold is fully listed, and a kind they lack is absent.
        SnapshotSource.fromPaths(
          (input as string[]).map((p) => (p.startsWith('/') ? p : join(FIXTURES, p))),
          { complete: true, ...(options.namespace ? { namespace: options.namespace } : {}) },
        )
      : new SnapshotSource(input as KubeObject[], options.namespace ? { namespace: options.namespace } : {});
  const scan = await runScan(source, {
    rules: [rule],
    now: new Date(options.now ?? '2026-11-22T12:00:00Z'),
    minAgeMs: options.minAgeMs,
    namespace: options.namespace,
    concurrency: 4,
  });
  return { result: scan.rules[0]!, findings: scan.findings, heldBack: scan.heldBack };
}

/** Objects of fixture files (relative to test/fixtures), for tests that edit them before running a rule. */
export function loadFixtures(...names: string[]): KubeObject[] {
  return names.flatMap((n) => readSnapshotFile(join(FIXTURES, n)));
}

/** The one finding of a run; fails listing the messages when there are none or several. */
export function onlyFinding(findings: Finding[]): Finding {
  assert.equal(findings.length, 1, `expected one finding, got ${findings.map((x) => x.message).join(' | ')}`);
  return findings[0]!;
}

/** A value inside a finding's evidence: `evidenceAt(f, 'job', 'name')`. */
export function evidenceAt(finding: Finding, ...path: string[]): unknown {
  return path.reduce<unknown>((cur, key) => (cur as Record<string, unknown> | undefined)?.[key], finding.evidence);
}
