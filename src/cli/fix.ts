import { createInterface } from 'node:readline/promises';
import { ExitCode } from '../errors.ts';
import type { Finding } from '../engine/finding.ts';
import type { Report } from '../report/report.ts';
import type { Risk } from '../fix/actions.ts';
import { BackupStore } from '../fix/backup.ts';
import { FixExecutor, planStop, type DryRun, type FindingFix } from '../fix/execute.ts';
import type { ObjectClient } from '../fix/object-client.ts';
import { renderFixResult, renderPlan } from '../fix/render.ts';

export type Answer = 'yes' | 'no' | 'all' | 'quit';

export interface Confirm {
  (question: string): Promise<Answer>;
}

/**
 * Asks on the terminal; anything but y/a/q means no, and the end of input means quit. Lines are queued, so
 * answers typed ahead of a question are not lost.
 */
export function terminalConfirm(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Confirm {
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let rl: ReturnType<typeof createInterface> | undefined;
  const nextLine = () => new Promise<string>((resolve) => {
    if (!rl) {
      rl = createInterface({ input, terminal: 'setRawMode' in input });
      rl.on('line', (line) => { (waiting.shift() ?? ((l: string) => lines.push(l)))(line); });
      rl.on('close', () => { for (const w of waiting.splice(0)) w('q'); lines.push('q'); });
    }
    const queued = lines.shift();
    if (queued !== undefined) resolve(queued);
    else waiting.push(resolve);
  });
  return async (question) => {
    output.write(`${question} [y]es/[n]o/[a]ll/[q]uit: `);
    const answer = (await nextLine()).trim().toLowerCase();
    return answer.startsWith('y') ? 'yes' : answer.startsWith('a') ? 'all' : answer.startsWith('q') ? 'quit' : 'no';
  };
}

export interface FixFlowOptions {
  allow: Risk;
  dryRun: DryRun;
  yes: boolean;
  /** undefined when there is no terminal to ask on. */
  confirm: Confirm | undefined;
  backupDir: string;
  actor: { user: string; context: string; server: string };
  /** Re-scans the rules of the fixed findings and returns the fingerprints still found. */
  rescan: (ruleIds: string[]) => Promise<Set<string>>;
  print: (text: string) => void;
}

/**
 * `pending`: the plan stopped at a checkpoint and the finding is still there, as expected until a controller has
 * acted on the first rung; run kubectl doctor again after the checkpoint's wait.
 */
export type FixOutcome = 'fixed' | 'pending' | 'still-present' | 'failed' | 'not-attempted' | 'declined' | 'dry-run';

export interface FixSection {
  dryRun: DryRun;
  allow: Risk;
  backupDir?: string;
  results: {
    rule: string;
    fingerprint: string;
    object: Finding['object'];
    outcome: FixOutcome;
    stopped?: string;
    steps: FindingFix['steps'];
  }[];
}

/** A finding has something for --fix to do when its plan holds a write before any checkpoint. */
export function isFixable(finding: Finding): boolean {
  const steps = finding.remediation?.steps ?? [];
  const end = planStop(steps, 'destructive')?.index;
  return steps.slice(0, end).some((s) => s.action.type !== 'manual');
}

/**
 * `--fix`: show each plan, ask (or take --yes), run it, then re-scan the affected rules and say per finding whether
 * it is fixed. Without a terminal and without --yes nothing is changed.
 */
export async function runFixFlow(report: Report, objects: ObjectClient, options: FixFlowOptions): Promise<{ exitCode: number; section: FixSection }> {
  const fixable = report.findings.filter(isFixable);
  const section: FixSection = { dryRun: options.dryRun, allow: options.allow, results: [] };
  if (fixable.length === 0) {
    options.print('Nothing to fix: no finding has a plan with steps kubectl doctor can run.\n');
    return { exitCode: report.findings.length > 0 ? ExitCode.Findings : ExitCode.Ok, section };
  }

  const mayWrite = options.dryRun !== 'client';
  if (mayWrite && !options.yes && !options.confirm) {
    for (const [i, f] of fixable.entries()) options.print(`${renderPlan(f, `[${i + 1}/${fixable.length}]`, options.allow)}\n\n`);
    options.print('No changes made: there is no terminal to confirm on. Review the plans above and pass --yes to apply them.\n');
    section.results = fixable.map((f) => ({ rule: f.rule, fingerprint: f.fingerprint, object: f.object, outcome: 'not-attempted', steps: [] }));
    return { exitCode: ExitCode.Findings, section };
  }

  const backups = options.dryRun === 'none' ? new BackupStore(options.backupDir) : undefined;
  if (backups) section.backupDir = backups.dir;
  const executor = new FixExecutor(objects, { allow: options.allow, dryRun: options.dryRun, backups, actor: options.actor, now: () => new Date() });
  const fixes: FindingFix[] = [];
  let all = options.yes || !mayWrite;
  for (const [i, finding] of fixable.entries()) {
    options.print(`${renderPlan(finding, `[${i + 1}/${fixable.length}]`, options.allow)}\n`);
    if (!all) {
      const answer = await options.confirm!(`Apply this plan to ${finding.object.kind} ${finding.object.name}?`);
      if (answer === 'quit') break;
      if (answer === 'no') {
        section.results.push({ rule: finding.rule, fingerprint: finding.fingerprint, object: finding.object, outcome: 'declined', steps: [] });
        continue;
      }
      if (answer === 'all') all = true;
    }
    const fix = await executor.run(finding);
    fixes.push(fix);
    options.print(`${renderFixResult(fix)}\n\n`);
  }

  const attempted = fixes.filter((f) => f.attempted && !f.failed);
  const stillThere = options.dryRun === 'none' && attempted.length > 0
    ? await options.rescan([...new Set(attempted.map((f) => f.finding.rule))])
    : new Set<string>();
  for (const fix of fixes) {
    const outcome: FixOutcome = fix.failed ? 'failed'
      : !fix.attempted ? 'not-attempted'
      : options.dryRun !== 'none' ? 'dry-run'
      : fix.owed ? 'pending'
      : !stillThere.has(fix.finding.fingerprint) ? 'fixed'
      : fix.stopped?.startsWith('checkpoint:') ? 'pending' : 'still-present';
    section.results.push({
      rule: fix.finding.rule, fingerprint: fix.finding.fingerprint, object: fix.finding.object, outcome,
      ...(fix.stopped ? { stopped: fix.stopped } : {}), steps: fix.steps,
    });
  }

  const count = (o: FixOutcome) => section.results.filter((r) => r.outcome === o).length;
  const parts = (['fixed', 'pending', 'still-present', 'failed', 'dry-run', 'not-attempted', 'declined'] as const)
    .filter((o) => count(o) > 0).map((o) => `${count(o)} ${o}`);
  options.print(`Fix: ${parts.join(', ') || 'nothing done'}.${backups && fixes.some((f) => f.attempted) ? ` Backups and audit log: ${backups.dir}` : ''}\n`);

  const bad = count('failed') + count('still-present');
  const open = count('pending') + count('not-attempted') + count('declined');
  return { exitCode: bad > 0 ? ExitCode.FixIncomplete : open > 0 ? ExitCode.Findings : ExitCode.Ok, section };
}
