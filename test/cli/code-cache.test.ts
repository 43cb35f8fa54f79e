// The npm launcher keeps the code a scan compiled for the runs after it (bin/kubectl-doctor, src/util/code-cache.ts):
// written once a scan has run, kept private, used as long as it is the bundle's and intact, and never in the way of
// a run when it is missing, damaged or cannot be written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, runProcess } from './run-cli.ts';
import { tempDir } from '../temp.ts';

const DUMP = join(ROOT, 'examples', 'cluster-dump');

function run(cacheHome: string, args: string[]) {
  return runProcess(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', XDG_CACHE_HOME: cacheHome },
  });
}

const scan = (cacheHome: string) => run(cacheHome, ['--snapshot', DUMP, '-o', 'json', '--now', '2026-06-01T00:00:00Z']);

/** What a scan found (the report without its times). */
const found = (stdout: string): unknown => (JSON.parse(stdout) as { findings: unknown }).findings;

function cacheFiles(cacheHome: string): string[] {
  try {
    return readdirSync(join(cacheHome, 'kubectl-doctor', 'code-cache')).map((name) =>
      join(cacheHome, 'kubectl-doctor', 'code-cache', name),
    );
  } catch {
    return [];
  }
}

test('a scan leaves one private cache file; `version` none; the next scan uses it as it is', async () => {
  const home = tempDir('code-cache');
  // Node's compile cache of earlier versions, beside this one: removed when the cache is written.
  const legacy = join(home, 'kubectl-doctor', 'compile-cache', 'v24.11.1-x64-5f3e2a1b-0');
  mkdirSync(legacy, { recursive: true });
  writeFileSync(join(legacy, 'c1b2.cache'), 'compiled');
  const version = await run(home, ['version']);
  assert.equal(version.code, 0, version.stderr);
  assert.deepEqual(cacheFiles(home), [], 'a run that scanned nothing keeps nothing');

  const first = await scan(home);
  assert.equal(first.code, 1, first.stderr);
  assert.equal(first.stderr, '');
  const [file, ...others] = cacheFiles(home);
  assert.ok(file, 'a cache file after the scan');
  assert.deepEqual(others, []);
  assert.deepEqual(readdirSync(join(home, 'kubectl-doctor')), ['code-cache'], 'the old compile cache is gone');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, 'kubectl-doctor', 'code-cache')).mode & 0o777, 0o700);

  // Used, not made again: V8 refusing it (another flag, another V8) would have the run write it anew.
  const before = statSync(file);
  const second = await scan(home);
  assert.equal(second.code, 1, second.stderr);
  assert.deepEqual(found(second.stdout), found(first.stdout));
  assert.deepEqual(cacheFiles(home), [file]);
  assert.equal(statSync(file).mtimeMs, before.mtimeMs);
  assert.equal(statSync(file).ino, before.ino);
});

test('a damaged or truncated cache is not given to V8: the scan runs as before and writes a good one', async () => {
  const home = tempDir('code-cache');
  const first = await scan(home);
  const [file] = cacheFiles(home);
  assert.ok(file);
  const good = readFileSync(file);
  const damaged = Buffer.from(good);
  damaged[damaged.length >> 1]! ^= 0xff;
  for (const [what, bytes] of [
    ['one byte changed', damaged],
    ['cut short', good.subarray(0, good.length >> 1)],
    ['empty', Buffer.alloc(0)],
  ] as const) {
    writeFileSync(file, bytes);
    const again = await scan(home);
    assert.equal(again.code, 1, `${what}: ${again.stderr}`);
    assert.equal(again.stderr, '', what);
    assert.deepEqual(found(again.stdout), found(first.stdout), what);
    assert.notDeepEqual(readFileSync(file), bytes, `${what}: written anew`);
    const written: number = statSync(file).mtimeMs;
    await scan(home);
    assert.equal(statSync(file).mtimeMs, written, `${what}: and used by the next scan`);
  }
});

