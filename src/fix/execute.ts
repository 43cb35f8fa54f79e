import { keyOf, type KubeObject } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import { oneLine, statusMessage } from '../cluster/api-response.ts';
import { RISKS, type Action, type ActionTarget, type JsonPatchOp, type RemediationStep, type Risk } from './actions.ts';
import type { AuditEntry, BackupStore } from './backup.ts';
import { pathOf, type ObjectClient } from './object-client.ts';

export type DryRun = 'none' | 'server' | 'client';

export type StepStatus = 'applied' | 'dry-run' | 'manual' | 'not-run' | 'refused' | 'failed';

export interface StepResult {
  index: number;
  title: string;
  risk: Risk;
  status: StepStatus;
  message?: string;
}

export interface FindingFix {
  finding: Finding;
  steps: StepResult[];
  /** Why the plan stopped before its end, if it did. */
  stopped?: string;
  /** True when it stopped at a checkpoint whose later steps are still owed (`required`). */
  owed?: boolean;
  /** True when at least one write was sent (or would have been, in a dry run). */
  attempted: boolean;
  /** A write was refused or failed: the plan stopped there. */
  failed: boolean;
}

export interface FixOptions {
  /** The highest risk that may run: `safe` unless `--allow` says more. */
  allow: Risk;
  dryRun: DryRun;
  /** Where backups and the audit log go; undefined in dry runs (nothing changes, nothing to restore). */
  backups: BackupStore | undefined;
  actor: { user: string; context: string; server: string };
  now: () => Date;
}

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
    if (action.type === 'checkpoint') return { index, kind: 'checkpoint', instructions: action.instructions, owed: action.required === true };
    if (action.type !== 'manual' && !riskAllowed(risk, allow)) return { index, kind: 'risk', risk };
  }
  return undefined;
}

/**
 * Runs one finding's plan: steps in order, each write re-checked against the object as it is now, backed up first,
 * and sent with a precondition (resourceVersion, plus the rule's value tests). Any refusal stops the plan there.
 */
export class FixExecutor {
  readonly #objects: ObjectClient;
  readonly #options: FixOptions;
  /** resourceVersions our own writes produced, so a later step on the same object expects them, not the scan's. */
  readonly #ourVersions = new Map<string, string>();

  constructor(objects: ObjectClient, options: FixOptions) {
    this.#objects = objects;
    this.#options = options;
  }

  async run(finding: Finding): Promise<FindingFix> {
    const steps = finding.remediation?.steps ?? [];
    const results: StepResult[] = steps.map((s, index) => ({ index, title: s.title, risk: s.risk, status: 'not-run' }));
    const fix: FindingFix = { finding, steps: results, attempted: false, failed: false };
    const stop = planStop(steps, this.#options.allow);
    for (const [index, step] of steps.slice(0, stop?.index).entries()) {
      const result = results[index]!;
      const { action } = step;
      if (action.type === 'manual' || action.type === 'checkpoint') {
        result.status = 'manual';
        continue;
      }
      fix.attempted = true;
      if (this.#options.dryRun === 'client') {
        result.status = 'dry-run';
        result.message = 'client dry run: not sent';
        continue;
      }
      const outcome = await this.#write(finding, step.title, step.risk, step.reversible, action);
      result.status = outcome.status;
      if (outcome.message) result.message = outcome.message;
      if (outcome.status === 'refused' || outcome.status === 'failed') {
        fix.failed = true;
        fix.stopped = `step ${index + 1} ${outcome.status}: ${outcome.message}`;
        return fix;
      }
    }
    if (stop?.kind === 'checkpoint') {
      fix.stopped = `checkpoint: ${stop.instructions}`;
      if (stop.owed) fix.owed = true;
    } else if (stop) {
      fix.stopped = `step ${stop.index + 1} is ${stop.risk}: pass --allow=${stop.risk} to run it`;
    }
    return fix;
  }

  async #write(finding: Finding, title: string, risk: Risk, reversible: boolean, action: WriteAction): Promise<{ status: StepStatus; message?: string }> {
    const target = action.target;
    const subresource = 'subresource' in action ? action.subresource : undefined;
    const audit = (result: AuditEntry['result'], extra: Partial<AuditEntry>) => {
      this.#options.backups?.audit({
        time: this.#options.now().toISOString(), ...this.#options.actor, rule: finding.rule, fingerprint: finding.fingerprint,
        step: title, action: action.type, risk, reversible, object: target, ...(subresource ? { subresource } : {}), result, ...extra,
      });
    };
    const refuse = (message: string, current?: KubeObject) => {
      audit('refused', { message, ...(current?.metadata.resourceVersion ? { resourceVersionBefore: current.metadata.resourceVersion } : {}) });
      return { status: 'refused' as const, message };
    };

    const current = await this.#objects.get(target);
    if (!current) return refuse(`${describe(target)} no longer exists`);
    if (target.uid && current.metadata.uid !== target.uid) return refuse(`${describe(target)} was deleted and created again (uid changed)`, current);
    const expected = this.#ourVersions.get(current.metadata.uid ?? '') ?? target.resourceVersion;
    const rv = current.metadata.resourceVersion ?? '';
    if (expected && rv !== expected) {
      return refuse(`${describe(target)} changed since the scan (resourceVersion ${expected}, now ${rv}); run kubectl doctor again`, current);
    }
    if (action.type === 'json-patch') {
      const stale = action.patch.find((op) => op.op === 'test' && op.path !== '/metadata/resourceVersion' && !deepEqual(pointer(current, op.path), op.value));
      if (stale && stale.op === 'test') return refuse(`${describe(target)}: ${stale.path} is no longer ${JSON.stringify(stale.value)} (now ${JSON.stringify(pointer(current, stale.path)) ?? 'absent'})`, current);
    }

    const dryRun = this.#options.dryRun === 'server';
    const backup = dryRun ? undefined : this.#options.backups?.save(current);
    const request = requestOf(action, current);
    let res;
    try {
      res = await this.#objects.write(request.method, request.path, request.body, { contentType: request.contentType, dryRun });
    } catch (err) {
      const message = oneLine(err);
      if (!dryRun) audit('failed', { message, resourceVersionBefore: rv, ...(backup ? { backup } : {}) });
      return { status: 'failed', message };
    }
    if (res.status < 200 || res.status > 299) {
      // A failed JSON-patch `test` comes back as a bare 422 that does not say which test failed.
      const precondition = action.type === 'json-patch' && res.status === 422 ? 'a precondition (test operation) no longer holds: ' : '';
      const message = `${precondition}${res.status} ${reasonOf(res.body)}${statusMessage(res)}`;
      if (!dryRun) audit('failed', { message, resourceVersionBefore: rv, ...(backup ? { backup } : {}) });
      return { status: res.status === 409 || res.status === 422 ? 'refused' : 'failed', message };
    }
    const after = (res.body as KubeObject | undefined)?.metadata?.resourceVersion;
    if (dryRun) return { status: 'dry-run', message: 'server dry run: validated, not persisted' };
    if (after && current.metadata.uid) this.#ourVersions.set(current.metadata.uid, after);
    audit('applied', { resourceVersionBefore: rv, ...(after && action.type !== 'delete' ? { resourceVersionAfter: after } : {}), ...(backup ? { backup } : {}) });
    return { status: 'applied' };
  }
}

