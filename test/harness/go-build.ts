// What the cached Go builds of the test tooling (kube-testenv, krew, Helm, the Cluster API manager) share: the cache directory outside git, the pinned version and version stamp, the
// key over the sources and flags, and a `go build` into a temporary name renamed into place when complete, so an
// interrupted build never leaves a half-written binary.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `${XDG_CACHE_HOME:-~/.cache}/kubectl-doctor/<name>`: caches the tests and the release build keep between runs. */
export function doctorCacheDir(name: string): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && xdg.trim() !== '' ? resolve(xdg) : join(homedir(), '.cache'), 'kubectl-doctor', name);
}

/** The version of `module` that `dir`/go.mod requires (a `require` line or a line of a require block), e.g. "v1.14.2". */
export function pinnedModuleVersion(dir: string, module: string): string {
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(readFileSync(join(dir, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error(`cannot find the ${module} version in ${join(dir, 'go.mod')}`);
  return m[1];
}

/**
 * The -ldflags a release build of a Kubernetes-style module stamps into its version package (`pkg`): without them a
 * module build reports gitVersion "v0.0.0-master+$Format:%H$" (no git metadata).
 */
export function versionLdflags(pkg: string, version: string): string {
  const [major, minor] = version.slice(1).split('.');
  return [
    '-s',
    '-w',
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].join(' ');
}

/** A short sha256 over the named files of `dir` and the build flags: a new key builds anew. */
export function buildKey(dir: string, files: readonly string[], ldflags: string): string {
  const h = createHash('sha256');
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(join(dir, f)))
      .update('\0');
  h.update(`ldflags=${ldflags}\0CGO_ENABLED=0\0-trimpath\0${process.platform}/${process.arch}`);
  return h.digest('hex').slice(0, 16);
}

export interface GoBuild {
  /** The Go module to build in. */
  moduleDir: string;
  /** The package to build: `.` or an import path. */
  target: string;
  /** Where the binary ends up. */
  out: string;
  ldflags: string;
  /** The one-line error when `go` is not on PATH. */
  goMissing: string;
  env?: Record<string, string>;
  /** Stream go's output to stderr and say every minute that it is still building (long builds). */
  progress?: (message: string) => void;
}

export async function goBuild(build: GoBuild): Promise<void> {
  const dir = dirname(build.out);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.build.tmp-${process.pid}-${Date.now()}`);
  const started = Date.now();
  let output = '';
  try {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn('go', ['build', '-trimpath', `-ldflags=${build.ldflags}`, '-o', tmp, build.target], {
        cwd: build.moduleDir,
        env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', ...build.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const onData = (chunk: Buffer): void => {
        if (build.progress) process.stderr.write(chunk);
        output = (output + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const tick =
        build.progress && setInterval(() => build.progress!(`still building... ${Math.round((Date.now() - started) / 1000)}s`), 60_000);
      const done = () => {
        if (tick) clearInterval(tick);
      };
      child.on('error', (err) => {
        done();
        reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(build.goMissing) : err);
      });
      child.on('close', (code, signal) => {
        done();
        if (code === 0) resolvePromise();
        else reject(new Error(`go build of ${build.target} in ${build.moduleDir} failed (${signal ?? `exit ${code}`}):\n${output}`));
      });
    });
    await chmod(tmp, 0o755);
    await rename(tmp, build.out); // atomic within one directory
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Removes the cached builds under `root` whose key is not `keep` (small, quick-to-rebuild tools keep one). */
export async function pruneOtherBuilds(root: string, keep: string): Promise<void> {
  for (const e of await readdir(root)) {
    if (e !== keep && /^[0-9a-f]{16}$/.test(e)) await rm(join(root, e), { recursive: true, force: true });
  }
}

/** When the module at `moduleUrl` is run directly (`node test/x/build.ts`): builds and prints the binary's path. */
export function buildWhenRun(moduleUrl: string, ensure: () => Promise<string>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  ensure().then(
    (bin) => process.stdout.write(`${bin}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
