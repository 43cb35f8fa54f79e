// Packaging end to end: the release build (scripts/release.ts), the single executable it makes, a real krew
// install of its archive through real kubectl plugin discovery and completion, and the npm package.
//
// The suite builds linux/amd64 only (the platform that can run here); KUBECTL_DOCTOR_RELEASE_PLATFORMS=all builds
// every platform (downloads the other platforms' Node from the npm registry on first use).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { load } from 'js-yaml';
import { ROOT, runProcess, type CliResult } from '../cli/run-cli.ts';
import { e2e } from '../harness/env.ts';
import { ENV_KUBECTL } from '../harness/global-setup.ts';
import { ensureKubectl } from '../harness/build.ts';
import { ensureKrew } from '../krew/build.ts';
import { assertKrewIndexRules, type Manifest } from '../krew/manifest-rules.ts';
import { archiveName, renderManifest, TARGETS, type ReleaseResult } from '../../scripts/release.ts';
import { KUBECTL_HELPER } from '../../src/cli/completion.ts';
import { allRules } from '../../rules/index.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');
const PLATFORMS = process.env['KUBECTL_DOCTOR_RELEASE_PLATFORMS'] ?? 'linux/amd64';

const run = runProcess;

const PUBLISHED = /^https:\/\/.*\.(tar\.gz|zip)$/;
const LOCAL = /^file:\/\/\/.*\.(tar\.gz|zip)$/;

let out: string;
let result: ReleaseResult;
let manifest: Manifest;
let linuxArchive: string;
const scratch = mkdtempSync(join(tmpdir(), 'doctor-release-test-'));

before(
  async () => {
    out = join(scratch, 'release');
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'release.ts'), '--out', out, '--platforms', PLATFORMS], {
      timeoutMs: 900_000,
    });
    assert.equal(r.code, 0, `release build failed:\n${r.stderr}`);
    result = JSON.parse(r.stdout) as ReleaseResult;
    manifest = load(readFileSync(result.manifest, 'utf8')) as Manifest;
    linuxArchive = join(out, 'kubectl-doctor_linux_amd64.tar.gz');
  },
  { timeout: 900_000 },
);

after(() => rmSync(scratch, { recursive: true, force: true }));

