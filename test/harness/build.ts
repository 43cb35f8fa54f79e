// Builds the kube-testenv Go program (kube-apiserver + embedded etcd in one process, see
// kube-testenv/main.go) once, into a cache directory outside the git tree:
//
//   ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/kube-testenv/<key>/kube-testenv
//
// <key> is a short sha256 over go.mod, go.sum, every *.go file of kube-testenv/ and the build flags,
// so any change to the Go program or its dependencies produces a new binary; a warm run finds the
// cached binary and skips the build. The build goes to a temporary name in the same directory and is
// renamed into place only when complete, so an interrupted build never leaves a half-written binary.
// After a build, cached builds of other keys are pruned except the two most recent.
//
// Run directly to pre-build (e.g. in CI before the tests) and print the binary's path:
//   node test/harness/build.ts
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKey as goBuildKey, buildWhenRun, doctorCacheDir, goBuild, pinnedModuleVersion, versionLdflags } from './go-build.ts';

export const kubeTestenvDir = join(dirname(fileURLToPath(import.meta.url)), 'kube-testenv');

const GO_MISSING =
  'Go >= 1.26 is needed to build the kube-apiserver used by the end-to-end tests, but `go` was not found on PATH. ' +
  'Install it (https://go.dev/dl/, or e.g. `apt-get install golang-1.26` where available) and put `go` on PATH; ' +
  'or run only the unit tests (`npm test -- --unit`), or point KUBECTL_DOCTOR_TEST_KUBECONFIG at a disposable cluster.';

/** The Kubernetes version pinned in kube-testenv/go.mod (e.g. "v1.37.1"). */
export function pinnedKubernetesVersion(): string {
  return pinnedModuleVersion(kubeTestenvDir, 'k8s.io/kubernetes');
}

function ldflags(): string {
  return versionLdflags('k8s.io/component-base/version', pinnedKubernetesVersion());
}

/** Cache key: sha256 over go.mod, go.sum, every *.go file (sorted) and the build flags. */
export function buildKey(): string {
  const files = [
    'go.mod',
    'go.sum',
    ...readdirSync(kubeTestenvDir)
      .filter((f) => f.endsWith('.go'))
      .sort(),
  ];
  return goBuildKey(kubeTestenvDir, files, ldflags());
}

export function cacheRoot(): string {
  return doctorCacheDir('kube-testenv');
}

export function binaryPath(): string {
  return join(cacheRoot(), buildKey(), 'kube-testenv');
}

function log(msg: string): void {
  process.stderr.write(`[kube-testenv] ${msg}\n`);
}

function checkGo(): string {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(GO_MISSING);
    throw new Error(`running \`go version\` failed: ${r.error.message}`);
  }
  if (r.status !== 0) throw new Error(`\`go version\` exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/**
 * Returns the path of the kube-testenv binary, building it first if the cache has none for the
 * current sources. Progress goes to stderr.
 */
export async function ensureKubeTestenvBinary(): Promise<string> {
  const bin = binaryPath();
  if (existsSync(bin)) return bin;

  const goVersion = checkGo();
  const dir = dirname(bin);
  log(`building kube-apiserver test harness (first run, takes several minutes)...`);
  log(`${goVersion}; Kubernetes ${pinnedKubernetesVersion()}; output ${bin}`);
  const started = Date.now();
  await goBuild({ moduleDir: kubeTestenvDir, target: '.', out: bin, ldflags: ldflags(), goMissing: GO_MISSING, progress: log });
  log(`built in ${Math.round((Date.now() - started) / 1000)}s`);
  await pruneOldBuilds(dirname(dir), dir);
  return bin;
}

/**
 * Removes cached builds for other keys (~120 MB each), keeping the two most recent besides the
 * current one (another checkout or a concurrent run may still be using them).
 */
async function pruneOldBuilds(root: string, keep: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return;
  }
  const others: { path: string; mtime: number }[] = [];
  for (const e of entries) {
    const p = join(root, e);
    if (p === keep || !/^[0-9a-f]{16}$/.test(e)) continue;
    try {
      others.push({ path: p, mtime: (await stat(p)).mtimeMs });
    } catch {
      /* vanished */
    }
  }
  others.sort((a, b) => b.mtime - a.mtime);
  for (const o of others.slice(2)) await rm(o.path, { recursive: true, force: true }).catch(() => undefined);
}

buildWhenRun(import.meta.url, ensureKubeTestenvBinary);

/**
 * A kubectl built from the same Kubernetes version as the test API server: the harness binary is also kubectl
 * when invoked under that name (kube-testenv/kubectl.go), so this is a symlink beside the cached binary.
 */
export async function ensureKubectl(): Promise<string> {
  const bin = await ensureKubeTestenvBinary();
  const link = join(dirname(bin), 'kubectl');
  if (!existsSync(link)) {
    const tmp = `${link}.tmp-${process.pid}`;
    await symlink('kube-testenv', tmp);
    await rename(tmp, link);
  }
  return link;
}
