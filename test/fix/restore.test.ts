// restore trusts nothing in the backup directory it cannot check; the backup store writes through no symlink.
// These refusals happen before any request: the object client here fails the test if it is ever used.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupStore, type AuditEntry } from '../../src/fix/backup.ts';
import { renderDiff, runRestore } from '../../src/cli/restore.ts';
import { DoctorError } from '../../src/errors.ts';
import type { ObjectClient } from '../../src/fix/object-client.ts';
import type { KubeObject } from '../../src/kube/object.ts';

const untouchable = new Proxy(
  {},
  {
    get: () => {
      throw new Error('restore sent a request for a backup it should have refused');
    },
  },
) as unknown as ObjectClient;
const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns', uid: 'u-1', resourceVersion: '5' } };
const object = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'cm', uid: 'u-1', resource: 'configmaps', namespaced: true };
const options = {
  server: 'https://s',
  user: 'u',
  context: 'c',
  yes: true,
  dryRun: 'none' as const,
  prompter: undefined,
  print: () => undefined,
};

let root: string;
let dir: string;

/** A backup directory as a --fix run leaves it: one backup, its intent and its applied lines. */
function runDir(): { backup: string; entries: AuditEntry[] } {
  const store = new BackupStore(dir);
  const saved = store.save(cm);
  const base = {
    time: 't',
    user: 'u',
    context: 'c',
    server: 'https://s',
    rule: 'r',
    fingerprint: 'f',
    step: 's',
    action: 'json-patch',
    risk: 'safe',
    reversible: true,
    object,
  };
  const entries: AuditEntry[] = [
    { ...base, result: 'intent', resourceVersionBefore: '5', backup: saved.file, backupSha256: saved.sha256 },
    { ...base, result: 'applied', resourceVersionBefore: '5', resourceVersionAfter: '6', backup: saved.file, backupSha256: saved.sha256 },
  ];
  for (const e of entries) store.audit(e);
  store.close();
  return { backup: saved.file, entries };
}

function rewriteAudit(entries: AuditEntry[]): void {
  writeFileSync(join(dir, 'audit.jsonl'), entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
}

async function refused(pattern: RegExp): Promise<void> {
  await assert.rejects(runRestore(dir, untouchable, options), (err: unknown) => err instanceof DoctorError && pattern.test(err.message));
}

describe('restore refuses a backup directory it cannot trust', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'doctor-restore-'));
    dir = join(root, 'run');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a directory others can write to', async () => {
    runDir();
    chmodSync(dir, 0o777);
    await refused(/can be written by others \(mode 777\)/);
  });

  it('a backup whose bytes are not the ones the run saved', async () => {
    const { backup } = runDir();
    const path = join(dir, backup);
    chmodSync(path, 0o600);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"cm"', '"cm" ,"extra": 1'));
    await refused(/is not the file the run saved \(sha256 differs\)/);
  });

  it('an audit line that names a file outside the directory, or another object than its backup holds', async () => {
    const { entries } = runDir();
    rewriteAudit(entries.map((e) => ({ ...e, backup: '../../etc/passwd' })));
    await refused(/is outside the backup directory/);
    rewriteAudit(
      entries.map((e) => ({
        ...e,
        object: {
          ...e.object,
          kind: 'ClusterRoleBinding',
          name: 'system:basic-user',
          namespace: undefined,
          namespaced: false,
        } as AuditEntry['object'],
      })),
    );
    await refused(/holds another object than ClusterRoleBinding system:basic-user/);
  });

  it('an applied line without the resourceVersion its write produced (the only check on what changed since)', async () => {
    const { entries } = runDir();
    rewriteAudit(entries.map((e) => (e.result === 'applied' ? { ...e, resourceVersionAfter: undefined } : e)));
    await refused(/has no resourceVersionAfter; refusing a log that was changed/);
  });

  it('an audit log or a backup that is a symbolic link', async () => {
    const { backup } = runDir();
    const elsewhere = join(root, 'elsewhere.json');
    writeFileSync(elsewhere, readFileSync(join(dir, backup)));
    rmSync(join(dir, backup));
    symlinkSync(elsewhere, join(dir, backup));
    await refused(/points outside the backup directory/);
    rmSync(join(dir, 'audit.jsonl'));
    symlinkSync(elsewhere, join(dir, 'audit.jsonl'));
    await refused(/audit\.jsonl is a symbolic link/);
  });
});

describe('the backup store writes through no symlink', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'doctor-store-'));
    dir = join(root, 'run');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a symlinked audit.jsonl is refused (and its target neither written nor chmodded)', () => {
    const target = join(root, 'target');
    writeFileSync(target, 'keep\n', { mode: 0o644 });
    new BackupStore(dir).save(cm);
    symlinkSync(target, join(dir, 'audit.jsonl'));
    const store = new BackupStore(dir);
    assert.throws(
      () =>
        store.audit({
          time: 't',
          user: 'u',
          context: 'c',
          server: 's',
          rule: 'r',
          fingerprint: 'f',
          step: 's',
          action: 'a',
          risk: 'safe',
          reversible: true,
          object,
          result: 'intent',
        }),
      /ELOOP|symbolic link/,
    );
    assert.equal(readFileSync(target, 'utf8'), 'keep\n');
  });

  it("a second run in the same directory numbers its backups after the first run's, never over them", () => {
    const first = new BackupStore(dir).save(cm);
    const second = new BackupStore(dir).save(cm);
    assert.notEqual(second.file, first.file);
    assert.equal(existsSync(join(dir, first.file)), true);
    assert.equal(existsSync(join(dir, second.file)), true);
  });
});

describe("restore's diff", () => {
  it("says that a Secret's values change, never what they are; other objects' values are shown", () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'n' },
      type: 'helm.sh/release.v1',
      data: { release: 'SDRzSUFBQUFBQUFBL3lyT3p5c0JBQUFBLy84PQ==' },
    };
    const diff = renderDiff(undefined, secret);
    assert.match(diff, /^ {4}\/data: \(absent\) -> \(release: values not shown\)$/m);
    assert.match(
      renderDiff({ ...secret, data: { release: 'old' } }, secret),
      /^ {4}\/data\/release: \(3 characters, not shown\) -> \(40 characters, not shown\)$/,
    );
    assert.match(diff, /\/type: \(absent\) -> "helm\.sh\/release\.v1"/);
    assert.doesNotMatch(diff, /SDRz/);
    const configMap = { ...secret, kind: 'ConfigMap', data: { key: 'plain' } };
    assert.match(renderDiff(undefined, configMap), /\/data: \(absent\) -> \{"key":"plain"\}/);
  });
});
