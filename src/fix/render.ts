import { keyOf } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import type { RemediationStep } from './actions.ts';
import { planStop, type FindingFix } from './execute.ts';
import type { Risk } from './actions.ts';

function stepLabel(step: RemediationStep): string {
  if (step.action.type === 'manual') return 'manual';
  if (step.action.type === 'checkpoint') return 'checkpoint';
  return `${step.risk}, ${step.reversible ? 'reversible' : 'one-way'}`;
}

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => `${prefix}${line}`).join('\n');
}

/** The plan of one finding as `--fix` shows it before asking: every step, its risk, and the command a human would type. */
export function renderPlan(finding: Finding, position: string, allow: Risk): string {
  const lines = [
    `${position} ${finding.severity.toUpperCase()}  ${finding.rule}  ${finding.object.kind} ${keyOf(finding.object)}`,
    `    ${finding.message}`,
    `    plan: ${finding.remediation?.summary ?? ''}`,
  ];
  const stop = planStop(finding.remediation?.steps ?? [], allow);
  for (const [i, step] of (finding.remediation?.steps ?? []).entries()) {
    const note = i !== stop?.index ? '' : stop.kind === 'checkpoint' ? '  <- --fix stops here' : `  <- --fix stops here: needs --allow=${stop.risk}`;
    lines.push(`    ${i + 1}. [${stepLabel(step)}] ${step.title}${note}`);
    lines.push(indent(step.command, '         $ '));
  }
  return lines.join('\n');
}

/** What happened to each step, after `--fix` ran a plan. */
export function renderFixResult(fix: FindingFix): string {
  const lines = fix.steps
    .filter((s) => s.status !== 'not-run' || fix.stopped === undefined)
    .map((s) => `    ${s.index + 1}. ${s.status.padEnd(8)} ${s.title}${s.message ? `: ${s.message}` : ''}`);
  if (fix.stopped) lines.push(`    stopped: ${fix.stopped}`);
  return lines.join('\n');
}
