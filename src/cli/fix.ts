import { ExitCode } from '../errors.ts';
import { humanDuration } from '../util/duration.ts';
import { atLeast, type Finding, type Severity } from '../engine/finding.ts';
import { keyOf, type KubeObject } from '../kube/object.ts';
import type { Report } from '../report/report.ts';
import type { ActionTarget, Risk } from '../plan/actions.ts';
import { writesAt } from '../plan/stop.ts';
import { interceptedWrites, webhooksFirst } from '../plan/admission.ts';
import { targetKey } from '../plan/shared.ts';
import { BackupStore } from '../fix/backup.ts';
import { FixExecutor, type DryRun, type FindingFix, type Gates } from '../fix/execute.ts';
import type { ObjectClient } from '../fix/object-client.ts';
import { renderFixResult, renderPlan } from '../fix/render.ts';
import { visible } from '../util/terminal.ts';
import type { Prompter } from './prompt.ts';

/** Exit code of a run the user interrupted (Ctrl-C), as shells report 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;

export interface FixFlowOptions {
  allow: Risk;
  dryRun: DryRun;
  yes: boolean;
  /** undefined when there is no terminal to ask on. */
  prompter: Prompter | undefined;
  backupDir: string;
  actor: { user: string; context: string; server: string };
  /** The run's one clock (`--now`, else the time the run started): the rescan judges ages by it too. */
  now: Date;
  /** How long to wait for the deletions the plans unblock (`awaitsDeletion`) before judging them (`--timeout`). */
  deletionWaitMs: number;
  failOn: Severity;
  /** Re-scans these rules and returns the fingerprints still found. */
  rescan: (ruleIds: string[]) => Promise<Set<string>>;
  print: (text: string) => void;
  /** True once the user pressed Ctrl-C outside a prompt: no further write starts. */
  interrupted?: () => boolean;
}

/**
 * `fixed`: the finding is gone (and so are the objects whose deletion its plan unblocked). `pending`: it is still
 * there but every write of the plan still holds, or it is gone but a deletion its plan unblocked has not finished;
 * what it waits for is named (a controller, a checkpoint's wait, a manual step, a step above --allow). `still-present`: a write of
 * the plan no longer holds. `failed`: a step was refused or failed, or its outcome is unknown.
 */
export type FixOutcome = 'fixed' | 'pending' | 'still-present' | 'failed' | 'not-attempted' | 'declined' | 'dry-run';

export interface FixResult {
  rule: string;
  fingerprint: string;
  object: Finding['object'];
  outcome: FixOutcome;
  stopped?: string;
  /** For `pending`: what the finding waits for. */
  waitingFor?: string;
  /** For `still-present`: what the plan established that no longer holds. */
  unmet?: string[];
  steps: FindingFix['steps'];
}

export interface FixSection {
  dryRun: DryRun;
  allow: Risk;
  backupDir?: string;
  /** Why the run stopped sending writes before the end, if it did (a failed read, an interrupt). */
  halted?: string;
  results: FixResult[];
}

/** A finding has something for `--fix --allow=<allow>` to do when its plan holds a write it may reach. */
export function isFixable(finding: Finding, allow: Risk = 'destructive'): boolean {
  return writesAt(finding.remediation?.steps ?? [], allow);
}

/**
 * `--fix`: show each plan, ask (or take --yes), run it, then re-scan and say per finding whether it is fixed.
 * Without a terminal and without --yes nothing is changed. Manual steps before a write are gates a person
 * confirms; destructive and one-way steps are confirmed one by one (or by --yes with --allow=destructive).
 */
