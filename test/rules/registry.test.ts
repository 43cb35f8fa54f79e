import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { allRules } from '../../rules/index.ts';
import type { Rule } from '../../src/engine/rule.ts';

const RULES_DIR = join(import.meta.dirname, '..', '..', 'rules');

function ruleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? ruleFiles(join(dir, e.name)) : e.name.endsWith('.ts') && dir !== RULES_DIR ? [join(dir, e.name)] : [],
  );
}

test('every rule file is registered in rules/index.ts, under the id its path gives', async () => {
  const registered = new Set(allRules.map((r) => r.meta.id));
  for (const file of ruleFiles(RULES_DIR)) {
    const mod = (await import(file)) as { default?: Rule };
    if (!mod.default?.meta?.id) continue; // shared helpers
    const id = relative(RULES_DIR, file).replace(/\.ts$/, '');
    assert.equal(mod.default.meta.id, id, `${file} declares the id its path gives`);
    assert.ok(registered.has(id), `${id} is registered in rules/index.ts`);
  }
});

test('rule metadata is complete and ids are unique', () => {
  const ids = allRules.map((r) => r.meta.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const { meta } of allRules) {
    assert.match(meta.id, /^[a-z0-9-]+\/[a-z0-9-]+$/);
    assert.equal(meta.id.split('/')[0], meta.ecosystem);
    assert.ok(meta.summary.length > 0 && meta.summary.length <= 80 && !meta.summary.includes('\n'), `${meta.id} summary is one short line`);
    for (const key of ['detects', 'why', 'evidence'] as const) assert.ok(meta.explain[key].length > 40, `${meta.id} explain.${key}`);
    assert.ok(meta.explain.remediation.length > 0, `${meta.id} has a remediation ladder`);
    assert.ok(
      meta.explain.references.some((r) => /^https:\/\//.test(r)),
      `${meta.id} cites upstream`,
    );
    assert.ok(Object.keys(meta.reads).length > 0, `${meta.id} declares its reads`);
    assert.ok(Object.keys(meta.reasons).length > 0, `${meta.id} declares its reasons`);
    for (const [reason, template] of Object.entries(meta.reasons)) {
      assert.match(reason, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${meta.id} reason ${reason} is kebab-case`);
      assert.ok(template.length > 0 && !template.includes('\n'), `${meta.id} reason ${reason} has a one-line message`);
    }
    for (const read of Object.values(meta.reads)) {
      if (read.resource === 'secrets')
        assert.ok(
          read.metadataOnly || meta.explain.evidence.includes('Secret data'),
          `${meta.id} reads secrets metadata-only or says why not`,
        );
    }
  }
});
