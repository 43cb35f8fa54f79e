import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DoctorError } from '../errors.ts';
import type { KubeObject, ObjectRef } from '../kube/object.ts';
import { sha256 } from '../util/hash.ts';
import { NO_HOME } from '../util/home.ts';

/** `~/.kube/doctor/backups/<UTC timestamp>`: one directory per `--fix` run. `home`: homeDirectory(). */
export function defaultBackupDir(now: Date, home: string | undefined): string {
  if (home === undefined) {
    throw new DoctorError(`--fix backs up every object before it changes it, in ~/.kube/doctor/backups, but ${NO_HOME}: pass --backup-dir`);
  }
  return join(home, '.kube', 'doctor', 'backups', now.toISOString().replace(/[:.]/g, '-'));
}

export const AUDIT_LOG = 'audit.jsonl';

/**
 * One line of `audit.jsonl`. A write is logged twice: `intent` (with the backup and its sha256) before the request
 * is sent, then its result. `unknown`: the connection failed and re-reading could not tell whether it landed.
 */
export interface AuditEntry {
  time: string;
  user: string;
  context: string;
  server: string;
  rule: string;
  fingerprint: string;
  step: string;
  action: string;
  risk: string;
  reversible: boolean;
  object: ObjectRef & { resource: string; namespaced: boolean };
  subresource?: string;
  result: 'intent' | 'applied' | 'refused' | 'failed' | 'unknown' | 'restored' | 'recreated';
  message?: string;
  resourceVersionBefore?: string;
  resourceVersionAfter?: string;
  /** The object's resourceVersion when an unknown outcome was looked into. */
  resourceVersionNow?: string;
  /** The backup's file name inside the backup directory. */
  backup?: string;
  /** sha256 of the backup file's bytes: restore puts back only what this run itself saved. */
  backupSha256?: string;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * A backup directory that only its owner can change: not a symlink, owned by this user, no group/other write.
 * `restore` refuses any other (anyone who can write there can make it "restore" an object of their choosing).
 */
export function checkPrivateDir(dir: string, what: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new DoctorError(
      `${what} ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`,
    );
  }
  if (st.isSymbolicLink()) throw new DoctorError(`${what} ${dir} is a symbolic link; pass the directory itself`);
  if (!st.isDirectory()) throw new DoctorError(`${what} ${dir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new DoctorError(`${what} ${dir} belongs to another user (uid ${st.uid}); refusing to trust it`);
  if ((st.mode & 0o022) !== 0)
    throw new DoctorError(
      `${what} ${dir} can be written by others (mode ${(st.mode & 0o777).toString(8)}); refusing to trust it (chmod 700 it if you are sure of its content)`,
    );
}

/**
 * The backup directory of one run: full objects as JSON before their first write, and an append-only audit log.
 * Directories are 0700 and files 0600: a backup may hold a Secret. Files are opened without following symlinks.
 */
export class BackupStore {
  readonly dir: string;
  #count = 0;
  readonly #written = new Map<string, { file: string; sha256: string }>();
  #auditFd: number | undefined;
  #ready = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  #ensureDir(): void {
    if (this.#ready) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A directory used by an earlier run (the same --backup-dir): number after its backups, never over them.
    this.#count = readdirSync(this.dir).filter((f) => /^\d+-.*\.json$/.test(f)).length;
    const st = lstatSync(this.dir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`backup directory ${this.dir} is not a directory`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid())
      throw new Error(`backup directory ${this.dir} belongs to another user`);
    if ((st.mode & 0o077) !== 0) {
      const fd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY | NOFOLLOW);
      try {
        fchmodSync(fd, 0o700);
      } finally {
        closeSync(fd);
      }
    }
    this.#ready = true;
  }

  /** Saves `obj` unless it was saved already in this run (the first copy is the state to restore). */
  save(obj: KubeObject): { file: string; sha256: string } {
    const key = obj.metadata.uid ?? `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const existing = this.#written.get(key);
    if (existing) return existing;
    this.#ensureDir();
    const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
    const file = `${String(++this.#count).padStart(3, '0')}-${safe(obj.kind.toLowerCase())}-${obj.metadata.namespace ? `${safe(obj.metadata.namespace)}-` : ''}${safe(obj.metadata.name ?? '')}.json`;
    const text = `${JSON.stringify(obj, null, 2)}\n`;
    // O_EXCL: never write through a file (or symlink) that is already there.
    const fd = openSync(join(this.dir, file), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const saved = { file: basename(file), sha256: sha256(text) };
    this.#written.set(key, saved);
    return saved;
  }

  /** Appends one line and syncs it to disk before returning: an `intent` line must survive a kill of this process. */
  audit(entry: AuditEntry): void {
    this.#ensureDir();
    if (this.#auditFd === undefined) {
      const fd = openSync(join(this.dir, AUDIT_LOG), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW, 0o600);
      const st = fstatSync(fd);
      if (!st.isFile()) {
        closeSync(fd);
        throw new Error(`${join(this.dir, AUDIT_LOG)} is not a regular file`);
      }
      fchmodSync(fd, 0o600);
      this.#auditFd = fd;
    }
    writeSync(this.#auditFd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.#auditFd);
  }

  close(): void {
    if (this.#auditFd !== undefined) closeSync(this.#auditFd);
    this.#auditFd = undefined;
  }
}
