import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { ROOT } from './run-cli.ts';
import { assertKrewIndexRules, type Manifest } from '../krew/manifest-rules.ts';

test('plugin.yaml passes krew-index validation rules', () => {
  const m = load(readFileSync(join(ROOT, 'plugin.yaml'), 'utf8')) as Manifest;
  assertKrewIndexRules(m, /\.(tar\.gz|zip)$/);
  assert.equal(m.metadata.name, 'doctor');
});
