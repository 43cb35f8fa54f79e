import { constants, fstatSync, openSync, readFileSync, closeSync, realpathSync } from 'node:fs';
import { join, basename, isAbsolute, relative } from 'node:path';
import { DoctorError, ExitCode } from '../errors.ts';
import { keyOf, type KubeObject } from '../kube/object.ts';
import { AUDIT_LOG, BackupStore, checkPrivateDir, type AuditEntry } from '../fix/backup.ts';
import { sha256 } from '../util/hash.ts';
import type { DryRun } from '../fix/execute.ts';
import { pathOf, statusMessage, type ObjectClient } from '../fix/object-client.ts';
import { visible } from '../util/terminal.ts';
import type { Prompter } from './prompt.ts';
import { EXIT_INTERRUPTED } from './fix.ts';

export interface RestoreOptions {
  server: string;
  user: string;
  context: string;
  yes: boolean;
  dryRun: DryRun;
  prompter: Prompter | undefined;
  print: (text: string) => void;
}

interface RestorePlan {
  kind: 'put-back' | 'recreate';
  object: AuditEntry['object'];
  /** The backup as saved before the run's first write to the object. */
  saved: KubeObject;
  backup: string;
  /** The resourceVersion our last write produced: restore refuses if the object moved past it. */
  ourVersion: string | undefined;
  subresources: Set<string>;
  /** The write's outcome was unknown when the run ended. */
  unknown: boolean;
  /** The resourceVersion before the run's first write to the object. */
  before: string | undefined;
}

/** Server-set fields a create must not carry. */
const SERVER_SET = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'generation',
  'selfLink',
] as const;

/**
 * `kubectl doctor restore DIR`: puts back the objects that reversible --fix steps changed, each only if nobody
 * changed it after the fix (its resourceVersion is still the one our write produced), and recreates the objects
 * reversible deletes removed, only where nothing of that name exists now. It trusts nothing in DIR it cannot
 * check: the directory must be private to this user, each backup must be the file the run saved (its sha256 is
 * in the audit line written before the write) and must be the object the line names.
 */
