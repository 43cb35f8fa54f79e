import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readSnapshotFile, SnapshotSource } from '../src/cluster/snapshot.ts';
import { runScan, type RuleResult, type ScanResult } from '../src/engine/scan.ts';
import type { Finding } from '../src/engine/finding.ts';
import type { Rule } from '../src/engine/rule.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { compareStrings } from '../src/util/collections.ts';

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

/** A finding's plan, a row a step: action type, risk, reversible, a manual step's role, the command. */
export function planRows(finding: Finding): unknown[][] {
  return finding.remediation!.steps.map((s) => [
    s.action.type,
    s.risk,
    s.reversible,
    s.action.type === 'manual' ? (s.action.role ?? 'prerequisite') : '',
    s.command,
  ]);
}

/** A rule for engine tests: it reads `reads` and its findings (none by default) say `{{message}}`. */
export function ruleReading(id: string, reads: Rule['meta']['reads'], check: Rule['check'] = () => []): Rule {
  return {
    meta: {
      id,
      summary: id,
      severity: 'error',
      ecosystem: 'test',
      fixable: false,
      reads,
      reasons: { found: '{{message}}' },
      explain: { detects: '', why: '', evidence: '', remediation: [], references: [] },
    },
    check,
  };
}

/** A fixture set on which a rule must report nothing. */
export interface ValidCase {
  name: string;
  /** Fixture files relative to test/fixtures: `<ecosystem>/<rule>/<case>.yaml`. */
  fixtures: string[];
  now?: string;
  minAgeMs?: number;
  namespace?: string;
  /** The rule's expected status: `pass` unless it is expected to skip (e.g. the product is not installed). */
  status?: 'pass' | 'skipped';
}

/** A finding as a table row: its reason code, `Kind/namespace/name` (or `Kind/name`) and severity. */
export interface ExpectedFinding {
  reason: string;
  object: string;
  severity: Finding['severity'];
}

export interface InvalidCase extends Omit<ValidCase, 'status'> {
  findings: ExpectedFinding[];
}

const FIXTURE_PATH = /^[a-z0-9-]+\/[a-z0-9-]+\/[^/]+\.(ya?ml|json)$/;

function rowOf(f: Finding): ExpectedFinding {
  const { kind, namespace, name } = f.object;
  return { reason: f.reason, object: [kind, namespace, name].filter((x) => x !== undefined).join('/'), severity: f.severity };
}

function order(rows: ExpectedFinding[]): ExpectedFinding[] {
  return [...rows].sort((a, b) => compareStrings(`${a.object}|${a.reason}`, `${b.object}|${b.reason}`));
}

/**
 * A table of cases for one rule, in the spirit of ESLint's RuleTester: every `valid` fixture set yields no finding,
 * every `invalid` one exactly the listed findings (keyed on reason codes, never on wording), and every reason the
 * rule declares is shown by at least one invalid case. Fixtures follow one layout: test/fixtures/<rule-id>/<case>.
 */
export function ruleTester(
  rule: Rule,
  cases: {
    now?: string;
    valid: ValidCase[];
    invalid: InvalidCase[];
    /** Reasons whose case needs objects built in code: the name of the deeper test that shows each. */
    shownElsewhere?: Record<string, string>;
  },
): void {
  const options = (c: ValidCase | InvalidCase) => ({
    now: c.now ?? cases.now,
    ...(c.minAgeMs !== undefined ? { minAgeMs: c.minAgeMs } : {}),
    ...(c.namespace !== undefined ? { namespace: c.namespace } : {}),
  });
  const checkPaths = (c: ValidCase | InvalidCase) => {
    for (const f of c.fixtures) assert.match(f, FIXTURE_PATH, `fixture ${f} is not <ecosystem>/<rule>/<case>.yaml under test/fixtures`);
  };
  describe(`${rule.meta.id} cases`, () => {
    for (const c of cases.valid) {
      test(`valid: ${c.name}`, async () => {
        checkPaths(c);
        const run = await runRule(rule, c.fixtures, options(c));
        assert.deepEqual(run.findings.map(rowOf), [], `expected no finding, got ${run.findings.map((f) => f.message).join(' | ')}`);
        assert.equal(run.result.status, c.status ?? 'pass', run.result.reason);
      });
    }
    for (const c of cases.invalid) {
      test(`invalid: ${c.name}`, async () => {
        checkPaths(c);
        const run = await runRule(rule, c.fixtures, options(c));
        assert.notEqual(run.result.status, 'error', run.result.reason);
        assert.deepEqual(order(run.findings.map(rowOf)), order(c.findings));
      });
    }
    test('every declared reason has an invalid case', () => {
      const shown = new Set([...cases.invalid.flatMap((c) => c.findings.map((f) => f.reason)), ...Object.keys(cases.shownElsewhere ?? {})]);
      const missing = Object.keys(rule.meta.reasons).filter((r) => !shown.has(r));
      assert.deepEqual(missing, [], `reasons without an invalid case: ${missing.join(', ')}`);
    });
  });
}
