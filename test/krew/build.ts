// Builds krew (sigs.k8s.io/krew/cmd/krew, the version go.mod pins) once, into a cache directory outside git:
//
//   ${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/krew/<key>/kubectl-krew
//
// <key> is a short sha256 over go.mod, go.sum and the build flags, so a new krew version builds anew and a warm
// run reuses the binary (~15 s to build once the modules are downloaded). The build goes to a temporary name and
// is renamed into place when complete. The binary is named kubectl-krew: that is how kubectl finds it as a plugin.
//
// Run directly to pre-build (e.g. in CI) and print the path:  node test/krew/build.ts
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const krewModuleDir = dirname(fileURLToPath(import.meta.url));
const LDFLAGS = '-s -w';

/** The krew version pinned in go.mod, e.g. "v0.5.0". */
export function pinnedKrewVersion(): string {
  const m = /^\s*require\s+sigs\.k8s\.io\/krew\s+(v\S+)/m.exec(readFileSync(join(krewModuleDir, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error(`cannot find the sigs.k8s.io/krew version in ${join(krewModuleDir, 'go.mod')}`);
  return m[1];
}

export function krewBuildKey(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) h.update(`${f}\0`).update(readFileSync(join(krewModuleDir, f))).update('\0');
  h.update(`ldflags=${LDFLAGS}\0CGO_ENABLED=0\0-trimpath\0${process.platform}/${process.arch}`);
  return h.digest('hex').slice(0, 16);
}

function cacheRoot(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.trim() !== '' ? resolve(xdg) : join(homedir(), '.cache'), 'kubectl-doctor', 'krew');
}

export function krewBinaryPath(): string {
  return join(cacheRoot(), krewBuildKey(), 'kubectl-krew');
}

/** Returns the path of the cached krew binary, building it first when missing. Progress goes to stderr. */
export async function ensureKrew(): Promise<string> {
  const bin = krewBinaryPath();
  if (existsSync(bin)) return bin;
  const dir = dirname(bin);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.kubectl-krew.tmp-${process.pid}-${Date.now()}`);
  process.stderr.write(`[krew] building sigs.k8s.io/krew ${pinnedKrewVersion()} into ${bin}...\n`);
  const started = Date.now();
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn('go', ['build', '-trimpath', `-ldflags=${LDFLAGS}`, '-o', tmp, 'sigs.k8s.io/krew/cmd/krew'], {
        cwd: krewModuleDir,
        env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => { output += d; });
      child.stderr.on('data', (d) => { output += d; });
      child.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('Go is needed to build krew for the packaging test, but `go` is not on PATH') : err));
      child.on('close', (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`go build of krew failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`))));
    });
    await chmod(tmp, 0o755);
    await rename(tmp, bin);
  } finally {
    await rm(tmp, { force: true });
  }
  process.stderr.write(`[krew] built in ${Math.round((Date.now() - started) / 1000)}s\n`);
  // Keep only the current build (krew is small and quick to rebuild).
  for (const e of await readdir(cacheRoot())) {
    if (e !== krewBuildKey() && /^[0-9a-f]{16}$/.test(e)) await rm(join(cacheRoot(), e), { recursive: true, force: true });
  }
  return bin;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureKrew().then(
    (bin) => process.stdout.write(`${bin}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