export async function runRestore(dir: string, objects: ObjectClient, options: RestoreOptions): Promise<number> {
  checkPrivateDir(dir, 'restore: backup directory');
  const entries = readAudit(dir);
  const writes = entries.filter((e) => e.result === 'applied' || e.result === 'unknown' || e.result === 'intent');
  const servers = new Set(writes.map((e) => e.server));
  if (servers.size > 0 && !servers.has(options.server)) {
    throw new DoctorError(
      `restore ${dir}: these backups are from ${[...servers].join(', ')}, but the current context points at ${options.server}; pass --context for that cluster`,
    );
  }

  // A write is its intent line plus its result line; an intent with no result is a write whose process died.
  const outcomes = new Map<string, AuditEntry>();
  const intents: AuditEntry[] = [];
  for (const e of entries) {
    const key = writeKey(e);
    if (e.result === 'intent') intents.push(e);
    else if (e.result !== 'restored' && e.result !== 'recreated') outcomes.set(key, e);
  }

  const plans = new Map<string, RestorePlan>();
  const skipped: string[] = [];
  for (const intent of intents) {
    const outcome = outcomes.get(writeKey(intent));
    const name = `${intent.object.kind} ${keyOf(intent.object)}`;
    if (outcome && outcome.result !== 'applied' && outcome.result !== 'unknown') continue;
    const key = intent.object.uid ?? `${intent.object.resource}/${keyOf(intent.object)}`;
    if (!intent.reversible || intent.action === 'finalize-namespace') {
      skipped.push(`${name}: "${intent.step}" cannot be undone`);
      plans.delete(key);
      continue;
    }
    const saved = loadBackup(dir, intent);
    if (typeof saved === 'string')
      throw new DoctorError(`restore ${dir}: ${saved}; refusing to restore from a backup directory that was changed`);
    const unknown = !outcome || outcome.result === 'unknown';
    if (outcome?.result === 'applied' && intent.action !== 'delete' && !outcome.resourceVersionAfter) {
      throw new DoctorError(
        `restore ${dir}: the audit line of "${intent.step}" on ${name} has no resourceVersionAfter; refusing a log that was changed`,
      );
    }
    const plan = plans.get(key) ?? {
      kind: 'put-back' as const,
      object: intent.object,
      saved,
      backup: intent.backup!,
      ourVersion: undefined,
      subresources: new Set<string>(),
      unknown: false,
      before: intent.resourceVersionBefore,
    };
    if (intent.action === 'delete') plan.kind = 'recreate';
    plan.ourVersion = outcome?.resourceVersionAfter;
    plan.unknown ||= unknown;
    plan.subresources.add(intent.subresource ?? '');
    plans.set(key, plan);
  }
  for (const line of skipped) options.print(`skip: ${visible(line)}\n`);
  if (plans.size === 0) {
    options.print('Nothing to restore.\n');
    return ExitCode.Ok;
  }

  const store = options.dryRun === 'none' ? new BackupStore(dir) : undefined;
  let failures = 0;
  let all = options.yes || options.dryRun === 'client';
  const prompter = all ? undefined : options.prompter;
  if (!all && !prompter) {
    for (const plan of plans.values())
      options.print(
        `would ${plan.kind === 'recreate' ? 'recreate' : 'restore'} ${plan.object.kind} ${visible(keyOf(plan.object))} from ${visible(plan.backup)}\n`,
      );
    options.print('No changes made: there is no terminal to confirm on; pass --yes to restore.\n');
    return ExitCode.Findings;
  }
  try {
    for (const plan of plans.values()) {
      const name = `${plan.object.kind} ${visible(keyOf(plan.object))}`;
      const current = await objects.get(plan.object);
      if (plan.unknown && current && current.metadata.uid === plan.saved.metadata.uid && current.metadata.resourceVersion === plan.before) {
        options.print(`skip: ${name}: unchanged since the backup (the write whose outcome was unknown did not land)\n`);
        continue;
      }
      const check = precheck(plan, current);
      if (check) {
        options.print(`refused ${name}: ${check}\n`);
        failures++;
        continue;
      }
      options.print(
        `${plan.kind === 'recreate' ? 'recreate' : 'restore'} ${name} from ${visible(plan.backup)}${plan.unknown ? " (the write's outcome was unknown when the run ended)" : ''}:\n${renderDiff(current, plan.saved)}\n`,
      );
      if (!all) {
        const answer = await prompter!.ask(`${plan.kind === 'recreate' ? 'Recreate' : 'Restore'} ${name}?`, ['yes', 'no', 'all', 'quit']);
        if (answer === 'interrupt') return EXIT_INTERRUPTED;
        if (answer === 'quit') break;
        if (answer === 'no') continue;
        if (answer === 'all') all = true;
      }
      const result =
        plan.kind === 'recreate' ? await recreate(plan, objects, options.dryRun) : await putBack(plan, current!, objects, options.dryRun);
      options.print(
        `${result.ok ? (plan.kind === 'recreate' ? 'recreated' : 'restored') : 'refused'} ${name}${result.message ? `: ${visible(result.message)}` : ''}\n`,
      );
      if (!result.ok) failures++;
      store?.audit({
        time: new Date().toISOString(),
        user: options.user,
        context: options.context,
        server: options.server,
        rule: '',
        fingerprint: '',
        step: 'restore',
        action: plan.kind === 'recreate' ? 'create' : 'restore',
        risk: 'safe',
        reversible: false,
        object: plan.object,
        result: result.ok ? (plan.kind === 'recreate' ? 'recreated' : 'restored') : 'refused',
        ...(result.message ? { message: result.message } : {}),
        backup: plan.backup,
      });
    }
  } finally {
    prompter?.close();
    store?.close();
  }
  return failures > 0 ? ExitCode.FixIncomplete : ExitCode.Ok;
}

