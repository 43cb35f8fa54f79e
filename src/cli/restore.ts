import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DoctorError, ExitCode } from '../errors.ts';
import { keyOf, type KubeObject } from '../kube/object.ts';
import type { AuditEntry } from '../fix/backup.ts';
import { BackupStore } from '../fix/backup.ts';
import type { DryRun } from '../fix/execute.ts';
import { pathOf, statusMessage, type ObjectClient } from '../fix/object-client.ts';
import type { Confirm } from './fix.ts';

export interface RestoreOptions {
  server: string;
  user: string;
  context: string;
  yes: boolean;
  dryRun: DryRun;
  confirm: Confirm | undefined;
  print: (text: string) => void;
}

interface RestorePlan {
  object: AuditEntry['object'];
  backup: string;
  /** The resourceVersion our last write produced: restore refuses if the object moved past it. */
  ourVersion: string | undefined;
  subresources: Set<string>;
}

/**
 * `kubectl doctor restore DIR`: puts back the objects that reversible --fix steps changed, each only if nobody
 * changed it after the fix (its resourceVersion is still the one our write produced).
 */
export async function runRestore(dir: string, objects: ObjectClient, options: RestoreOptions): Promise<number> {
  const auditPath = join(dir, 'audit.jsonl');
  if (!existsSync(auditPath)) throw new DoctorError(`restore ${dir}: no audit.jsonl there; pass the backup directory kubectl doctor --fix printed`);
  let entries: AuditEntry[];
  try {
    entries = readFileSync(auditPath, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AuditEntry);
  } catch (err) {
    throw new DoctorError(`restore ${auditPath}: unreadable audit log: ${(err as Error).message}`);
  }
  const applied = entries.filter((e) => e.result === 'applied');
  const servers = new Set(applied.map((e) => e.server));
  if (servers.size > 0 && !servers.has(options.server)) {
    throw new DoctorError(`restore ${dir}: these backups are from ${[...servers].join(', ')}, but the current context points at ${options.server}; pass --context for that cluster`);
  }

  const plans = new Map<string, RestorePlan>();
  const oneWay: string[] = [];
  for (const e of applied) {
    const key = e.object.uid ?? `${e.object.resource}/${keyOf(e.object)}`;
    if (!e.reversible || e.action === 'delete' || e.action === 'finalize-namespace') {
      oneWay.push(`${e.object.kind} ${keyOf(e.object)}: "${e.step}" cannot be undone`);
      plans.delete(key);
      continue;
    }
    const plan = plans.get(key) ?? { object: e.object, backup: e.backup ?? '', ourVersion: undefined, subresources: new Set<string>() };
    plan.ourVersion = e.resourceVersionAfter;
    plan.subresources.add(e.subresource ?? '');
    plans.set(key, plan);
  }
  for (const line of oneWay) options.print(`skip: ${line}\n`);
  if (plans.size === 0) {
    options.print('Nothing to restore.\n');
    return ExitCode.Ok;
  }

  const store = options.dryRun === 'none' ? new BackupStore(dir) : undefined;
  let failures = 0;
  let all = options.yes || options.dryRun === 'client';
  if (!all && !options.confirm) {
    for (const plan of plans.values()) options.print(`would restore ${plan.object.kind} ${keyOf(plan.object)} from ${plan.backup}\n`);
    options.print('No changes made: there is no terminal to confirm on; pass --yes to restore.\n');
    return ExitCode.Findings;
  }
  for (const plan of plans.values()) {
    const name = `${plan.object.kind} ${keyOf(plan.object)}`;
    if (!all) {
      const answer = await options.confirm!(`Restore ${name} from ${plan.backup}?`);
      if (answer === 'quit') break;
      if (answer === 'no') continue;
      if (answer === 'all') all = true;
    }
    const result = await restoreOne(plan, objects, options.dryRun);
    options.print(`${result.ok ? 'restored' : 'refused'} ${name}${result.message ? `: ${result.message}` : ''}\n`);
    if (!result.ok) failures++;
    store?.audit({
      time: new Date().toISOString(), user: options.user, context: options.context, server: options.server,
      rule: '', fingerprint: '', step: 'restore', action: 'restore', risk: 'safe', reversible: false,
      object: plan.object, result: result.ok ? 'restored' : 'refused', ...(result.message ? { message: result.message } : {}), backup: plan.backup,
    });
  }
  return failures > 0 ? ExitCode.FixIncomplete : ExitCode.Ok;
}

async function restoreOne(plan: RestorePlan, objects: ObjectClient, dryRun: DryRun): Promise<{ ok: boolean; message?: string }> {
  let saved: KubeObject;
  try {
    saved = JSON.parse(readFileSync(plan.backup, 'utf8')) as KubeObject;
  } catch {
    return { ok: false, message: `backup ${plan.backup} is missing or unreadable` };
  }
  const current = await objects.get(plan.object);
  if (!current) return { ok: false, message: 'it no longer exists' };
  if (plan.object.uid && current.metadata.uid !== plan.object.uid) return { ok: false, message: 'it was deleted and created again since the fix' };
  if (plan.ourVersion && current.metadata.resourceVersion !== plan.ourVersion) {
    return { ok: false, message: `it changed after the fix (resourceVersion ${plan.ourVersion}, now ${current.metadata.resourceVersion}); not overwriting that change` };
  }
  if (dryRun === 'client') return { ok: true, message: 'client dry run: not sent' };
  const { managedFields: _managed, ...metadata } = saved.metadata;
  let rv = current.metadata.resourceVersion;
  // The main resource ignores status and the status subresource ignores the rest: put back what was changed.
  for (const sub of ['', 'status'].filter((s) => plan.subresources.has(s))) {
    const body = { ...saved, metadata: { ...metadata, resourceVersion: rv } };
    const res = await objects.write('PUT', pathOf(plan.object, sub || undefined), body, { dryRun: dryRun === 'server' });
    if (res.status < 200 || res.status > 299) return { ok: false, message: `${res.status} ${statusMessage(res)}` };
    rv = (res.body as KubeObject | undefined)?.metadata?.resourceVersion ?? rv;
  }
  return { ok: true, ...(dryRun === 'server' ? { message: 'server dry run: validated, not persisted' } : {}) };
}