test("another bundle's cache is dropped when this one's is written; an unwritable cache directory costs nothing but the cache", async () => {
  const home = tempDir('code-cache');
  await scan(home);
  const [file] = cacheFiles(home);
  assert.ok(file);
  const stale = file.replace(/-[0-9a-f]+-(\d+)$/, '-0-$1');
  writeFileSync(stale, readFileSync(file));
  writeFileSync(file, Buffer.alloc(0));
  await scan(home);
  assert.deepEqual(cacheFiles(home), [file]);

  const notADirectory = join(tempDir('code-cache'), 'file');
  writeFileSync(notADirectory, '');
  const result = await scan(notADirectory);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(found(result.stdout), found((await scan(home)).stdout));
});

test(
  'a cache others could have written is not read: V8 would run its code as this user',
  { skip: process.platform !== 'linux' && 'traced through /proc' },
  async () => {
    const home = tempDir('code-cache');
    assert.equal((await scan(home)).code, 1);
    const [file] = cacheFiles(home);
    assert.ok(file);
    const dir = join(home, 'kubectl-doctor', 'code-cache');
    // The cache files the launcher reads, as a preload sees its readFileSync calls (of a descriptor: Linux's /proc).
    const preload = join(home, 'reads.cjs');
    writeFileSync(
      preload,
      "const fs = require('node:fs'); const read = fs.readFileSync; fs.readFileSync = function (p, ...rest) { const path = typeof p === 'number' ? fs.readlinkSync(`/proc/self/fd/${p}`) : String(p); if (path.includes('code-cache')) process.stderr.write(`read ${path}\\n`); return read.call(this, p, ...rest); };\n",
    );
    const traced = () =>
      runProcess(process.execPath, ['-r', preload, CLI, '--snapshot', DUMP, '-o', 'json', '--now', '2026-06-01T00:00:00Z'], {
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', XDG_CACHE_HOME: home },
      });
    const reads = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('read '));
    assert.deepEqual(reads((await traced()).stderr), [`read ${file}`], 'a cache of this user, writable by no one else, is read');

    // A directory others may write to: not read, not written.
    chmodSync(dir, 0o777);
    const before = statSync(file).mtimeMs;
    const shared = await traced();
    assert.equal(shared.code, 1, shared.stderr);
    assert.deepEqual(reads(shared.stderr), []);
    assert.equal(statSync(file).mtimeMs, before);
    chmodSync(dir, 0o700);

    // A file others may write to: not read, and replaced by this run's own (0600).
    chmodSync(file, 0o666);
    const writable = await traced();
    assert.equal(writable.code, 1, writable.stderr);
    assert.deepEqual(reads(writable.stderr), []);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(reads((await traced()).stderr), [`read ${file}`]);

    // The directory a symbolic link (to one that is this user's and private, even): not read.
    const elsewhere = join(home, 'elsewhere');
    renameSync(dir, elsewhere);
    symlinkSync(elsewhere, dir);
    assert.deepEqual(reads((await traced()).stderr), []);
  },
);

test('the launcher runs a bundle of any text: ASCII read as Latin-1, anything else as UTF-8', async () => {
  const checkout = tempDir('launcher');
  mkdirSync(join(checkout, 'bin'));
  mkdirSync(join(checkout, 'dist'));
  for (const name of ['kubectl-doctor', 'package.json']) copyFileSync(join(ROOT, 'bin', name), join(checkout, 'bin', name));
  const bundle = join(checkout, 'dist', 'kubectl-doctor.cjs');
  const home = tempDir('code-cache');
  for (const text of ['plain ASCII ~', 'micro \u00b5s, mu \u03bcs, check \u2713, emoji \u{1f600}']) {
    // The bundle as the build writes it (each character as is, UTF-8), not as a JavaScript escape.
    writeFileSync(bundle, `process.stdout.write(${JSON.stringify(text)});\n`);
    const r = await runProcess(process.execPath, [join(checkout, 'bin', 'kubectl-doctor')], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', XDG_CACHE_HOME: home },
    });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, text);
  }
});
