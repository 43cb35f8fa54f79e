import type { KubeObject } from '../kube/object.ts';
import type { ActionTarget, JsonPatchOp, ManualRole, RemediationStep, Risk } from './actions.ts';

/**
 * Step constructors for rule authors. Preconditions are pinned here and in the executor, not by hand: every write
 * names its target as the scan saw it (`ctx.targetOf(obj)`: uid and resourceVersion), the executor refuses when
 * the object moved and sends the resourceVersion as a precondition the API server enforces; a later step on the
 * same object expects the version the earlier step produced. Rules add only the value tests that make their
 * write meaningful (`test /spec/paused == true` before setting it false).
 */
export type Step = Omit<RemediationStep, 'command'> & { command?: string };

interface WriteOptions {
  risk: Risk;
  reversible: boolean;
  /** What a human would type, when it reads better than the command derived from the action. */
  command?: string;
}

const withCommand = (step: Step, command: string | undefined): Step => (command ? { ...step, command } : step);
const withoutVersionTests = (ops: readonly JsonPatchOp[]) => ops.filter((op) => op.path !== '/metadata/resourceVersion');

/**
 * Something a person does or checks; shown, never run. A prerequisite (the default) before a write is a gate:
 * --fix asks whether it was done. See ManualRole for alternatives and asides.
 */
export function manual(title: string, instructions: string, options: { role?: ManualRole; command?: string } = {}): Step {
  const action = {
    type: 'manual' as const,
    instructions,
    ...(options.role && options.role !== 'prerequisite' ? { role: options.role } : {}),
  };
  return withCommand({ title, risk: 'safe', reversible: true, action }, options.command);
}

/**
 * Where --fix stops: the steps after it are taken only once the instructions hold. `required`: they finish the fix
 * (not an escalation), so the run is reported pending even though the rescan no longer sees the finding.
 */
export function checkpoint(title: string, instructions: string, options: { required?: boolean } = {}): Step {
  return {
    title,
    risk: 'safe',
    reversible: true,
    action: { type: 'checkpoint', instructions, ...(options.required ? { required: true } : {}) },
  };
}

export function jsonPatch(
  title: string,
  target: ActionTarget,
  ops: readonly JsonPatchOp[],
  options: WriteOptions & { subresource?: 'status' },
): Step {
  const action = {
    type: 'json-patch' as const,
    target,
    patch: withoutVersionTests(ops),
    ...(options.subresource ? { subresource: options.subresource } : {}),
  };
  return withCommand({ title, risk: options.risk, reversible: options.reversible, action }, options.command);
}

/** A JSON patch through the status subresource (the main resource ignores status changes). */
export function statusPatch(title: string, target: ActionTarget, ops: readonly JsonPatchOp[], options: WriteOptions): Step {
  return jsonPatch(title, target, ops, { ...options, subresource: 'status' });
}

export function mergePatch(title: string, target: ActionTarget, patch: Record<string, unknown>, options: WriteOptions): Step {
  return withCommand(
    { title, risk: options.risk, reversible: options.reversible, action: { type: 'merge-patch', target, patch } },
    options.command,
  );
}

/** Removes `finalizers` by value: each is tested at its index, removed from the highest index down. */
export function removeFinalizers(
  title: string,
  target: ActionTarget,
  obj: KubeObject,
  finalizers: readonly string[],
  options: WriteOptions,
): Step | undefined {
  const present = (obj.metadata.finalizers ?? []).map((f, i) => ({ f, i })).filter(({ f }) => finalizers.includes(f));
  if (present.length === 0) return undefined;
  const ops: JsonPatchOp[] = present.map(({ f, i }) => ({ op: 'test', path: `/metadata/finalizers/${i}`, value: f }));
  for (const { i } of [...present].reverse()) ops.push({ op: 'remove', path: `/metadata/finalizers/${i}` });
  return jsonPatch(title, target, ops, options);
}

/** A delete with uid and resourceVersion preconditions; undefined when the scan saw neither. */
export function deleteObject(title: string, target: ActionTarget, options: WriteOptions): Step | undefined {
  if (!target.uid || !target.resourceVersion) return undefined;
  const action = { type: 'delete' as const, target, preconditions: { uid: target.uid, resourceVersion: target.resourceVersion } };
  return withCommand({ title, risk: options.risk, reversible: options.reversible, action }, options.command);
}

/** The delete action for a target, its uid and resourceVersion as preconditions (empty when the scan saw none: refused). */
export function deleteAction(target: ActionTarget): Extract<RemediationStep['action'], { type: 'delete' }> {
  return { type: 'delete', target, preconditions: { uid: target.uid ?? '', resourceVersion: target.resourceVersion ?? '' } };
}
