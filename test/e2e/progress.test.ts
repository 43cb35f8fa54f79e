// Progress on stderr (issue 14): through a slow link (every request delayed by the fault proxy, so the scan takes
// seconds), a terminal shows "listed N/M resource types, K objects" on one line rewritten in place and erased before
// the report, whatever stdout is; nothing when stderr is not a terminal. No timing is asserted:
// only that the line appears (or not) and is erased.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { runCli } from '../cli/run-cli.ts';
import { doctorCommand, onTerminal } from '../cli/pty.ts';
import { tempDir } from '../temp.ts';
import { createNamespace } from './kube.ts';

const ns = uniqueName('e2e-progress');
let proxy: FaultProxy;
let args: string[];

before(async () => {
  await createNamespace(ns);
  proxy = await startFaultProxy(() => ({ type: 'delay', ms: 400 }));
  // core/stuck-deletion reads every resource type: dozens of lists, 8 at a time, each 0.4 s late.
  args = [
    '--kubeconfig',
    proxy.writeKubeconfig(tempDir('progress')),
    '--context',
    e2e().adminContext,
    '-n',
    ns,
    '--rules',
    'core/stuck-deletion',
    // The harness's aggregated API without a backend: a known gap, accepted.
    '--ignore-gaps',
    'cluster.core.oam.dev/v1alpha1',
  ];
});
after(() => proxy.close());

const PROGRESS = /\r\u001b\[Klisted \d+\/(\d+) resource types, [\d,]+ objects/;

test('a terminal shows the progress on one line rewritten in place, erased before the report', async () => {
  const pty = onTerminal(doctorCommand([...args, '--no-color']), { columns: 100 });
  assert.equal(await pty.exited, 0, pty.screen());
  const screen = pty.screen();
  const drawn = [...screen.matchAll(new RegExp(PROGRESS, 'g'))];
  assert.ok(drawn.length > 0, `a progress line was drawn:\n${JSON.stringify(screen)}`);
  const total = Number(drawn[0]![1]);
  assert.ok(total > 8, `${total} lists: more than one round of 8`);
  // Drawn in place: no line break between the draws, and erased (\r + erase line) before the report's first line.
  const first = drawn[0]!.index!;
  const report = screen.indexOf('No findings');
  assert.ok(report > first, 'the report comes after the progress');
  const between = screen.slice(first, report);
  assert.doesNotMatch(between.replace(/\r\n$/, ''), /\n/, 'progress never starts a new line');
  assert.ok(
    between.endsWith('\r\u001b[K') || /\r\u001b\[K(\r\n)?$/.test(between),
    `erased before the report: ${JSON.stringify(between.slice(-40))}`,
  );
});

test('no progress when stderr is not a terminal; with -o json into a pipe, the terminal still shows it', async () => {
  const piped = await runCli([...args, '-o', 'json']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stderr, '');
  // The JSON goes into a pipe, stderr is the terminal: progress there, erased, and nothing of it in the JSON.
  const pty = onTerminal(`${doctorCommand([...args, '-o', 'json'])} | wc -c`, { columns: 100 });
  assert.equal(await pty.exited, 0, pty.screen());
  assert.match(pty.screen(), PROGRESS);
  assert.match(pty.screen(), /\r\u001b\[K\s*\d+\s*$/, 'erased before wc prints the byte count');
});
