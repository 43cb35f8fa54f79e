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

test('every duration a rule file uses is declared in meta.thresholds, and --min-age overrides are marked', async () => {
  const { readFileSync } = await import('node:fs');
  for (const rule of allRules) {
    const source = readFileSync(join(RULES_DIR, `${rule.meta.id}.ts`), 'utf8');
    const block = /\n {4}thresholds: \{\n([\s\S]*?)\n {4}\},\n/.exec(source)?.[1] ?? '';
    // Durations are named constants (PENDING_MS, STALE_MIN_SECONDS); MINUTE_MS and HOUR_MS are units.
    const used = new Set(
      [...source.matchAll(/\b[A-Z][A-Z0-9_]*_(?:MS|SECONDS)\b/g)].map((m) => m[0]).filter((n) => n !== 'MINUTE_MS' && n !== 'HOUR_MS'),
    );
    for (const name of used)
      assert.match(block, new RegExp(`\\b${name}\\b`), `${rule.meta.id} uses ${name}: declare it in meta.thresholds`);
    const thresholds = Object.values(rule.meta.thresholds ?? {});
    for (const t of thresholds)
      assert.ok(t.ms > 0 && t.describe.length > 10, `${rule.meta.id}: a threshold has a value and says what it decides`);
    if (/\bminAgeMs\b/.test(source))
      assert.ok(
        thresholds.some((t) => t.minAge),
        `${rule.meta.id} reads --min-age: mark the threshold it replaces with minAge: true`,
      );
  }
});
