// --fix on a real terminal (a pseudo-terminal from script(1)), as a person uses it: answers are echoed, q and
// Ctrl-C end the run with the documented exit codes, destructive steps get their own question naming the object,
// and with stdout piped (`--fix | tee log`) the questions still come on the terminal.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../src/plan/command.ts';
import { e2e, uniqueName } from '../harness/env.ts';
import { onTerminal } from '../cli/pty.ts';
import { ROOT } from '../cli/run-cli.ts';
import { create, createNamespace, exists, read } from './kube.ts';
import { LABEL } from './labelled-rule.ts';

const temp = mkdtempSync(join(tmpdir(), 'doctor-tty-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const cm = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });

async function brokenNamespace(...names: string[]): Promise<string> {
  const ns = uniqueName('e2e-tty');
  await createNamespace(ns);
  for (const name of names) await create({ ...cm(ns, name), metadata: { name, namespace: ns, labels: { [LABEL]: 'broken' } } });
  return ns;
}

/** The doctor with the test rule, on a terminal; `pipeTo` pipes its stdout into a file, as `| tee` would. */
function doctorOnTerminal(ns: string, args: string[], pipeTo?: string) {
  const { kubeconfigPath, adminContext } = e2e();
  const words = [
    process.execPath,
    join(ROOT, 'test/e2e/doctor-with-test-rule.ts'),
    '--kubeconfig',
    kubeconfigPath,
    '--context',
    adminContext,
    '-n',
    ns,
    '--fix',
    '--backup-dir',
    join(temp, uniqueName('run')),
    ...args,
  ]
    .map(shellQuote)
    .join(' ');
  return onTerminal(pipeTo ? `${words} | cat > ${shellQuote(pipeTo)}; exit "\${PIPESTATUS[0]}"` : words, {
    env: { ...process.env, HOME: temp },
  });
}

/** A question as the terminal shows it: wrapped to its width, so any space may be a line break. */
const asked = (text: string, end = '') => new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/ /g, '\\s+') + end);

const label = async (ns: string, name: string) => (await read(cm(ns, name))).metadata.labels?.[LABEL];

test('answers are echoed; n declines one finding, q ends the run with exit 1 and leaves the rest', async () => {
  const ns = await brokenNamespace('a', 'b', 'c');
  const pty = doctorOnTerminal(ns, []);
  let at = await pty.waitFor(asked(`Apply this plan to ConfigMap ${ns}/a? [y]es/[n]o/[a]ll/[q]uit: `, '$'));
  pty.type('n\r');
  at = await pty.waitFor(/\[q\]uit: n\s/, 0); // the terminal shows the answer typed
  at = await pty.waitFor(asked(`Apply this plan to ConfigMap ${ns}/b?`), at);
  pty.type('q\r');
  assert.equal(await pty.exited, 1, pty.screen());
  assert.match(pty.screen(), /Fix: 1 not-attempted, 2 declined\./, 'a and b were answered no and q, c was never asked');
  for (const name of ['a', 'b', 'c']) assert.equal(await label(ns, name), 'broken', name);
});

test('Ctrl-C at a question ends the run with exit 130, nothing written, and says so', async () => {
  const ns = await brokenNamespace('a');
  const pty = doctorOnTerminal(ns, []);
  await pty.waitFor(/Apply this plan to ConfigMap .*\? \[y\]es/);
  pty.type('\u0003');
  assert.equal(await pty.exited, 130, pty.screen());
  assert.match(pty.screen(), /Interrupted\./);
  assert.equal(await label(ns, 'a'), 'broken');
});

test('a destructive step is asked about on its own, naming the object, even after "all"', async () => {
  const ns = await brokenNamespace('a', 'b');
  const pty = doctorOnTerminal(ns, ['--allow=destructive']);
  let at = await pty.waitFor(asked(`Apply this plan to ConfigMap ${ns}/a? [y]es/[n]o/[a]ll/[q]uit: `, '$'));
  pty.type('a\r');
  at = await pty.waitFor(
    asked(`Step 2 (destructive, cannot be undone) on ConfigMap ${ns}/a: delete. Run it? [y]es/[n]o/[q]uit: `, '$'),
    at,
  );
  pty.type('n\r');
  at = await pty.waitFor(asked(`Step 2 (destructive, cannot be undone) on ConfigMap ${ns}/b: delete. Run it?`), at);
  pty.type('y\r');
  const code = await pty.exited;
  assert.equal(code, 0, pty.screen());
  assert.equal(await exists(cm(ns, 'a')), true, 'declined: not deleted');
  assert.equal(await label(ns, 'a'), 'fixed', 'the safe step before it ran');
  assert.equal(await exists(cm(ns, 'b')), false, 'confirmed: deleted');
});

test('with stdout piped (--fix | tee) the question comes on the terminal and the log records the answer', async () => {
  const ns = await brokenNamespace('a');
  const log = join(temp, `${ns}.log`);
  const pty = doctorOnTerminal(ns, [], log);
  await pty.waitFor(/Apply this plan to ConfigMap .*\/a\? \[y\]es/);
  pty.type('y\r');
  assert.equal(await pty.exited, 0, pty.screen());
  assert.equal(await label(ns, 'a'), 'fixed');
  const text = readFileSync(log, 'utf8');
  assert.match(text, /\[1\/1\] ERROR {2}e2e\/labelled-configmap {2}ConfigMap/);
  assert.match(text, /Apply this plan to ConfigMap .*\/a\? -> yes/);
  assert.match(text, /Fix: 1 fixed\./);
  assert.doesNotMatch(text, /\[y\]es\/\[n\]o/, 'the question itself went to the terminal, not into the log');
});
