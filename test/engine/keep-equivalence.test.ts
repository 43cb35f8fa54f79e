// What a scan keeps (the subsets of `*` reads, the fields of reads that declare them, no lists for rules that will
// be skipped) must never change what it finds: every rule over every rule fixture and the example dump, once as a
// scan keeps objects and once keeping every object whole (what a dump keeps), gives the same findings, rule results
// and held-back candidates. A rule that reads something its reads do not declare fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { allRules } from '../../rules/index.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import type { Rule } from '../../src/engine/rule.ts';
import { runScan } from '../../src/engine/scan.ts';
import { ROOT } from '../cli/run-cli.ts';
import { readsByResource } from './reads.ts';

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

const NOWS = ['2026-11-22T12:00:00Z', '2027-06-01T00:00:00Z'] as const;

async function scanOf(paths: string[], everyObject: boolean, now: string, rules: readonly Rule[] = allRules): Promise<unknown> {
  const scan = await runScan(SnapshotSource.fromPaths(paths, { complete: true }), {
    rules,
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
    for (const now of NOWS) {
      assert.deepEqual(await scanOf([file], false, now), await scanOf([file], true, now), `${relative(FIXTURES, file)} at ${now}`);
    }
  }
});

test("every rule finds the same over each rule's fixtures together (controllers of one file, stuck objects of another)", async () => {
  const dirs = [...new Set(ruleFixtures.map((f) => dirname(f)))];
  for (const dir of dirs) {
    const files = ruleFixtures.filter((f) => dirname(f) === dir);
    assert.deepEqual(await scanOf(files, false, NOWS[0]), await scanOf(files, true, NOWS[0]), relative(FIXTURES, dir));
  }
});

test('every rule finds the same over the example dump whether the scan keeps subsets or every object', async () => {
  const dump = [join(ROOT, 'examples', 'cluster-dump')];
  const kept = await scanOf(dump, false, '2026-08-02T10:00:00Z');
  assert.ok((kept as { findings: unknown[] }).findings.length > 10);
  assert.deepEqual(kept, await scanOf(dump, true, '2026-08-02T10:00:00Z'));
});

/** The types some read declares fields of: a scan projects them only when every read of the type declares them. */
const declared = [...readsByResource(allRules)].filter(([, reads]) => reads.some(({ read }) => read.fields !== undefined));

test('a type one read declares fields of is declared by every read of it (else the scan keeps it whole)', () => {
  assert.ok(declared.length > 0);
  for (const [resource, reads] of declared) {
    const whole = reads.filter(({ read }) => read.fields === undefined).map(({ rule, key }) => `${rule.meta.id} ${key}`);
    assert.deepEqual(whole, [], `${resource}: read whole by ${whole.join(', ')}`);
  }
});

/** allRules with `path` left out of every declaration of `resource` (a path no object has when none is left). */
function withoutField(resource: string, path: string): Rule[] {
  return allRules.map((rule) => {
    const reads = Object.entries(rule.meta.reads);
    if (!reads.some(([, read]) => read.resource === resource)) return rule;
    const changed = reads.map(([key, read]) => {
      if (read.resource !== resource) return [key, read];
      const fields = read.fields!.filter((f) => f !== path);
      return [key, { ...read, fields: fields.length > 0 ? fields : ['left.out'] }];
    });
    return { ...rule, meta: { ...rule.meta, reads: Object.fromEntries(changed) } };
  });
}

// The equivalence above catches a field left out of a declaration only when a fixture uses that field. So each
// declared field must matter: with it left out, some scan of the fixtures (the reading rules' own first) finds
// something else than keeping every object whole. A field no fixture uses fails here: add a fixture that does.
test('every declared field is used by some fixture: leaving it out changes what a scan finds', async () => {
  const cases: { label: string; paths: string[]; now: string }[] = [
    ...ruleFixtures.flatMap((file) => NOWS.map((now) => ({ label: `${relative(FIXTURES, file)} at ${now}`, paths: [file], now }))),
    ...[...new Set(ruleFixtures.map((f) => dirname(f)))].map((dir) => ({
      label: relative(FIXTURES, dir),
      paths: ruleFixtures.filter((f) => dirname(f) === dir),
      now: NOWS[0],
    })),
    { label: 'the example dump', paths: [join(ROOT, 'examples', 'cluster-dump')], now: '2026-08-02T10:00:00Z' },
  ];
  const whole = new Map<(typeof cases)[number], unknown>();
  const unused: string[] = [];
  for (const [resource, reads] of declared) {
    const readers = new Set(reads.map(({ rule }) => join(FIXTURES, rule.meta.id)));
    const ordered = [...cases].sort((a, b) => Number(!readers.has(dirname(a.paths[0]!))) - Number(!readers.has(dirname(b.paths[0]!))));
    for (const path of new Set(reads.flatMap(({ read }) => read.fields!))) {
      const rules = withoutField(resource, path);
      let changed = false;
      for (const c of ordered) {
        if (!whole.has(c)) whole.set(c, await scanOf(c.paths, true, c.now));
        if (!isDeepStrictEqual(await scanOf(c.paths, false, c.now, rules), whole.get(c))) {
          changed = true;
          break;
        }
      }
      if (!changed) unused.push(`${resource} ${path} (declared by ${[...new Set(reads.map(({ rule }) => rule.meta.id))].join(', ')})`);
    }
  }
  assert.deepEqual(unused, [], 'declared fields no fixture uses');
});
