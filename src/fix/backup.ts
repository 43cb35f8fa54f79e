import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, ObjectRef } from '../kube/object.ts';

/** `~/.kube/doctor/backups/<UTC timestamp>`: one directory per `--fix` run. */
export function defaultBackupDir(now: Date, home = homedir()): string {
  return join(home, '.kube', 'doctor', 'backups', now.toISOString().replace(/[:.]/g, '-'));
}

/** One line of `audit.jsonl`. */
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
  result: 'applied' | 'refused' | 'failed' | 'restored';
  message?: string;
  resourceVersionBefore?: string;
  resourceVersionAfter?: string;
  backup?: string;
}

/**
 * The backup directory of one run: full objects as JSON before their first write, and an append-only audit log.
 * Directories are 0700 and files 0600: a backup may hold a Secret.
 */
export class BackupStore {
  readonly dir: string;
  #count = 0;
  readonly #written = new Map<string, string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  /** Saves `obj` unless it was saved already in this run (the first copy is the state to restore). */
  save(obj: KubeObject): string {
    const key = obj.metadata.uid ?? `${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const existing = this.#written.get(key);
    if (existing) return existing;
    this.#ensureDir();
    const name = `${String(++this.#count).padStart(3, '0')}-${obj.kind.toLowerCase()}-${obj.metadata.namespace ? `${obj.metadata.namespace}-` : ''}${obj.metadata.name}.json`;
    const path = join(this.dir, name);
    writeFileSync(path, `${JSON.stringify(obj, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    this.#written.set(key, path);
    return path;
  }

  audit(entry: AuditEntry): void {
    this.#ensureDir();
    const path = join(this.dir, 'audit.jsonl');
    appendFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
}
