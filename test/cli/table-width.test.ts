// Names never wrap (issue 14): at 80, 100 and 200 columns no table line breaks a rule id or an object name (the
// message wraps instead, as kubectl never wraps a NAME); into a pipe nothing wraps. In-process with a terminal's
// width, and through a real pseudo-terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runMain } from './run-cli.ts';
import { doctorCommand, onTerminal } from './pty.ts';
import { displayWidth } from '../../src/util/terminal.ts';

// The example dump has the names users saw broken: BundleDeployment/cluster-fleet-default-c-abcde-0f1e2d3c4b5a/
// myrepo-apps-nginx under fleet/missing-values-secret is 100 columns with its rule, Application/vela-system/
// addon-fluxcd under kubevela/orphaned-cluster-reference.
const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');
const NOW = ['--now', '2026-08-02T10:00:00Z'];

interface Found {
  rule: string;
  fingerprint: string;
  message: string;
  object: { kind: string; namespace?: string; name: string };
}

async function findings(): Promise<Found[]> {
  const r = await runMain(['--snapshot', EXAMPLE, ...NOW, '-o', 'json']);
  return (JSON.parse(r.stdout) as { findings: Found[] }).findings;
}

const nameOf = (f: Found) => `${f.object.kind}/${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}`;

/** Every finding's row holds its rule id and whole object name (and, wide, its fingerprint) on one line. */
function assertRowsWhole(table: string, all: readonly Found[], wide: boolean, label: string) {
  const lines = table.split('\n');
  for (const f of all) {
    const escape = (text: string) => text.replace(/[/.]/g, '\\$&');
    const shape = new RegExp(`^${escape(f.rule)} +${escape(nameOf(f))}( |$)`);
    const row = lines.find((l) => shape.test(l) && (!wide || l.endsWith(f.fingerprint)));
    assert.ok(row, `${label}: a line holds ${f.rule} and ${nameOf(f)} whole${wide ? ', and its fingerprint' : ''}:\n${table}`);
  }
}

test('at 80, 100 and 200 columns rule ids and object names are whole on their row; messages wrap to the width', async () => {
  const all = await findings();
  assert.ok(
    all.some((f) => f.rule.length + 2 + nameOf(f).length >= 100),
    'a row wider than 80 and 100 columns',
  );
  for (const columns of [80, 100, 200]) {
    for (const output of ['table', 'wide']) {
      const label = `${columns} columns, -o ${output}`;
      const r = await runMain(['--snapshot', EXAMPLE, ...NOW, '-o', output, '--no-color'], undefined, { terminal: { columns } });
      assert.equal(r.code, 1, r.stderr);
      assertRowsWhole(r.stdout, all, output === 'wide', label);
      // Messages (indented lines) and the summary wrap within the terminal.
      for (const line of r.stdout.split('\n').filter((l) => l.startsWith('  ') || /^\d+ findings/.test(l)))
        assert.ok(displayWidth(line) <= columns, `${label}: ${displayWidth(line)} columns: ${line}`);
      // A long message did wrap at 80 columns.
      if (columns === 80)
        assert.ok(
          all.some((f) => !r.stdout.includes(f.message)),
          `${label}: some message wrapped`,
        );
    }
  }
});

test('into a pipe nothing wraps: each message is one line', async () => {
  const all = await findings();
  for (const output of ['table', 'wide']) {
    const r = await runMain(['--snapshot', EXAMPLE, ...NOW, '-o', output]);
    assertRowsWhole(r.stdout, all, output === 'wide', `pipe, -o ${output}`);
    const lines = r.stdout.split('\n');
    // Each message (escaped for the terminal, as all table text is; the example's are plain) is whole on one line.
    for (const f of all)
      assert.ok(
        lines.some((l) => l.startsWith(`  ${f.message}`)),
        `one line: ${f.message}`,
      );
  }
});

test('on a real terminal 80 columns wide, names are whole on their rows and messages wrap', async () => {
  const all = await findings();
  for (const columns of [80, 200]) {
    const pty = onTerminal(doctorCommand(['--snapshot', EXAMPLE, ...NOW, '-o', 'wide', '--no-color']), { columns });
    assert.equal(await pty.exited, 1);
    const screen = pty.screen().replace(/\r\n/g, '\n');
    assertRowsWhole(screen, all, true, `pty ${columns} columns`);
    for (const line of screen.split('\n').filter((l) => l.startsWith('  ')))
      assert.ok(displayWidth(line) <= columns, `pty ${columns}: ${displayWidth(line)} columns: ${line}`);
  }
});