export async function runFixFlow(
  report: Report,
  objects: ObjectClient,
  options: FixFlowOptions,
): Promise<{ exitCode: number; section: FixSection }> {
  // Dead webhooks first: their plan (failurePolicy Ignore) unblocks the writes of the others that they intercept.
  const fixable = webhooksFirst(report.findings.filter((f) => isFixable(f, options.allow)));
  const refused = interceptedWrites(report.findings);
  const section: FixSection = { dryRun: options.dryRun, allow: options.allow, results: [] };
  const remainingExit = (gone: Set<string>) =>
    report.findings.some((f) => atLeast(f.severity, options.failOn) && !gone.has(f.fingerprint)) ? ExitCode.Findings : ExitCode.Ok;
  if (fixable.length === 0) {
    const more = report.findings.some((f) => isFixable(f))
      ? ` at --allow=${options.allow}; see the plans with -o script or a higher --allow`
      : '';
    options.print(`Nothing to fix: no finding has a plan with steps kubectl doctor can run${more}.\n`);
    return { exitCode: remainingExit(new Set()), section };
  }

  const mayWrite = options.dryRun !== 'client';
  const prompter = options.yes || !mayWrite ? undefined : options.prompter;
  if (mayWrite && !options.yes && !prompter) {
    for (const [i, f] of fixable.entries())
      options.print(`${renderPlan(f, `[${i + 1}/${fixable.length}]`, options.allow, { warnings: refused.get(f.fingerprint) })}\n\n`);
    options.print('No changes made: there is no terminal to confirm on. Review the plans above and pass --yes to apply them.\n');
    section.results = fixable.map((f) => resultOf(f, 'not-attempted', []));
    return { exitCode: ExitCode.Findings, section };
  }

  let quit = false;
  let interrupted = false;
  const answer = async (question: string, choices: readonly ('yes' | 'no' | 'all' | 'quit')[]) => {
    const a = await prompter!.ask(question, choices);
    if (a === 'quit') quit = true;
    if (a === 'interrupt') interrupted = true;
    return a;
  };
  const gates: Gates = {
    async manualDone(finding, step, index) {
      if (!prompter) return false;
      return (await answer(`Step ${index + 1} is by hand: ${visible(step.title)}. Is it done?`, ['yes', 'no', 'quit'])) === 'yes';
    },
    async destructive(finding, step, index) {
      if (!prompter)
        return options.allow === 'destructive' || 'not run: with --yes, destructive and one-way steps need --allow=destructive';
      const what = `${step.risk}${step.reversible ? '' : ', cannot be undone'}`;
      return (
        (await answer(
          `Step ${index + 1} (${what}) on ${finding.object.kind} ${visible(keyOf(finding.object))}: ${visible(step.title)}. Run it?`,
          ['yes', 'no', 'quit'],
        )) === 'yes' || 'declined'
      );
    },
  };

  const backups = options.dryRun === 'none' ? new BackupStore(options.backupDir) : undefined;
  if (backups) section.backupDir = backups.dir;
  const executor = new FixExecutor(objects, {
    allow: options.allow,
    dryRun: options.dryRun,
    backups,
    actor: options.actor,
    now: () => new Date(),
    gates,
    interrupted: () => interrupted || options.interrupted?.() === true,
  });
  const fixes: FindingFix[] = [];
  const declined: Finding[] = [];
  const notRun: { finding: Finding; why: () => string }[] = [];
  let all = options.yes || !mayWrite;
  try {
    for (const [i, finding] of fixable.entries()) {
      const position = `[${i + 1}/${fixable.length}]`;
      if (quit || interrupted || options.interrupted?.() || executor.halted) {
        notRun.push({
          finding,
          why: () =>
            executor.halted && executor.halted !== 'interrupted'
              ? `run halted: ${executor.halted}`
              : interrupted || options.interrupted?.()
                ? 'interrupted'
                : 'quit',
        });
        continue;
      }
      options.print(
        `${renderPlan(finding, position, options.allow, { gates: prompter !== undefined, warnings: refused.get(finding.fingerprint) })}\n`,
      );
      if (!all) {
        const a = await answer(`Apply this plan to ${finding.object.kind} ${visible(keyOf(finding.object))}?`, [
          'yes',
          'no',
          'all',
          'quit',
        ]);
        if (a !== 'yes' && a !== 'all') {
          declined.push(finding);
          continue;
        }
        if (a === 'all') all = true;
      }
      const fix = await executor.run(finding, position);
      fixes.push(fix);
      options.print(`${renderFixResult(fix)}\n\n`);
    }
  } finally {
    prompter?.close();
    backups?.close();
  }
  if (executor.halted && executor.halted !== 'interrupted') {
    section.halted = executor.halted;
    options.print(`Run halted: ${visible(executor.halted)}. No further write was sent.\n`);
  }
  interrupted ||= options.interrupted?.() === true || executor.halted === 'interrupted';

  const attempted = fixes.filter((f) => f.attempted);
  const real = options.dryRun === 'none' && attempted.length > 0;
  // A plan that unblocks a deletion is done when the controller has finished it: wait for that before judging.
  const awaited = real ? fixes.filter((f) => f.attempted && !f.failed).flatMap((f) => f.finding.remediation?.awaitsDeletion ?? []) : [];
  const remaining = await waitForDeletions(objects, awaited, options);
  // The rescan covers every rule with a finding: a finding led by another one (same object, same cause) has no
  // plan of its own and goes away with its leader's fix.
  let stillThere = new Set(report.findings.map((f) => f.fingerprint));
  if (real) {
    try {
      stillThere = await options.rescan([...new Set(report.findings.map((f) => f.rule))]);
    } catch (err) {
      options.print(
        `The scan after the fix failed (${visible((err as Error).message ?? String(err))}); outcomes below are judged from the writes alone.\n`,
      );
    }
  }
  const reread = new Map<string, KubeObject | undefined | Error>();
  const current = async (target: ActionTarget) => {
    const key = targetKey(target);
    if (!reread.has(key)) {
      try {
        reread.set(key, await objects.get(target));
      } catch (err) {
        reread.set(key, err as Error);
      }
    }
    return reread.get(key);
  };

  for (const fix of fixes) {
    const { finding } = fix;
    if (fix.failed) {
      section.results.push(resultOf(finding, 'failed', fix.steps, fix.stopped));
      continue;
    }
    if (!fix.attempted) {
      // Stopped before its first write: declined when a person said no, not attempted when nobody could be asked.
      const declinedByPerson = (fix.stopKind === 'declined' || fix.stopKind === 'gate') && prompter !== undefined;
      section.results.push(resultOf(finding, declinedByPerson ? 'declined' : 'not-attempted', fix.steps, fix.stopped));
      continue;
    }
    if (options.dryRun !== 'none') {
      section.results.push(resultOf(finding, 'dry-run', fix.steps, fix.stopped));
      continue;
    }
    if (!stillThere.has(finding.fingerprint)) {
      const owed = fix.owed === true;
      const undeleted = (finding.remediation?.awaitsDeletion ?? []).filter((t) => remaining.has(targetKey(t)));
      const waitingFor = owed
        ? (fix.stopped ?? '')
        : undeleted.length > 0
          ? `${finding.remediation?.leftTo ?? 'a controller to finish the deletion'}: ${undeleted.map((t) => `${t.kind} ${keyOf(t)}`).join(', ')} still there${options.deletionWaitMs > 0 ? ` after ${humanDuration(options.deletionWaitMs)}` : ''}`
          : undefined;
      section.results.push({
        ...resultOf(finding, waitingFor === undefined ? 'fixed' : 'pending', fix.steps, fix.stopped),
        ...(waitingFor !== undefined ? { waitingFor } : {}),
      });
      continue;
    }
    const unmet: string[] = [];
    for (const write of fix.writes) {
      const now = await current(write.target);
      if (now instanceof Error) {
        unmet.push(`${write.target.kind} ${keyOf(write.target)} could not be read again: ${now.message}`);
        continue;
      }
      for (const e of write.expectations) if (!e.holds(now)) unmet.push(`${write.target.kind} ${keyOf(write.target)}: ${e.describe}`);
    }
    if (unmet.length > 0) {
      section.results.push({ ...resultOf(finding, 'still-present', fix.steps, fix.stopped), unmet });
      continue;
    }
    // Where the plan stopped and what it leaves to others are both still to come: say both (a plan cut at its cap
    // stops at the namespace checkpoint and leaves the objects past the cap to the next run).
    const waitingFor =
      [fix.stopped, finding.remediation?.leftTo].filter((w) => w !== undefined).join('; and ') ||
      'a controller to act on the change: every write of the plan still holds; scan again later';
    section.results.push({ ...resultOf(finding, 'pending', fix.steps, fix.stopped), waitingFor });
  }
  for (const finding of declined) section.results.push(resultOf(finding, 'declined', []));
  for (const { finding, why } of notRun) section.results.push(resultOf(finding, 'not-attempted', [], why()));

  const count = (o: FixOutcome) => section.results.filter((r) => r.outcome === o).length;
  const parts = (['fixed', 'pending', 'still-present', 'failed', 'dry-run', 'not-attempted', 'declined'] as const)
    .filter((o) => count(o) > 0)
    .map((o) => `${count(o)} ${o}`);
  for (const r of section.results.filter((x) => x.outcome === 'pending' || x.outcome === 'still-present')) {
    const detail = r.outcome === 'pending' ? `waiting for ${r.waitingFor}` : `no longer holds: ${r.unmet!.join('; ')}`;
    options.print(`${r.outcome}: ${r.object.kind} ${visible(keyOf(r.object))} (${r.rule}): ${visible(detail)}\n`);
  }
  options.print(
    `Fix: ${parts.join(', ') || 'nothing done'}.${interrupted ? ' Interrupted.' : ''}${backups && fixes.some((f) => f.attempted) ? ` Backups and audit log: ${backups.dir}` : ''}\n`,
  );

  if (interrupted) return { exitCode: EXIT_INTERRUPTED, section };
  const bad = count('failed') + count('still-present') + (section.halted ? 1 : 0);
  if (bad > 0) return { exitCode: ExitCode.FixIncomplete, section };
  // Pending, declined or not attempted: the work is not done, whatever the rescan shows.
  if (count('pending') + count('declined') + count('not-attempted') > 0) return { exitCode: ExitCode.Findings, section };
  const gone = new Set(report.findings.map((f) => f.fingerprint).filter((fp) => real && !stillThere.has(fp)));
  if (options.dryRun !== 'none') {
    // A dry run changes nothing; it passes where the real run would: a plan that ran to its end counts as done.
    for (const r of section.results) if (r.outcome === 'dry-run' && !r.stopped) gone.add(r.fingerprint);
    for (const f of report.findings) if (f.related?.ledBy && gone.has(f.related.ledBy)) gone.add(f.fingerprint);
  }
  return { exitCode: remainingExit(gone), section };
}

