import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRules } from '../../rules/index.ts';
import type { ResourceRead } from '../../src/engine/rule.ts';
import { ROOT } from '../cli/run-cli.ts';

/** The README's table of what a dump must hold per rule, as the rules' reads say it. */
function expectedRows(): string[] {
  const name = (r: ResourceRead) =>
    r.resource === '*'
      ? 'every type'
      : `\`${r.resource}${r.namespace ? ` (in ${r.namespace})` : ''}\`${r.metadataOnly ? ' (metadata)' : ''}`;
  return allRules
    .map((rule) => {
      const reads = Object.values(rule.meta.reads) as ResourceRead[];
      const required = [...new Set(reads.filter((r) => !r.optional).map(name))];
      const optional = [...new Set(reads.filter((r) => r.optional).map(name))];
      return `| \`${rule.meta.id}\` | ${required.join(', ')} | ${optional.join(', ') || '-'} |`;
    })
    .sort();
}

test("README: what a dump must hold for each rule matches the rules' reads", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('| rule | a dump must hold | used when present |'));
  const lines = section.split('\n').slice(2);
  const rows = lines
    .slice(
      0,
      lines.findIndex((l) => !l.startsWith('|')),
    )
    .sort();
  assert.deepEqual(rows, expectedRows());
});
