// A rule's meta.fixable (the FIXABLE column of `kubectl doctor rules`) says the highest risk among the automatic
// steps of the plans it builds. Declared in the rule, checked here against the plans it really builds: over every
// fixture file (with the CRDs beside it) and over the example dump, with every age threshold at zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { allRules } from '../../rules/index.ts';
import { RISKS, type Risk } from '../../src/plan/actions.ts';
import type { Rule } from '../../src/engine/rule.ts';
import { FIXTURES, runRule } from '../rule-tester.ts';
import { ROOT } from '../cli/run-cli.ts';

/** Each fixture file with the CRD files of its directory: the dumps the rules' own tests scan. */
function fixtureDumps(dir: string): string[][] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const crds = entries.filter((e) => e.isFile() && /^crds.*\.ya?ml$/.test(e.name)).map((e) => join(dir, e.name));
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name.startsWith('snapshot') || e.name === 'layouts' ? [] : fixtureDumps(path);
    return /\.ya?ml$/.test(e.name) && !crds.includes(path) ? [[...crds, path]] : [];
  });
}

/** The highest risk of the automatic steps `rule` plans over `dumps`; false when it plans none. */
async function highestPlannedRisk(rule: Rule, dumps: string[][]): Promise<false | Risk> {
  let highest = -1;
  for (const dump of dumps) {
    const { findings } = await runRule(rule, dump, { minAgeMs: 0 });
    for (const f of findings)
      for (const step of f.remediation?.steps ?? [])
        if (step.action.type !== 'manual' && step.action.type !== 'checkpoint') highest = Math.max(highest, RISKS.indexOf(step.risk));
  }
  return highest < 0 ? false : RISKS[highest]!;
}

test("each rule's FIXABLE is the highest risk its plans' automatic steps really take", async () => {
  const dumps = [...fixtureDumps(FIXTURES), [join(ROOT, 'examples', 'cluster-dump')]];
  assert.ok(dumps.length > 50, `${dumps.length} dumps`);
  for (const rule of allRules) {
    assert.equal(
      await highestPlannedRisk(rule, dumps),
      rule.meta.fixable,
      `${rule.meta.id}: meta.fixable says ${rule.meta.fixable}; its plans over the fixtures and the example dump reach the value above`,
    );
  }
});