/**
 * Waits (up to `deletionWaitMs`, polling each second) until the objects are gone: not found, or found with another
 * uid (recreated). Returns the keys of those still there, which it also reports when it read them last.
 */
async function waitForDeletions(objects: ObjectClient, targets: ActionTarget[], options: FixFlowOptions): Promise<Set<string>> {
  const pending = new Map(targets.map((t) => [targetKey(t), t]));
  if (pending.size === 0) return new Set();
  const deadline = Date.now() + options.deletionWaitMs;
  let announced = options.deletionWaitMs === 0;
  for (;;) {
    for (const [key, target] of pending) {
      try {
        const now = await objects.get(target);
        if (!now || (target.uid !== undefined && now.metadata.uid !== target.uid)) pending.delete(key);
      } catch {
        // Unreadable now: judged as still there; the rescan and the outcome say more.
      }
    }
    if (pending.size === 0 || Date.now() >= deadline || options.interrupted?.()) return new Set(pending.keys());
    if (!announced) {
      announced = true;
      const names = [...pending.values()].slice(0, 3).map((t) => `${t.kind} ${visible(keyOf(t))}`);
      options.print(
        `Waiting up to ${humanDuration(options.deletionWaitMs)} (--timeout) for the deletion of ${names.join(', ')}${pending.size > 3 ? ` and ${pending.size - 3} more` : ''} to finish...\n`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, deadline - Date.now()))));
  }
}

function resultOf(finding: Finding, outcome: FixOutcome, steps: FindingFix['steps'], stopped?: string): FixResult {
  return { rule: finding.rule, fingerprint: finding.fingerprint, object: finding.object, outcome, ...(stopped ? { stopped } : {}), steps };
}
