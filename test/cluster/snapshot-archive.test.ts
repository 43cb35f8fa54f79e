import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRules } from '../../rules/index.ts';
import { ROOT, runMain } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');

function run(...args: string[]) {
  return runMain(args, allRules);
}

const scan = async (path: string) => {
  const r = await run('--snapshot', path, '-o', 'json', '--now', '2026-11-22T12:00:00Z');
  const report = JSON.parse(r.stdout) as {
    findings: unknown[];
    rules: { id: string; status: string; reason?: string }[];
    complete: boolean;
  };
  return { code: r.code, findings: report.findings, rules: report.rules.map((x) => [x.id, x.status, x.reason]), complete: report.complete };
};

test('a bundle as .tar.gz, .tgz, .tar and .zip gives the same report as the directory', async () => {
  const work = tempDir('archive');
  cpSync(EXAMPLE, join(work, 'cluster-dump'), { recursive: true });
  writeFileSync(join(work, 'cluster-dump', 'notes.txt'), 'not a dump file\n');
  execFileSync('tar', ['czf', join(work, 'bundle.tar.gz'), '-C', work, 'cluster-dump']);
  execFileSync('tar', ['cf', join(work, 'bundle.tar'), '-C', work, 'cluster-dump']);
  cpSync(join(work, 'bundle.tar.gz'), join(work, 'bundle.tgz'));
  execFileSync('zip', ['-qr', join(work, 'bundle.zip'), 'cluster-dump'], { cwd: work });
  const expected = await scan(EXAMPLE);
  assert.ok(expected.findings.length > 0);
  for (const name of ['bundle.tar.gz', 'bundle.tgz', 'bundle.tar', 'bundle.zip']) {
    assert.deepEqual(await scan(join(work, name)), expected, name);
  }
  // Files that are not dumps are listed under -v, not fatal.
  const verbose = await run('--snapshot', join(work, 'bundle.zip'), '-o', 'json', '-v');
  assert.match(verbose.stderr, /not read \(not \.yaml, \.yml or \.json\): .*bundle\.zip:cluster-dump\/notes\.txt/);
});

// Hostile archives, built with Python's zipfile and tarfile (which write what they are told, names and types included).
const HOSTILE = String.raw`
import io, struct, sys, tarfile, zipfile
out = sys.argv[1]
ns = b'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n'

def zip_with(name, entries, patch=None):
    with zipfile.ZipFile(f'{out}/{name}', 'w', zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            z.writestr(info, data)
    if patch:
        data = bytearray(open(f'{out}/{name}', 'rb').read())
        patch(data)
        open(f'{out}/{name}', 'wb').write(data)

def tar_with(name, members, mode='w'):
    with tarfile.open(f'{out}/{name}', mode) as t:
        for info, data in members:
            info.size = len(data) if data is not None else 0
            t.addfile(info, io.BytesIO(data) if data is not None else None)

zip_with('bomb.zip', [('ns.yaml', ns), ('big.yaml', b' ' * 20_000_000)])
def lie(data):
    # Declare big.yaml's uncompressed size 100 bytes in the central directory: it inflates far past that.
    cd = data.rindex(b'PK\x01\x02')
    struct.pack_into('<I', data, cd + 24, 100)
zip_with('liar.zip', [('big.yaml', b' ' * 5_000_000)], lie)
zip_with('dotdot.zip', [('ok/ns.yaml', ns), ('ok/../../evil.yaml', ns)])
link = zipfile.ZipInfo('link.yaml'); link.create_system = 3; link.external_attr = 0o120777 << 16
zip_with('symlink.zip', [('ns.yaml', ns), (link, b'/etc/passwd')])
zip_with('many.zip', [(f'e{i}.yaml', b'') for i in range(60_000)])

def ti(name, type=tarfile.REGTYPE, linkname=''):
    t = tarfile.TarInfo(name); t.type = type; t.linkname = linkname; return t
tar_with('bomb.tar.gz', [(ti('ns.yaml'), ns), (ti('big.yaml'), b' ' * 20_000_000)], 'w:gz')
tar_with('dotdot.tar.gz', [(ti('../evil.yaml'), ns)], 'w:gz')
tar_with('absolute.tar', [(ti('/etc/evil.yaml'), ns)])
tar_with('symlink.tgz', [(ti('ns.yaml'), ns), (ti('dump/link.yaml', tarfile.SYMTYPE, '/etc/passwd'), None)], 'w:gz')
tar_with('hardlink.tar', [(ti('ns.yaml'), ns), (ti('hard.yaml', tarfile.LNKTYPE, 'ns.yaml'), None)])
tar_with('fifo.tar', [(ti('pipe.yaml', tarfile.FIFOTYPE), None)])
tar_with('many.tar.gz', [(ti(f'e{i}.yaml'), b'') for i in range(60_000)], 'w:gz')
open(f'{out}/garbage.tgz', 'wb').write(b'\0' * 100)
`;

test('hostile archives are refused with one line naming the entry, exit 2', async () => {
  const work = tempDir('archive-hostile');
  execFileSync('python3', ['-c', HOSTILE, work]);
  const cases: [string, RegExp][] = [
    ['bomb.zip', /bomb\.zip: entry big\.yaml: the entries uncompress to more than 4194304 bytes/],
    ['liar.zip', /liar\.zip: entry big\.yaml: inflates past its declared size/],
    ['dotdot.zip', /dotdot\.zip: entry ok\/\.\.\/\.\.\/evil\.yaml: a path that leaves the archive/],
    ['symlink.zip', /symlink\.zip: entry link\.yaml: a symbolic link/],
    ['many.zip', /many\.zip: more than 50000 entries/],
    ['bomb.tar.gz', /bomb\.tar\.gz: uncompresses to more than 4194304 bytes/],
    ['dotdot.tar.gz', /dotdot\.tar\.gz: entry \.\.\/evil\.yaml: a path that leaves the archive/],
    ['absolute.tar', /absolute\.tar: entry \/etc\/evil\.yaml: an absolute path/],
    ['symlink.tgz', /symlink\.tgz: entry dump\/link\.yaml: a symbolic link/],
    ['hardlink.tar', /hardlink\.tar: entry hard\.yaml: a hard link/],
    ['fifo.tar', /fifo\.tar: entry pipe\.yaml: not a regular file/],
    ['many.tar.gz', /many\.tar\.gz: more than 50000 entries/],
    ['garbage.tgz', /garbage\.tgz: not a gzip file/],
  ];
  for (const [name, pattern] of cases) {
    // Most with a 1 MiB limit (archives: 4 MiB), so the bombs stay small; the entry counts need the default.
    const r = await run('--snapshot', join(work, name), ...(name.startsWith('many') ? [] : ['--snapshot-max-file-size', '1Mi']));
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^error: snapshot /, name);
    assert.match(r.stderr, pattern, name);
  }
});
