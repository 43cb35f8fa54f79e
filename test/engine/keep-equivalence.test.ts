// What a scan keeps (the subsets of `*` reads, the fields of reads that declare them, no lists for rules that will
// be skipped) must never change what it finds: every rule over every rule fixture and the example dump, once as a
// scan keeps objects and once keeping every object whole (what a dump keeps), gives the same findings, rule results
// and held-back candidates. A rule that reads something its reads do not declare fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { allRules } from '../../rules/index.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { runScan } from '../../src/engine/scan.ts';
import { ROOT } from '../cli/run-cli.ts';

const FIXTURES = join(ROOT, 'test', 'fixtures');
/** The rule fixtures: test/fixtures/<ecosystem>/<rule>/*.yaml (some rules share another's: core/stuck-deletion's). */
const ruleFixtures = allRules
  .map((rule) => join(FIXTURES, rule.meta.id))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f)),
  );

async function scanOf(paths: string[], everyObject: boolean, now: string): Promise<unknown> {
  const scan = await runScan(SnapshotSource.fromPaths(paths, { complete: true }), {
    rules: allRules,
    now: new Date(now),
    concurrency: 4,
    everyObject,
  });
  return {
    findings: scan.findings,
    rules: scan.rules.map(({ durationMs: _durationMs, ...r }) => r),
    heldBack: scan.heldBack,
    skipped: scan.skippedObjects,
  };
}

test('every rule finds the same over every rule fixture whether the scan keeps subsets or every object', async () => {
  assert.ok(ruleFixtures.length > 50, `only ${ruleFixtures.length} fixture files found`);
  for (const file of ruleFixtures) {
    for (const now of ['2026-11-22T12:00:00Z', '2027-06-01T00:00:00Z']) {
      assert.deepEqual(await scanOf([file], false, now), await scanOf([file], true, now), `${relative(FIXTURES, file)} at ${now}`);
    }
  }
});

test("every rule finds the same over each rule's fixtures together (controllers of one file, stuck objects of another)", async () => {
  const dirs = [...new Set(ruleFixtures.map((f) => dirname(f)))];
  for (const dir of dirs) {
    const files = ruleFixtures.filter((f) => dirname(f) === dir);
    assert.deepEqual(
      await scanOf(files, false, '2026-11-22T12:00:00Z'),
      await scanOf(files, true, '2026-11-22T12:00:00Z'),
      relative(FIXTURES, dir),
    );
  }
});

test('every rule finds the same over the example dump whether the scan keeps subsets or every object', async () => {
  const dump = [join(ROOT, 'examples', 'cluster-dump')];
  const kept = await scanOf(dump, false, '2026-08-02T10:00:00Z');
  assert.ok((kept as { findings: unknown[] }).findings.length > 10);
  assert.deepEqual(kept, await scanOf(dump, true, '2026-08-02T10:00:00Z'));
});
