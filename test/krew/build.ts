// Builds krew (sigs.k8s.io/krew/cmd/krew, the version go.mod pins) once, into a cache directory outside git:
//
//   ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/krew/<key>/kubectl-krew
//
// <key> is a short sha256 over go.mod, go.sum and the build flags, so a new krew version builds anew and a warm
// run reuses the binary (~15 s to build once the modules are downloaded). The build goes to a temporary name and
// is renamed into place when complete. The binary is named kubectl-krew: that is how kubectl finds it as a plugin.
//
// Run directly to pre-build (e.g. in CI) and print the path:  node test/krew/build.ts
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKey, buildWhenRun, doctorCacheDir, goBuild, pinnedModuleVersion, pruneOtherBuilds } from '../harness/go-build.ts';

export const krewModuleDir = dirname(fileURLToPath(import.meta.url));
const LDFLAGS = '-s -w';

/** The krew version pinned in go.mod, e.g. "v0.5.0". */
export function pinnedKrewVersion(): string {
  return pinnedModuleVersion(krewModuleDir, 'sigs.k8s.io/krew');
}

export function krewBuildKey(): string {
  return buildKey(krewModuleDir, ['go.mod', 'go.sum'], LDFLAGS);
}

function cacheRoot(): string {
  return doctorCacheDir('krew');
}

export function krewBinaryPath(): string {
  return join(cacheRoot(), krewBuildKey(), 'kubectl-krew');
}

/** Returns the path of the cached krew binary, building it first when missing. Progress goes to stderr. */
export async function ensureKrew(): Promise<string> {
  const bin = krewBinaryPath();
  if (existsSync(bin)) return bin;
  process.stderr.write(`[krew] building sigs.k8s.io/krew ${pinnedKrewVersion()} into ${bin}...\n`);
  const started = Date.now();
  await goBuild({
    moduleDir: krewModuleDir,
    target: 'sigs.k8s.io/krew/cmd/krew',
    out: bin,
    ldflags: LDFLAGS,
    env: { GOFLAGS: '-mod=readonly' },
    goMissing: 'Go is needed to build krew for the packaging test, but `go` is not on PATH',
  });
  process.stderr.write(`[krew] built in ${Math.round((Date.now() - started) / 1000)}s\n`);
  // Keep only the current build (krew is small and quick to rebuild).
  await pruneOtherBuilds(cacheRoot(), krewBuildKey());
  return bin;
}

buildWhenRun(import.meta.url, ensureKrew);
