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

export type JsonPatchOp =
  | { op: 'test' | 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/**
 * One declarative change. Every write carries its precondition: JSON patches `test` the resourceVersion and the
 * value they change; deletes name the uid and resourceVersion; a namespace finalize sends the object it read.
 */
export type Action =
  | { type: 'json-patch'; target: ActionTarget; subresource?: 'status'; patch: JsonPatchOp[] }
  | { type: 'merge-patch'; target: ActionTarget; subresource?: 'status'; patch: Record<string, unknown> }
  | { type: 'delete'; target: ActionTarget; preconditions: { uid: string; resourceVersion: string } }
  | { type: 'finalize-namespace'; target: ActionTarget; body: Record<string, unknown> }
  /** A step the doctor does not perform itself (installing a controller, running a vendor CLI): shown, never run. */
  | { type: 'manual'; instructions: string };

export interface RemediationStep {
  title: string;
  risk: Risk;
  reversible: boolean;
  action: Action;
  /** What a human would type; derived from the action unless the rule gives a better one. */
  command: string;
}

export interface Remediation {
  summary: string;
  steps: RemediationStep[];
}