function writeKey(e: AuditEntry): string {
  return JSON.stringify([e.fingerprint, e.step, e.object.uid ?? keyOf(e.object), e.subresource ?? '', e.resourceVersionBefore ?? '']);
}

function readAudit(dir: string): AuditEntry[] {
  const path = join(dir, AUDIT_LOG);
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DoctorError(`restore ${dir}: no ${AUDIT_LOG} there; pass the backup directory kubectl doctor --fix printed`);
    if (code === 'ELOOP') throw new DoctorError(`restore ${path} is a symbolic link; refusing it`);
    throw new DoctorError(`restore ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DoctorError(`restore ${path} is not a regular file`);
    if ((st.mode & 0o022) !== 0) throw new DoctorError(`restore ${path} can be written by others; refusing to trust it`);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const entries: AuditEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let e: AuditEntry;
    try {
      e = JSON.parse(line) as AuditEntry;
    } catch (err) {
      throw new DoctorError(`restore ${path}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.result !== 'string' ||
      !e.object ||
      typeof e.object.name !== 'string' ||
      typeof e.object.kind !== 'string'
    ) {
      throw new DoctorError(`restore ${path}:${i + 1}: not an audit entry`);
    }
    entries.push(e);
  }
  return entries;
}

/** The backup an intent line names, if it is a file of this directory whose bytes and identity match the line. */
function loadBackup(dir: string, intent: AuditEntry): KubeObject | string {
  const name = `${intent.object.kind} ${keyOf(intent.object)}`;
  if (!intent.backup || !intent.backupSha256) return `the audit line of "${intent.step}" on ${name} names no backup or no checksum`;
  if (isAbsolute(intent.backup) || basename(intent.backup) !== intent.backup)
    return `backup ${intent.backup} is outside the backup directory`;
  const path = join(dir, intent.backup);
  let text: string;
  try {
    const real = realpathSync(path);
    const rel = relative(realpathSync(dir), real);
    if (rel.startsWith('..') || isAbsolute(rel)) return `backup ${intent.backup} points outside the backup directory`;
    const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      if (!fstatSync(fd).isFile()) return `backup ${intent.backup} is not a regular file`;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `backup ${intent.backup} is missing or unreadable (${(err as Error).message})`;
  }
  if (sha256(text) !== intent.backupSha256) return `backup ${intent.backup} is not the file the run saved (sha256 differs)`;
  let saved: KubeObject;
  try {
    saved = JSON.parse(text) as KubeObject;
  } catch {
    return `backup ${intent.backup} is not JSON`;
  }
  const o = intent.object;
  if (
    saved?.kind !== o.kind ||
    saved.metadata?.name !== o.name ||
    (saved.metadata.namespace ?? undefined) !== (o.namespace ?? undefined) ||
    (o.uid && saved.metadata.uid !== o.uid)
  ) {
    return `backup ${intent.backup} holds another object than ${name}`;
  }
  return saved;
}

function precheck(plan: RestorePlan, current: KubeObject | undefined): string | undefined {
  if (plan.kind === 'recreate') {
    if (!current) return undefined;
    if (plan.object.uid && current.metadata.uid === plan.object.uid) {
      return current.metadata.deletionTimestamp
        ? 'it is still being deleted (its finalizers hold it); recreate it once it is gone'
        : 'it was not deleted';
    }
    return 'an object of that name exists now; not replacing it';
  }
  if (!current) return 'it no longer exists';
  if (plan.object.uid && current.metadata.uid !== plan.object.uid) return 'it was deleted and created again since the fix';
  if (plan.ourVersion && current.metadata.resourceVersion !== plan.ourVersion) {
    return `it changed after the fix (resourceVersion ${plan.ourVersion}, now ${current.metadata.resourceVersion}); not overwriting that change`;
  }
  return undefined;
}

