// The launcher's code cache follows what runs: the first scan of a dump leaves the code a dump scan runs; the first
// scan of a live cluster after it writes the cache again, once, with the live source's code added (HTTP, paging, the
// metadata page reader), which later scans of either kind then use as it is (bin/kubectl-doctor,
// src/util/code-cache.ts; test/cli/code-cache.test.ts covers the rest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, runProcess } from '../cli/run-cli.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { tempDir } from '../temp.ts';
import { createNamespace } from './kube.ts';

test('a live scan adds its code to the cache a dump scan left, once; later scans of either kind use it as it is', async () => {
  const ns = uniqueName('e2e-code-cache');
  await createNamespace(ns);
  const home = tempDir('code-cache');
  const run = (args: string[]) =>
    runProcess(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', XDG_CACHE_HOME: home },
    });
  const snapshotScan = () => run(['--snapshot', join(ROOT, 'examples', 'cluster-dump'), '-o', 'json']);
  // The harness's aggregated API without a backend: a known gap, accepted.
  const liveScan = () =>
    run([
      '--kubeconfig',
      e2e().kubeconfigPath,
      '--context',
      e2e().adminContext,
      '-n',
      ns,
      '-o',
      'json',
      '--ignore-gaps',
      'cluster.core.oam.dev/v1alpha1',
    ]);
  const cache = () => {
    const dir = join(home, 'kubectl-doctor', 'code-cache');
    const names = readdirSync(dir);
    assert.equal(names.length, 1, names.join(', '));
    const { mtimeMs, size } = statSync(join(dir, names[0]!));
    return { mtimeMs, size };
  };

  assert.equal((await snapshotScan()).code, 1);
  const ofDump = cache();
  const live = await liveScan();
  assert.equal(live.code, 0, live.stderr);
  const ofBoth = cache();
  assert.notEqual(ofBoth.mtimeMs, ofDump.mtimeMs, 'written again after the first live scan');
  assert.ok(ofBoth.size > ofDump.size, `holds more code: ${ofBoth.size} against ${ofDump.size} bytes`);
  assert.equal((await liveScan()).code, 0);
  assert.equal((await snapshotScan()).code, 1);
  assert.deepEqual(cache(), ofBoth, 'used as it is by later scans of either kind');
});
