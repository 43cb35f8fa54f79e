// The composition root: which rules ship is chosen in cmd/, so src/ (engine, CLI, reports) never depends on rules/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ROOT } from './run-cli.ts';

/** The relative module specifiers a TypeScript file imports or re-exports, statically or with import(). */
export function importedSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.[^'"]*)\1/gm)) out.push(m[2]!);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('nothing under src/ imports from rules/ (the shipped rules are chosen in cmd/kubectl-doctor.ts)', () => {
  const rulesDir = join(ROOT, 'rules') + sep;
  const offenders: string[] = [];
  for (const file of filesUnder(join(ROOT, 'src'))) {
    for (const specifier of importedSpecifiers(readFileSync(file, 'utf8'))) {
      if (resolve(dirname(file), specifier).startsWith(rulesDir)) offenders.push(`${relative(ROOT, file)} imports ${specifier}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the import scan sees every form of import, so the check above can fail', () => {
  const source = [
    "import { allRules } from '../../rules/index.ts';",
    "import type { Rule } from '../engine/rule.ts';",
    "export { x } from './x.ts';",
    "import './side-effect.ts';",
    "const m = await import('../../rules/lib/age.ts');",
    "import {\n  a,\n  b,\n} from '../../rules/lib/version.ts';",
    "import yargs from 'yargs';",
  ].join('\n');
  assert.deepEqual(importedSpecifiers(source), [
    '../../rules/index.ts',
    '../engine/rule.ts',
    './x.ts',
    './side-effect.ts',
    '../../rules/lib/age.ts',
    '../../rules/lib/version.ts',
  ]);
});

test('the composition root passes the shipped rules to main()', () => {
  const root = readFileSync(join(ROOT, 'cmd', 'kubectl-doctor.ts'), 'utf8');
  assert.ok(importedSpecifiers(root).includes('../rules/index.ts'));
  assert.match(root, /\{ rules: allRules \}/);
});
