import { keyOf } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import type { RemediationStep, Risk } from '../plan/actions.ts';
import { isCommand, isGate, needsOwnConfirmation, planStop } from '../plan/stop.ts';
import { visible } from '../util/terminal.ts';
import type { FindingFix } from './execute.ts';

function stepLabel(step: RemediationStep): string {
  if (step.action.type === 'manual')
    return step.action.role === 'alternative' ? 'by hand, or instead' : step.action.role === 'aside' ? 'by hand, aside' : 'by hand';
  if (step.action.type === 'checkpoint') return 'checkpoint';
  return `${step.risk}, ${step.reversible ? 'reversible' : 'one-way'}`;
}

function indent(text: string, prefix: string): string {
  return visible(text, { keepNewlines: true })
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

/**
 * The plan of one finding as `--fix` shows it before asking: every step, its risk, what `--fix` will ask, and the
 * command a human would type (prose instructions are shown as prose, not after `$ `). Cluster data is escaped.
 */
export function renderPlan(
  finding: Finding,
  position: string,
  allow: Risk,
  options: { gates?: boolean; warnings?: readonly string[] | undefined } = {},
): string {
  const lines = [
    `${position} ${finding.severity.toUpperCase()}  ${finding.rule}  ${finding.object.kind} ${visible(keyOf(finding.object))}`,
    `    ${visible(finding.message)}`,
    `    plan: ${visible(finding.remediation?.summary ?? '')}`,
  ];
  const steps = finding.remediation?.steps ?? [];
  const stop = planStop(steps, allow);
  for (const [i, step] of steps.entries()) {
    const notes: string[] = [];
    if (i === stop?.index) notes.push(stop.kind === 'checkpoint' ? '--fix stops here' : `--fix stops here: needs --allow=${stop.risk}`);
    else if (stop === undefined || i < stop.index) {
      if (isGate(steps, i, allow)) notes.push(options.gates ? '--fix asks whether it was done' : '--fix stops here unless confirmed done');
      else if (needsOwnConfirmation(step))
        notes.push(options.gates ? '--fix asks before this step' : 'runs only with --allow=destructive or when confirmed');
    }
    lines.push(`    ${i + 1}. [${stepLabel(step)}] ${visible(step.title)}${notes.length > 0 ? `  <- ${notes.join('; ')}` : ''}`);
    const { action } = step;
    const prose = action.type === 'checkpoint' || (action.type === 'manual' && !isCommand(action.instructions));
    lines.push(indent(step.command, prose ? '         ' : '         $ '));
  }
  const established = finding.remediation?.establishes ?? [];
  if (established.length > 0)
    lines.push(
      `    establishes: ${visible(established.slice(0, 4).join('; '))}${established.length > 4 ? `; and ${established.length - 4} more` : ''}`,
    );
  if (finding.remediation?.leftTo) lines.push(`    then left to: ${visible(finding.remediation.leftTo)}`);
  const awaited = finding.remediation?.awaitsDeletion ?? [];
  if (awaited.length > 0)
    lines.push(
      `    done once deleted: ${awaited
        .slice(0, 4)
        .map((t) => `${t.kind} ${visible(keyOf(t))}`)
        .join(', ')}${awaited.length > 4 ? ` and ${awaited.length - 4} more` : ''}`,
    );
  // Last, right before the question: a write the API server will refuse (admission/webhook-backend-unavailable).
  for (const warning of options.warnings ?? []) lines.push(`    warning: ${visible(warning)}`);
  return lines.join('\n');
}

/** What happened to each step, after `--fix` ran a plan. */
export function renderFixResult(fix: FindingFix): string {
  const lines = fix.steps
    .filter((s) => s.status !== 'not-run' || fix.stopped === undefined)
    .map((s) => `    ${s.index + 1}. ${s.status.padEnd(8)} ${visible(s.title)}${s.message ? `: ${visible(s.message)}` : ''}`);
  if (fix.stopped) lines.push(`    stopped: ${visible(fix.stopped)}`);
  return lines.join('\n');
}