test('the release build writes the archives and a plugin.yaml whose version, URIs and sha256 sums match them', (t) => {
  t.diagnostic(
    `release build ${result.seconds.total.toFixed(1)} s; bundle ${(result.bundle.bytes / 1e6).toFixed(2)} MB; ` +
      result.archives
        .map((a) => `${a.platform}: archive ${(a.archiveBytes / 1e6).toFixed(1)} MB, binary ${(a.binaryBytes / 1e6).toFixed(1)} MB`)
        .join('; '),
  );
  const wanted = PLATFORMS === 'all' ? TARGETS.map((x) => `${x.os}/${x.arch}`) : PLATFORMS.split(',');
  assert.deepEqual(result.archives.map((a) => a.platform).sort(), [...wanted].sort());
  // Built without --base-url: a manifest for local installs, naming the archives as built, never a URL that does not exist.
  assertKrewIndexRules(manifest, LOCAL);
  assert.match(readFileSync(result.manifest, 'utf8'), /^# .*for local installs only/);
  assert.equal(manifest.spec.homepage, pathToFileURL(ROOT).href);
  assert.equal(manifest.metadata.name, 'doctor');
  assert.equal(manifest.spec.version, `v${VERSION}`);
  assert.deepEqual(
    manifest.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`).sort(),
    [...wanted].sort(),
  );
  const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
  for (const p of manifest.spec.platforms) {
    const file = p.uri.split('/').pop()!;
    assert.equal(p.uri, pathToFileURL(join(out, file)).href);
    const sha = createHash('sha256')
      .update(readFileSync(join(out, file)))
      .digest('hex');
    assert.equal(p.sha256, sha, `sha256 of ${file}`);
    assert.ok(sums.includes(`${sha}  ${file}\n`));
    // The archive holds exactly what the manifest extracts.
    const listing = file.endsWith('.zip')
      ? spawnSync('unzip', ['-Z1', join(out, file)], { encoding: 'utf8' }).stdout
      : spawnSync('tar', ['-tzf', join(out, file)], { encoding: 'utf8' }).stdout;
    assert.deepEqual(listing.trim().split('\n').sort(), p.files.map((f) => f.from).sort(), `contents of ${file}`);
  }
  // Unix archives keep the executable bits.
  const modes = spawnSync('tar', ['-tvzf', linuxArchive], { encoding: 'utf8' }).stdout;
  assert.match(modes, /^-rwxr-xr-x .* kubectl-doctor$/m);
  assert.match(modes, /^-rwxr-xr-x .* kubectl_complete-doctor$/m);
});

test('the generated manifest covers all five platforms when all are built, and follows the template', () => {
  const template = readFileSync(join(ROOT, 'plugin.yaml'), 'utf8');
  const fake = TARGETS.map((x, i) => ({ platform: `${x.os}/${x.arch}`, archive: `/x/${archiveName(x)}`, sha256: String(i).repeat(64) }));
  const base = 'https://github.com/example-org/kubectl-doctor/releases/download/v1.2.3';
  const m = load(renderManifest(template, '1.2.3', fake, { published: { baseUrl: base } })) as Manifest;
  assertKrewIndexRules(m, PUBLISHED);
  assert.equal(m.spec.homepage, 'https://github.com/example-org/kubectl-doctor');
  assert.equal(m.spec.version, 'v1.2.3');
  assert.equal(m.spec.platforms.length, 5);
  for (const [i, p] of m.spec.platforms.entries()) {
    const f = fake.find((a) => a.platform === `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`)!;
    assert.equal(p.sha256, f.sha256, `platform ${i}`);
    assert.ok(p.uri.endsWith(`/releases/download/v1.2.3/${f.archive.split('/').pop()}`), p.uri);
  }
  const withBase = load(
    renderManifest(template, '1.2.3', fake.slice(0, 1), {
      published: { baseUrl: 'https://example.test/dl/', homepage: 'https://example.test/' },
    }),
  ) as Manifest;
  assert.deepEqual(
    withBase.spec.platforms.map((p) => p.uri),
    ['https://example.test/dl/kubectl-doctor_linux_amd64.tar.gz'],
  );
  // A published manifest needs a real place: https, and a homepage (derived only from a GitHub release URL).
  assert.throws(() => renderManifest(template, '1.2.3', fake, { published: { baseUrl: 'https://example.test/dl' } }), /--homepage/);
  assert.throws(() => renderManifest(template, '1.2.3', fake, { published: { baseUrl: 'http://example.test/dl' } }), /https/);
  // The template itself points nowhere real: its placeholders are replaced in every generated manifest.
  assert.ok(!/https:\/\/github\.com/.test(template));
  // The caveats tell users how to get kubectl completion, with the same helper the archive carries.
  assert.match(m.spec.caveats ?? '', /kubectl doctor completion kubectl > "\$\{KREW_ROOT:-\$HOME\/\.krew\}\/bin\/kubectl_complete-doctor"/);
});

test('the single executable runs with nothing but its own folder on PATH, and without a network', async (t) => {
  const dir = join(scratch, 'sea');
  mkdirSync(dir);
  assert.equal(spawnSync('tar', ['-xzf', linuxArchive, '-C', dir]).status, 0);
  assert.deepEqual(readdirSync(dir).sort(), ['LICENSE', 'kubectl-doctor', 'kubectl_complete-doctor']);
  // Its code cache (bin/kubectl-doctor, the binary's main) in the test's scratch, not the user's cache directory.
  const codeCache = join(scratch, 'sea-cache');
  const env = { PATH: dir, XDG_CACHE_HOME: codeCache };
  const bin = join(dir, 'kubectl-doctor');
  assert.notEqual(spawnSync('/bin/sh', ['-c', 'command -v node'], { env }).status, 0, 'no node on PATH');

  const version = await run(bin, ['version'], { env });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `kubectl-doctor v${VERSION}\n`, 'the version baked into the bundle');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await run(bin, ['version'], { env })).ms);
  t.diagnostic(
    `SEA version startup: median ${times.sort((a, b) => a - b)[2]!.toFixed(0)} ms (${times.map((x) => x.toFixed(0)).join(', ')})`,
  );

  const scan = await run(bin, ['--snapshot', EXAMPLE, '-o', 'json'], { env });
  assert.equal(scan.code, 1, scan.stderr);
  const report = JSON.parse(scan.stdout) as {
    metadata: { toolVersion: string };
    rules: { id: string; status: string }[];
    findings: unknown[];
  };
  assert.equal(report.metadata.toolVersion, VERSION);
  assert.deepEqual(
    report.rules
      .filter((r) => r.status === 'fail')
      .map((r) => r.id)
      .sort(),
    allRules.map((r) => r.meta.id).sort(),
    'every rule fails on the example dump',
  );

  const table = await run(bin, ['--snapshot', EXAMPLE, '--no-color'], { env });
  assert.equal(table.code, 1);
  assert.match(table.stdout, /core\/stuck-deletion/);

  // The scans left the code they compiled, once, for the binary (not npm's) to start from; the next scan uses it.
  const cacheDir = join(codeCache, 'kubectl-doctor', 'code-cache');
  const cached = readdirSync(cacheDir);
  assert.equal(cached.length, 1, cached.join(', '));
  assert.match(cached[0]!, /-sea-[0-9a-f]+-\d+$/);
  const made = statSync(join(cacheDir, cached[0]!)).mtimeMs;
  assert.equal((await run(bin, ['--snapshot', EXAMPLE, '-o', 'json'], { env })).code, 1);
  assert.equal(statSync(join(cacheDir, cached[0]!)).mtimeMs, made, 'used as it is: V8 refusing it would have it written anew');

  // No network at start: in a network namespace with no interfaces (root, or unprivileged user namespaces).
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p));
  const netns = unshare ? spawnSync(unshare, ['-rn', '/bin/true']) : undefined;
  if (!unshare || netns?.status !== 0) {
    t.diagnostic('unshare -rn is not available here: the no-network run is skipped');
  } else {
    const offline = await run(unshare, ['-rn', bin, 'version'], { env });
    assert.equal(offline.stdout, `kubectl-doctor v${VERSION}\n`, offline.stderr);
    const offlineScan = await run(unshare, ['-rn', bin, '--snapshot', EXAMPLE, '-o', 'json'], { env });
    assert.equal(offlineScan.code, 1, offlineScan.stderr);
  }
});

test(
  'krew installs the archive from the generated manifest; kubectl runs and completes `kubectl doctor`',
  { timeout: 600_000 },
  async (t) => {
    const started = performance.now();
    const [krew, kubectl] = await Promise.all([
      ensureKrew(),
      process.env[ENV_KUBECTL] ? Promise.resolve(process.env[ENV_KUBECTL]!) : ensureKubectl(),
    ]);
    const home = join(scratch, 'home');
    const tools = join(scratch, 'tools');
    const krewRoot = join(scratch, 'krew-root');
    mkdirSync(home);
    mkdirSync(tools);
    symlinkSync(kubectl, join(tools, 'kubectl'));
    symlinkSync(krew, join(tools, 'kubectl-krew'));
    const { kubeconfigPath, adminContext, limitedContext } = e2e();
    // No node on PATH and no system directories: only kubectl, krew and what krew installs.
    const env = { PATH: `${join(krewRoot, 'bin')}:${tools}`, HOME: home, KREW_ROOT: krewRoot, KUBECONFIG: kubeconfigPath };
    const kc = (...args: string[]) => run(join(tools, 'kubectl'), args, { env });

    const install = await kc('krew', 'install', `--manifest=${result.manifest}`, `--archive=${linuxArchive}`);
    assert.equal(install.code, 0, `krew install failed:\n${install.stdout}\n${install.stderr}`);
    assert.match(install.stdout + install.stderr, /Installed plugin: doctor/);
    assert.match(install.stdout + install.stderr, /kubectl_complete-doctor/, 'krew shows the caveats');
    // (`krew list` needs the default index, a git clone of krew-index: not here. The receipt is what it lists.)
    const receipt = load(readFileSync(join(krewRoot, 'receipts', 'doctor.yaml'), 'utf8')) as Manifest;
    assert.equal(receipt.spec.version, `v${VERSION}`);
    const plugins = await kc('plugin', 'list');
    assert.ok(plugins.stdout.includes(join(krewRoot, 'bin', 'kubectl-doctor')), plugins.stdout + plugins.stderr);

    const version = await kc('doctor', 'version');
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `kubectl-doctor v${VERSION}\n`);
    const scan = await kc('doctor', '--snapshot', EXAMPLE, '-o', 'json');
    assert.equal(scan.code, 1, `the exit code passes through kubectl: ${scan.stderr}`);
    assert.ok((JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length > 0);
    // A live scan through the bundled client (loaded lazily inside the single executable).
    const live = await kc(
      'doctor',
      '--context',
      adminContext,
      '--rules',
      'core/namespace-stuck-terminating',
      '-o',
      'json',
      '--request-timeout',
      '30s',
    );
    // (3: the harness serves an unavailable aggregated API on purpose, so a live scan is incomplete.)
    assert.ok(live.code === 0 || live.code === 1 || live.code === 3, `exit ${live.code}: ${live.stderr}${live.stdout.slice(0, 2000)}`);
    const liveReport = JSON.parse(live.stdout) as { source: { type: string; server: string }; rules: { id: string; status: string }[] };
    assert.equal(liveReport.source.type, 'live');
    assert.equal(liveReport.source.server, e2e().server);
    assert.deepEqual(
      liveReport.rules.map((r) => r.id),
      ['core/namespace-stuck-terminating'],
    );
    // partial, not pass, when nothing is found: the rule reads every type, and the unavailable API is a gap.
    assert.ok(['partial', 'fail'].includes(liveReport.rules[0]!.status), `rule status ${liveReport.rules[0]!.status}`);

    // Completion: without the helper on PATH kubectl has nothing to offer for the plugin's arguments...
    const complete = (...words: string[]) => kc('__complete', 'doctor', ...words);
    const candidates = (r: CliResult) =>
      r.stdout
        .trimEnd()
        .split('\n')
        .filter((l) => !l.startsWith(':'))
        .map((l) => l.split('\t')[0]);
    const without = await complete('--rules', 'core/s');
    assert.deepEqual(candidates(without), []);
    // ...with the helper from the installed archive on PATH (as the caveats say), kubectl asks it.
    const helper = join(krewRoot, 'store', 'doctor', `v${VERSION}`, 'kubectl_complete-doctor');
    assert.equal(readFileSync(helper, 'utf8'), KUBECTL_HELPER);
    copyFileSync(helper, join(tools, 'kubectl_complete-doctor'));
    spawnSync('chmod', ['+x', join(tools, 'kubectl_complete-doctor')], { env: { PATH: '/usr/bin:/bin' } });

    const rules = await complete('--rules', 'core/s');
    assert.deepEqual(candidates(rules), ['core/stuck-deletion']);
    assert.match(rules.stdout, /\n:4\n$/, 'the directive reaches kubectl (NoFileComp)');
    assert.deepEqual(candidates(await complete('ex')), ['explain']);
    assert.deepEqual(
      candidates(await complete('explain', 'cluster-api/')),
      allRules.map((r) => r.meta.id).filter((i) => i.startsWith('cluster-api/')),
    );
    assert.ok(candidates(await complete('--fail')).includes('--fail-on'));
    const contexts = candidates(await complete('--context', ''));
    assert.ok(contexts.includes(adminContext), `contexts: ${contexts.join(' ')}`);
    if (limitedContext) assert.ok(contexts.includes(limitedContext));
    // Namespaces come live from the API server of the context given on the command line.
    const namespaces = candidates(await complete('--context', adminContext, '-n', 'kube-'));
    assert.ok(namespaces.includes('kube-system') && namespaces.includes('kube-public'), `namespaces: ${namespaces.join(' ')}`);
    assert.ok(namespaces.every((n) => n!.startsWith('kube-')));
    t.diagnostic(`krew install test ${((performance.now() - started) / 1000).toFixed(1)} s (krew ${krew})`);
  },
);

test('npm pack: only what the package needs; npx kubectl-doctor runs it', { timeout: 600_000 }, async () => {
  const dest = join(scratch, 'pack');
  mkdirSync(dest);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', dest], { timeoutMs: 300_000 });
  assert.equal(pack.code, 0, pack.stderr);
  const info = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[])[0]!;
  const paths = info.files.map((f) => f.path);
  assert.ok(
    paths.includes('bin/kubectl-doctor') &&
      paths.includes('dist/kubectl-doctor.cjs') &&
      paths.includes('LICENSE') &&
      paths.includes('package.json'),
  );
  assert.ok(paths.includes('schema/report.schema.json'));
  const unexpected = paths.filter((p) => !/^(bin\/|dist\/kubectl-doctor\.cjs$|schema\/|README\.md$|LICENSE$|package\.json$)/.test(p));
  assert.deepEqual(unexpected, [], 'no tests, fixtures, sources, examples or release archives');
  // By path segment and archive type.
  assert.deepEqual(
    paths.filter((p) => /(^|\/)(test|fixtures?|examples?)(\/|$)|\.(tar\.gz|tgz|zip)$/.test(p)),
    [],
  );

  const project = join(scratch, 'npx');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{"name":"npx-probe","private":true}\n');
  const npmEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, XDG_CACHE_HOME: join(scratch, 'npx-cache') };
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dest, info.filename)], {
    cwd: project,
    env: npmEnv,
    timeoutMs: 300_000,
  });
  assert.equal(install.code, 0, install.stderr);
  const version = await run('npx', ['--no-install', 'kubectl-doctor', 'version'], { cwd: project, env: npmEnv });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `kubectl-doctor v${VERSION}\n`);
  const scan = await run('npx', ['--no-install', 'kubectl-doctor', '--snapshot', EXAMPLE, '-o', 'json'], { cwd: project, env: npmEnv });
  assert.equal(scan.code, 1, scan.stderr);
  assert.ok((JSON.parse(scan.stdout) as { findings: unknown[] }).findings.length > 0);
});