async function putBack(
  plan: RestorePlan,
  current: KubeObject,
  objects: ObjectClient,
  dryRun: DryRun,
): Promise<{ ok: boolean; message?: string }> {
  if (dryRun === 'client') return { ok: true, message: 'client dry run: not sent' };
  const { managedFields: _managed, ...metadata } = plan.saved.metadata;
  let rv = current.metadata.resourceVersion;
  // The main resource ignores status and the status subresource ignores the rest: put back what was changed.
  for (const sub of ['', 'status'].filter((s) => plan.subresources.has(s))) {
    const body = { ...plan.saved, metadata: { ...metadata, resourceVersion: rv } };
    const res = await objects.write('PUT', pathOf(plan.object, sub || undefined), body, { dryRun: dryRun === 'server' });
    if (res.status < 200 || res.status > 299) return { ok: false, message: `${res.status} ${statusMessage(res)}` };
    rv = (res.body as KubeObject | undefined)?.metadata?.resourceVersion ?? rv;
  }
  return { ok: true, ...(dryRun === 'server' ? { message: 'server dry run: validated, not persisted' } : {}) };
}

/** POSTs the backup without its server-set fields; the API server gives it a new uid. */
async function recreate(plan: RestorePlan, objects: ObjectClient, dryRun: DryRun): Promise<{ ok: boolean; message?: string }> {
  if (dryRun === 'client') return { ok: true, message: 'client dry run: not sent' };
  const metadata: Record<string, unknown> = { ...plan.saved.metadata };
  for (const f of SERVER_SET) delete metadata[f];
  const body = { ...plan.saved, metadata };
  const path = pathOf({ ...plan.object, name: '' }).replace(/\/$/, '');
  const res = await objects.write('POST', path, body, { dryRun: dryRun === 'server' });
  if (res.status < 200 || res.status > 299) return { ok: false, message: `${res.status} ${statusMessage(res)}` };
  return {
    ok: true,
    message: `a new object with uid ${(res.body as KubeObject | undefined)?.metadata?.uid ?? '?'}${dryRun === 'server' ? ' (server dry run: validated, not persisted)' : ''}`,
  };
}

/** What restoring changes, as `path: now -> backup` lines over the fields that differ (server-set ones aside). */
export function renderDiff(current: KubeObject | undefined, saved: KubeObject): string {
  const strip = (o: KubeObject | undefined) => {
    if (!o) return {};
    const metadata: Record<string, unknown> = { ...o.metadata };
    for (const f of SERVER_SET) delete metadata[f];
    return { ...o, metadata };
  };
  const lines: string[] = [];
  const walk = (path: string, a: unknown, b: unknown) => {
    if (lines.length >= 40) return;
    const objA = a !== null && typeof a === 'object' && !Array.isArray(a);
    const objB = b !== null && typeof b === 'object' && !Array.isArray(b);
    if (objA && objB) {
      for (const k of [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort()) {
        walk(`${path}/${k}`, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
      }
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    // A Secret's values stay in the backup (0600): the diff says that they change, never what they are.
    const secret = saved.kind === 'Secret' && /^\/(data|stringData)(\/|$)/.test(path);
    const show = (v: unknown) => (v === undefined ? '(absent)' : secret ? hidden(v) : truncate(JSON.stringify(v)));
    lines.push(`    ${visible(path)}: ${visible(show(a))} -> ${visible(show(b))}`);
  };
  walk('', strip(current), strip(saved));
  if (lines.length === 0) return '    (no difference in spec, metadata or status)';
  return lines.join('\n');
}

function hidden(v: unknown): string {
  if (v !== null && typeof v === 'object') return `(${Object.keys(v).sort().join(', ')}: values not shown)`;
  return `(${typeof v === 'string' ? v.length : JSON.stringify(v).length} characters, not shown)`;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
