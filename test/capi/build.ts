// Builds the Cluster API core manager (sigs.k8s.io/cluster-api/core, the version go.mod pins) and the small
// `supervise` wrapper (./supervise) once, into a cache directory outside git, beside the manifests of the same release:
//
//   ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/capi/<key>/manager
//                                                       supervise
//                                                       config/crd/bases/*.yaml       the release's CRDs
//                                                       config/crd/patches/*.yaml     their conversion-webhook patches
//                                                       config/webhook/manifests.yaml its admission webhooks
//
// <key> is a short sha256 over go.mod, go.sum, supervise/*.go and the build flags, so a new release builds anew and a
// warm run reuses everything. The manifests are copied from the module cache (`go mod download -json`) before the
// binaries, and the manager is renamed into place last: it marks a complete entry.
//
// Run directly to pre-build (e.g. in CI) and print the directory:  node test/capi/build.ts
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildKey,
  buildWhenRun,
  doctorCacheDir,
  goBuild,
  pinnedModuleVersion,
  pruneOtherBuilds,
  versionLdflags,
} from '../harness/go-build.ts';

export const capiModuleDir = dirname(fileURLToPath(import.meta.url));
const CAPI_MODULE = 'sigs.k8s.io/cluster-api';
const GO_MISSING = 'Go is needed to build the Cluster API manager for the Cluster API end-to-end tests, but `go` is not on PATH';

/** The Cluster API release pinned in go.mod, e.g. "v1.14.2". */
export function pinnedCapiVersion(): string {
  return pinnedModuleVersion(capiModuleDir, CAPI_MODULE);
}

/** What the release's own build (hack/scripts/release/version.sh) stamps into sigs.k8s.io/cluster-api/version. */
function ldflags(): string {
  return versionLdflags('sigs.k8s.io/cluster-api/version', pinnedCapiVersion());
}

function capiBuildKey(): string {
  const supervise = readdirSync(join(capiModuleDir, 'supervise'))
    .filter((f) => f.endsWith('.go'))
    .sort()
    .map((f) => `supervise/${f}`);
  return buildKey(capiModuleDir, ['go.mod', 'go.sum', ...supervise], ldflags());
}

export interface CapiBuild {
  version: string;
  manager: string;
  supervise: string;
  /** config/ of the release: crd/bases, crd/patches, webhook/manifests.yaml. */
  configDir: string;
}

function log(message: string): void {
  process.stderr.write(`[capi] ${message}\n`);
}

/** The module's directory in the Go module cache, downloading it first when missing. */
async function moduleSourceDir(): Promise<string> {
  const out = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn('go', ['mod', 'download', '-json', CAPI_MODULE], {
      cwd: capiModuleDir,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(GO_MISSING) : err));
    child.on('close', (code) =>
      code === 0 ? resolvePromise(stdout) : reject(new Error(`go mod download ${CAPI_MODULE} failed: ${stdout}${stderr}`)),
    );
  });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download ${CAPI_MODULE} named no directory: ${out}`);
  return dir;
}

/** Returns the cached manager, supervise and manifests, building them first when missing. Progress goes to stderr. */
export async function ensureCapi(): Promise<CapiBuild> {
  const root = doctorCacheDir('capi');
  const key = capiBuildKey();
  const dir = join(root, key);
  const build: CapiBuild = {
    version: pinnedCapiVersion(),
    manager: join(dir, 'manager'),
    supervise: join(dir, 'supervise'),
    configDir: join(dir, 'config'),
  };
  if (existsSync(build.manager)) return build;

  log(`building ${CAPI_MODULE}/core ${build.version} into ${dir} (first run, takes several minutes)...`);
  const started = Date.now();
  const source = await moduleSourceDir();
  await rm(build.configDir, { recursive: true, force: true });
  await mkdir(build.configDir, { recursive: true });
  // Copied as new files: the module cache's are read-only, which would stop the pruning of this entry later.
  const wanted: [string, (file: string) => boolean][] = [
    ['crd/bases', (f) => f.endsWith('.yaml')],
    ['crd/patches', (f) => f.endsWith('.yaml')],
    ['webhook', (f) => f === 'manifests.yaml'],
  ];
  for (const [sub, keep] of wanted) {
    await mkdir(join(build.configDir, sub), { recursive: true });
    for (const f of (await readdir(join(source, 'core', 'config', sub))).filter(keep))
      await writeFile(join(build.configDir, sub, f), await readFile(join(source, 'core', 'config', sub, f)));
  }
  const common = { moduleDir: capiModuleDir, ldflags: ldflags(), env: { GOFLAGS: '-mod=readonly' }, goMissing: GO_MISSING };
  await goBuild({ ...common, target: './supervise', out: build.supervise });
  await goBuild({ ...common, target: `${CAPI_MODULE}/core`, out: build.manager, progress: log });
  log(`built in ${Math.round((Date.now() - started) / 1000)}s`);
  await pruneOtherBuilds(root, key);
  return build;
}

buildWhenRun(import.meta.url, async () => (await ensureCapi()).manager);
