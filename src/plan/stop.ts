import { RISKS, type RemediationStep, type Risk } from './actions.ts';

export function riskAllowed(risk: Risk, allow: Risk): boolean {
  return RISKS.indexOf(risk) <= RISKS.indexOf(allow);
}

/** Where `--fix` stops in a plan, and why: the one place that says what a plan being a sequence means. */
export type PlanStop =
  | { index: number; kind: 'checkpoint'; instructions: string; /** The steps after it are owed, not an escalation. */ owed: boolean }
  | { index: number; kind: 'risk'; risk: Risk };

/** The first step `--fix --allow=<allow>` may not run: a checkpoint, or a write above the allowed risk. */
export function planStop(steps: readonly RemediationStep[], allow: Risk): PlanStop | undefined {
  for (const [index, { action, risk }] of steps.entries()) {
    if (action.type === 'checkpoint')
      return { index, kind: 'checkpoint', instructions: action.instructions, owed: action.required === true };
    if (action.type !== 'manual' && !riskAllowed(risk, allow)) return { index, kind: 'risk', risk };
  }
  return undefined;
}

/** The steps `--fix --allow=<allow>` may reach: everything before the plan's stop. */
export function runnableSteps(steps: readonly RemediationStep[], allow: Risk): readonly RemediationStep[] {
  return steps.slice(0, planStop(steps, allow)?.index);
}

/** True when `--fix --allow=<allow>` would send at least one write for this plan. */
export function writesAt(steps: readonly RemediationStep[], allow: Risk): boolean {
  return runnableSteps(steps, allow).some((s) => s.action.type !== 'manual' && s.action.type !== 'checkpoint');
}

/**
 * A manual step followed by a write that may run is a gate: what it asks for (a check, a command on another
 * cluster) must be done before that write, so `--fix` goes on only when a person confirms it was done.
 */
export function isGate(steps: readonly RemediationStep[], index: number, allow: Risk): boolean {
  const runnable = runnableSteps(steps, allow);
  const action = steps[index]?.action;
  return (
    action?.type === 'manual' &&
    (action.role ?? 'prerequisite') === 'prerequisite' &&
    index < runnable.length &&
    runnable.slice(index + 1).some((s) => s.action.type !== 'manual' && s.action.type !== 'checkpoint')
  );
}

/** Destructive or one-way writes need a confirmation of their own (or --yes with --allow=destructive). */
export function needsOwnConfirmation(step: RemediationStep): boolean {
  return step.action.type !== 'manual' && step.action.type !== 'checkpoint' && (step.risk === 'destructive' || !step.reversible);
}

/** Manual instructions that are a command to type (shown after `$ `), as opposed to prose. */
export function isCommand(instructions: string): boolean {
  return /^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(kubectl|helm|vela|clusterctl|fleet|sleep|kubectl-doctor|curl|jq)\s/.test(instructions);
}
