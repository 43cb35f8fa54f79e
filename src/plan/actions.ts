import type { ObjectRef } from '../kube/object.ts';

/** How bad it is if a step does the wrong thing. `--fix` runs `safe` steps; the others need `--allow=<risk>`. */
export type Risk = 'safe' | 'disruptive' | 'destructive';
export const RISKS: readonly Risk[] = ['safe', 'disruptive', 'destructive'];

/** An object a step writes to: its reference plus the resource name that addresses it (`addons.harvesterhci.io`). */
export interface ActionTarget extends ObjectRef {
  resource: string;
  namespaced: boolean;
  /** The resourceVersion the scan saw: `--fix` refuses to write when the object has changed since. */
  resourceVersion?: string;
}

export type ManualRole = 'prerequisite' | 'alternative' | 'aside';

export type JsonPatchOp = { op: 'test' | 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/**
 * One declarative change. Every write carries its precondition: JSON patches `test` the resourceVersion and the
 * value they change; deletes name the uid and resourceVersion; a namespace finalize sends the object it read.
 */
export type Action =
  | { type: 'json-patch'; target: ActionTarget; subresource?: 'status'; patch: JsonPatchOp[] }
  | { type: 'merge-patch'; target: ActionTarget; subresource?: 'status'; patch: Record<string, unknown> }
  | { type: 'delete'; target: ActionTarget; preconditions: { uid: string; resourceVersion: string } }
  | { type: 'finalize-namespace'; target: ActionTarget; body: Record<string, unknown> }
  /**
   * Something a person does; shown in order, never run. `prerequisite` (the default): the writes after it depend
   * on it (a check, a command on another cluster), so `--fix` goes on only when a person confirms it was done.
   * `alternative`: another way to do what the writes after it do (a vendor CLI), not needed when they run.
   * `aside`: a task of its own that the writes do not depend on (a decision, an upgrade, a verification).
   */
  | { type: 'manual'; instructions: string; role?: ManualRole }
  /**
   * Where `--fix` stops: the steps after it are the next rung of the ladder, to take only if the finding is still
   * there after the steps before it had time to work (the instructions say how long and what to look at).
   */
  | {
      type: 'checkpoint';
      instructions: string;
      /**
       * The steps after it finish the fix (a continuation after a wait), not an escalation to take only if the
       * finding persists: a run that stops here is `pending` even when the rescan no longer sees the finding.
       */
      required?: boolean;
    };

/** The steps that write to the cluster. */
export type WriteAction = Exclude<Action, { type: 'manual' | 'checkpoint' }>;

export interface RemediationStep {
  title: string;
  risk: Risk;
  reversible: boolean;
  action: Action;
  /** What a human would type; derived from the action unless the rule gives a better one. */
  command: string;
}

/**
 * A plan is a sequence, not a menu: `--fix` runs the steps in order and stops at the first one it may not run
 * (a `checkpoint`, or a risk above `--allow`), so escalation belongs behind a checkpoint.
 */
export interface Remediation {
  summary: string;
  steps: RemediationStep[];
  /**
   * What is left once the plan's writes are done, to a controller or a person: the finding may stay until then.
   * A run whose writes all still hold then reports the finding `pending` (waiting for this), not `still-present`.
   */
  leftTo?: string;
  /**
   * What the plan's writes establish, derived from them (`Cluster ns/c: /spec/paused is false`): after `--fix`, a
   * finding still present while all of these hold is `pending`; one of them no longer holding is `still-present`.
   */
  establishes?: string[];
  /**
   * Objects whose deletion the plan unblocks and a controller then finishes (it runs its cleanup, then removes its
   * finalizer): the failure is over only once they are gone. `--fix` waits for them (up to --timeout) before judging;
   * a finding the rescan no longer sees is `fixed` only when they are gone, else `pending`, waiting for `leftTo`.
   */
  awaitsDeletion?: ActionTarget[];
}
