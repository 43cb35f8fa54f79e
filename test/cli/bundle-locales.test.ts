// The bundle reads no file outside its package for its messages: yargs' translator (y18n) looked for
// `<locale>.json` two directories above the bundle (scripts/release.ts Y18N_WITHOUT_FILES), where a global npm
// install has `<prefix>/lib/node_modules/locales/`, and whatever it found there replaced yargs' messages or, not
// being JSON, stopped every command with an internal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from '../../scripts/bundle.ts';
import { CLI, runProcess } from './run-cli.ts';
import { tempDir } from '../temp.ts';

test('translations beside the installed package are never read: a broken or hostile one changes nothing', async () => {
  const dir = tempDir('bundle-locales');
  // <dir>/lib/node_modules/kubectl-doctor/{bin,dist}: the layout of `npm install -g`.
  const pkg = join(dir, 'lib', 'node_modules', 'kubectl-doctor');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  copyFileSync(CLI, join(pkg, 'bin', 'kubectl-doctor'));
  copyFileSync(join(CLI, '..', 'package.json'), join(pkg, 'bin', 'package.json'));
  copyFileSync(BUNDLE, join(pkg, 'dist', 'kubectl-doctor.cjs'));
  const locales = join(dir, 'lib', 'node_modules', 'locales');
  mkdirSync(locales);
  const run = (args: string[]) =>
    runProcess(process.execPath, [join(pkg, 'bin', 'kubectl-doctor'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') },
    });
  const hostile = JSON.stringify({ 'Unknown argument: %s': '\u001b]0;owned\u0007 %s', Options: '\u001b[2J' });
  for (const [what, en_US, en] of [
    ['not JSON', 'not json', 'not json'],
    ['hostile', hostile, hostile],
  ]) {
    writeFileSync(join(locales, 'en_US.json'), en_US!);
    writeFileSync(join(locales, 'en.json'), en!);
    const unknown = await run(['--bogus']);
    assert.equal(unknown.code, 2, `${what}: ${unknown.stderr}`);
    assert.match(unknown.stderr, /^error: unknown flag --bogus\n/, what);
    const help = await run(['--help']);
    assert.equal(help.code, 0, `${what}: ${help.stderr}`);
    assert.match(help.stdout, /\nOptions:\n/, what);
    assert.doesNotMatch(`${unknown.stderr}${help.stdout}${help.stderr}`, /\u001b|owned|internal error/, what);
  }
});
