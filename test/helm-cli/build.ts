// Builds the Helm CLI (helm.sh/helm/v3/cmd/helm, the version go.mod pins) once, into a cache directory outside git:
//
//   ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/helm/<key>/helm
//
// <key> is a short sha256 over go.mod, go.sum and the build flags, so a new Helm version builds anew and a warm
// run reuses the binary. The build goes to a temporary name and is renamed into place when complete.
//
// Run directly to pre-build (e.g. in CI) and print the path:  node test/helm-cli/build.ts
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKey, buildWhenRun, doctorCacheDir, goBuild, pinnedModuleVersion, pruneOtherBuilds } from '../harness/go-build.ts';

const moduleDir = dirname(fileURLToPath(import.meta.url));
const LDFLAGS = '-s -w';

/** The Helm version pinned in go.mod, e.g. "v3.22.0". */
export function pinnedHelmVersion(): string {
  return pinnedModuleVersion(moduleDir, 'helm.sh/helm/v3');
}

function cacheRoot(): string {
  return doctorCacheDir('helm');
}

function helmBuildKey(): string {
  return buildKey(moduleDir, ['go.mod', 'go.sum'], LDFLAGS);
}

/** Returns the path of the cached helm binary, building it first when missing. Progress goes to stderr. */
export async function ensureHelm(): Promise<string> {
  const bin = join(cacheRoot(), helmBuildKey(), 'helm');
  if (existsSync(bin)) return bin;
  process.stderr.write(`[helm] building helm.sh/helm/v3 ${pinnedHelmVersion()} into ${bin}...\n`);
  const started = Date.now();
  await goBuild({
    moduleDir,
    target: 'helm.sh/helm/v3/cmd/helm',
    out: bin,
    ldflags: LDFLAGS,
    env: { GOFLAGS: '-mod=readonly' },
    goMissing: 'Go is needed to build the Helm CLI for the helm/release-stuck-pending end-to-end test, but `go` is not on PATH',
    progress: (message) => process.stderr.write(`[helm] ${message}\n`),
  });
  process.stderr.write(`[helm] built in ${Math.round((Date.now() - started) / 1000)}s\n`);
  await pruneOtherBuilds(cacheRoot(), helmBuildKey());
  return bin;
}

buildWhenRun(import.meta.url, ensureHelm);