interface WriteRequest {
  method: 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body: unknown;
  contentType?: string;
}

/**
 * The action with its resourceVersion precondition set to `rv` (or removed, when undefined): a `test` op first in a
 * JSON patch, `metadata.resourceVersion` in a merge patch or a finalize body. The API server refuses the write with a
 * conflict if the object moved. Deletes carry theirs in DeleteOptions (see `requestOf`).
 */
export function pinAction<A extends WriteAction>(action: A, rv: string | undefined): A {
  const withRv = (metadata: unknown) => {
    const { resourceVersion: _drop, ...rest } = (metadata ?? {}) as Record<string, unknown>;
    return rv === undefined ? rest : { ...rest, resourceVersion: rv };
  };
  switch (action.type) {
    case 'json-patch': {
      const ops = action.patch.filter((op) => op.path !== '/metadata/resourceVersion');
      return { ...action, patch: rv === undefined ? ops : [{ op: 'test', path: '/metadata/resourceVersion', value: rv }, ...ops] };
    }
    case 'merge-patch':
      return { ...action, patch: { ...action.patch, metadata: withRv(action.patch.metadata) } };
    case 'finalize-namespace':
      return { ...action, body: { ...action.body, metadata: withRv(action.body.metadata) } };
    case 'delete':
      return action;
  }
  return action;
}

export type WriteAction = Exclude<Action, { type: 'manual' | 'checkpoint' }>;

/** The HTTP request for an action pinned to the object as just read. */
export function requestOf(action: WriteAction, current: KubeObject): WriteRequest {
  const rv = current.metadata.resourceVersion ?? '';
  const pinned = pinAction(action, rv);
  switch (pinned.type) {
    case 'json-patch':
      return { method: 'PATCH', path: pathOf(pinned.target, pinned.subresource), body: pinned.patch, contentType: 'application/json-patch+json' };
    case 'merge-patch':
      return { method: 'PATCH', path: pathOf(pinned.target, pinned.subresource), body: pinned.patch, contentType: 'application/merge-patch+json' };
    case 'delete':
      return {
        method: 'DELETE', path: pathOf(pinned.target),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: current.metadata.uid, resourceVersion: rv } },
      };
    case 'finalize-namespace':
      return { method: 'PUT', path: `${pathOf(pinned.target)}/finalize`, body: pinned.body };
  }
}

function describe(target: ActionTarget): string {
  return `${target.kind} ${keyOf(target)}`;
}

function reasonOf(body: unknown): string {
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason ? `${reason}: ` : '';
}

/** RFC 6901 JSON pointer lookup. */
export function pointer(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let cur: unknown = doc;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
