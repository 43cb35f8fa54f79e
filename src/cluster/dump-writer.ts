// Writes a dump (src/cluster/dump-format.ts) to a directory or a .tgz, atomically: everything goes to a temporary
// name next to the target, which is renamed into place only once the last byte is written, so a failed or
// interrupted dump leaves nothing half-written under the target's name. Files are 0600, directories 0700: a dump
// holds the cluster's objects (Secret values and other credentials redacted, but names, labels and the rest kept).
import { randomBytes } from 'node:crypto';
import { createWriteStream, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DoctorError } from '../errors.ts';
import { visible } from '../util/terminal.ts';
import { tarEnd, tarFileHeader, tarPadding } from './archive.ts';
import { DUMP_MANIFEST } from './dump-format.ts';
import { describeFsError } from './fs-error.ts';

export interface DumpFile {
  /** Relative to the dump's root: `resources/secrets.json`. */
  name: string;
  data: Buffer;
}

export interface DumpTarget {
  path: string;
  archive: boolean;
  /** Whatever is at `path` now, which the dump replaces (an empty directory, or with --force a file or a dump). */
  replaces: 'nothing' | 'file' | 'directory';
}

const ARCHIVE_SUFFIXES = ['.tgz', '.tar.gz'];

/**
 * Where a dump goes and what it would replace; refuses before anything is read from the cluster. Without `force`
 * only nothing or an empty directory is replaced; with it a file (for an archive) or a directory holding a dump,
 * never a directory of anything else.
 */
export function dumpTarget(target: string, force: boolean): DumpTarget {
  const path = resolve(target);
  const lower = path.toLowerCase();
  const where = visible(target);
  if (lower.endsWith('.zip') || lower.endsWith('.tar'))
    throw new DoctorError(
      `dump ${where}: write a directory, FILE.tgz or FILE.tar.gz (a dump is not written as ${lower.endsWith('.zip') ? '.zip' : '.tar'})`,
    );
  const archive = ARCHIVE_SUFFIXES.some((s) => lower.endsWith(s));
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DoctorError(`dump ${where}: cannot check it: ${describeFsError(err)}`);
  }
  let parent;
  try {
    parent = lstatSync(dirname(path));
  } catch (err) {
    throw new DoctorError(
      `dump ${where}: cannot write into ${visible(dirname(path))}: ${describeFsError(err)}; create that directory first`,
    );
  }
  if (!parent.isDirectory()) throw new DoctorError(`dump ${where}: ${visible(dirname(path))} is not a directory`);
  if (stat === undefined) return { path, archive, replaces: 'nothing' };
  if (archive) {
    if (stat.isDirectory()) throw new DoctorError(`dump ${where}: is a directory; name a file to write the archive to`);
    if (!force) throw new DoctorError(`dump ${where}: already exists; pass --force to replace it, or name another file`);
    return { path, archive, replaces: 'file' };
  }
  if (!stat.isDirectory())
    throw new DoctorError(`dump ${where}: already exists and is not a directory; name a new directory, or FILE.tgz for an archive`);
  const entries = readdirSync(path);
  if (entries.length === 0) return { path, archive, replaces: 'directory' };
  if (!force)
    throw new DoctorError(`dump ${where}: the directory is not empty; pass --force to replace an earlier dump, or name a new directory`);
  if (!entries.includes(DUMP_MANIFEST))
    throw new DoctorError(
      `dump ${where}: the directory is not empty and holds no ${DUMP_MANIFEST}, so it is not a dump; --force replaces only an earlier dump`,
    );
  return { path, archive, replaces: 'directory' };
}

/** Writes `files` (produced one at a time, so only one is in memory) to the target, replacing what it said it would. */
export async function writeDump(target: DumpTarget, files: Iterable<DumpFile>, mtime: Date): Promise<void> {
  const { path } = target;
  const temp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    if (target.archive) await writeArchive(temp, rootName(path), files, mtime);
    else writeDirectory(temp, files);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    if (err instanceof DoctorError) throw err;
    throw new DoctorError(`dump ${visible(path)}: writing failed, nothing was written: ${describeFsError(err)}`);
  }
  try {
    if (target.replaces === 'directory') {
      // A directory cannot be renamed over a non-empty one: the old dump steps aside first, then goes.
      const old = join(dirname(path), `.${basename(path)}.old-${randomBytes(6).toString('hex')}`);
      renameSync(path, old);
      renameSync(temp, path);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(temp, path);
    }
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw new DoctorError(`dump ${visible(path)}: could not move the finished dump into place: ${describeFsError(err)}`);
  }
}

/** `dump.tgz` -> `dump`: the archive's one top directory, so unpacking it makes a directory of that name. */
function rootName(path: string): string {
  const base = basename(path);
  const suffix = ARCHIVE_SUFFIXES.find((s) => base.toLowerCase().endsWith(s))!;
  return base.slice(0, base.length - suffix.length) || 'dump';
}

function writeDirectory(temp: string, files: Iterable<DumpFile>): void {
  mkdirSync(temp, { mode: 0o700 });
  const made = new Set<string>();
  for (const file of files) {
    const dir = dirname(join(temp, file.name));
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      made.add(dir);
    }
    writeFileSync(join(temp, file.name), file.data, { mode: 0o600, flag: 'wx' });
  }
}

async function writeArchive(temp: string, root: string, files: Iterable<DumpFile>, mtime: Date): Promise<void> {
  async function* tar() {
    for (const file of files) {
      yield tarFileHeader(`${root}/${file.name}`, file.data.length, mtime);
      yield file.data;
      yield tarPadding(file.data.length);
    }
    yield tarEnd();
  }
  // wx: never through a file someone put at the temporary name; flush: fsync before the rename makes it visible.
  await pipeline(Readable.from(tar()), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
}
