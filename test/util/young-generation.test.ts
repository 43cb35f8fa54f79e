// capYoungGeneration keeps V8's new space at the cap --max-semi-space-size=8 would set, in a process of its own (heap
// sizes are per process): a workload that grows new space past the cap without it stays at the cap with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NEW_SPACE_CAP_BYTES } from '../../src/util/young-generation.ts';

const MODULE = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'util', 'young-generation.ts')).href;

/** The new space size (bytes) after parsing pages of JSON as a scan does, keeping every 5th object. */
function newSpaceAfterPages(capped: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${capped ? `(await import(${JSON.stringify(MODULE)})).capYoungGeneration();` : ''}
    const page = JSON.stringify({ items: Array.from({ length: 5000 }, (_, i) => ({ metadata: { name: 'cm-' + i, uid: String(i).repeat(20), labels: { a: 'b' } } })) });
    const kept = [];
    for (let p = 0; p < 150; p++) {
      const items = JSON.parse(page).items;
      for (let i = 0; i < items.length; i += 5) kept.push(items[i]);
      await new Promise((r) => setImmediate(r));
    }
    process.stdout.write(String(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('the young generation stops growing at the cap; without it, the same pages grow it past', () => {
  assert.ok(newSpaceAfterPages(false) > NEW_SPACE_CAP_BYTES, 'the workload must grow new space past the cap on its own');
  assert.ok(newSpaceAfterPages(true) <= NEW_SPACE_CAP_BYTES);
});

/**
 * Whether a fresh process accepts a V8 code cache made by a process whose young generation reached the cap, with
 * restoreYoungGenerationGrowth called before the cache was made or not (the npm launcher's code cache is made as a
 * scan exits: src/util/code-cache.ts).
 */
function cacheAcceptedAfterCap(restored: boolean): boolean {
  const source = 'globalThis.f = (n) => [1, 2, 3].map((x) => x * n).join(",");';
  const make = `
    import vm from 'node:vm';
    const young = await import(${JSON.stringify(MODULE)});
    young.capYoungGeneration();
    const script = new vm.Script(${JSON.stringify(source)});
    script.runInThisContext();
    globalThis.f(2);
    const page = JSON.stringify({ items: Array.from({ length: 5000 }, (_, i) => ({ metadata: { name: 'cm-' + i, uid: String(i).repeat(20) } })) });
    const kept = [];
    for (let p = 0; p < 150; p++) {
      const items = JSON.parse(page).items;
      for (let i = 0; i < items.length; i += 5) kept.push(items[i]);
      await new Promise((r) => setImmediate(r));
    }
    ${restored ? 'young.restoreYoungGenerationGrowth();' : ''}
    process.stdout.write(script.createCachedData().toString('base64'));
  `;
  const made = spawnSync(process.execPath, ['--input-type=module', '-e', make], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(made.status, 0, made.stderr);
  const use = `
    const vm = require('node:vm');
    const script = new vm.Script(${JSON.stringify(source)}, { cachedData: Buffer.from(process.argv[1], 'base64') });
    process.stdout.write(String(!script.cachedDataRejected));
  `;
  const used = spawnSync(process.execPath, ['-e', use, made.stdout], { encoding: 'utf8' });
  assert.equal(used.status, 0, used.stderr);
  return used.stdout === 'true';
}

test('a code cache made after the cap is accepted by the next process once the growth factor is put back', () => {
  assert.equal(cacheAcceptedAfterCap(false), false, 'V8 refuses a cache made with the flag the cap changed');
  assert.equal(cacheAcceptedAfterCap(true), true);
});
