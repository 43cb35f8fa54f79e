import { keyOf, type KubeObject } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import { oneLine, statusMessage } from '../cluster/api-response.ts';
import type { ActionTarget, RemediationStep, Risk, WriteAction } from '../plan/actions.ts';
import { applyWrite, deepEqual, expectationsOf, PatchConflict, pointer, type Expectation } from '../plan/patch.ts';
import { isGate, needsOwnConfirmation, planStop } from '../plan/stop.ts';
import { stepKey } from '../plan/shared.ts';
import { pinAction } from '../plan/pin.ts';
import type { BackupStore } from './backup.ts';
import { pathOf, type ObjectClient } from './object-client.ts';

export type DryRun = 'none' | 'server' | 'client';

/**
 * `manual`: shown, not run; `confirmed`: a manual step a person said was done; `shared`: the same write was already
 * made for another finding in this run; `unknown`: the connection failed and re-reading could not tell whether the
 * write landed; `declined`: a person declined a destructive or one-way step.
 */
export type StepStatus =
  'applied' | 'dry-run' | 'manual' | 'confirmed' | 'shared' | 'not-run' | 'declined' | 'refused' | 'failed' | 'unknown';

export interface StepResult {
  index: number;
  title: string;
  risk: Risk;
  status: StepStatus;
  message?: string;
}

/** Why a plan stopped before its end. */
export type StopKind = 'checkpoint' | 'risk' | 'gate' | 'declined' | 'failed' | 'halted';

export interface FindingFix {
  finding: Finding;
  steps: StepResult[];
  /** Why the plan stopped before its end, if it did. */
  stopped?: string;
  stopKind?: StopKind;
  /** True when it stopped at a checkpoint whose later steps are still owed (`required`). */
  owed?: boolean;
  /** True when at least one write was sent (or would have been, in a dry run), or made for it by another finding. */
  attempted: boolean;
  /** A write was refused or failed, or its outcome is unknown: the plan stopped there. */
  failed: boolean;
  /** What the writes made for this finding establish, to check after the run (post-conditions). */
  writes: { target: ActionTarget; expectations: Expectation[] }[];
}

/** Questions `--fix` asks a person before going on; each returns true to go on. */
export interface Gates {
  /** A manual step before further writes: was it done? */
  manualDone(finding: Finding, step: RemediationStep, index: number): Promise<boolean>;
  /** A destructive or one-way write, named with its object: run it? `true`, or why not. */
  destructive(finding: Finding, step: RemediationStep, index: number): Promise<true | string>;
}

export interface FixOptions {
  /** The highest risk that may run: `safe` unless `--allow` says more. */
  allow: Risk;
  dryRun: DryRun;
  /** Where backups and the audit log go; undefined in dry runs (nothing changes, nothing to restore). */
  backups: BackupStore | undefined;
  actor: { user: string; context: string; server: string };
  now: () => Date;
  gates: Gates;
  /** True once the user interrupted the run (Ctrl-C): no further write starts. */
  interrupted?: () => boolean;
}

type WriteOutcome = { status: StepStatus; message?: string; halt?: string; after?: KubeObject };

/**
 * Runs plans: steps in order, each write re-checked against the object as it is now, backed up first, recorded
 * in the audit log before it is sent and after it returns, and sent with a precondition. A refusal stops that
 * plan; a failure whose cause is not the object (a read or connection error, an unknown outcome, an audit log that
 * cannot be written) halts the whole run: no further write is sent, and what was done is reported.
 */
export class FixExecutor {
  readonly #objects: ObjectClient;
  readonly #options: FixOptions;
  /** resourceVersions our own writes produced, so a later step on the same object expects them, not the scan's. */
  readonly #ourVersions = new Map<string, string>();
  /** Server dry run: the would-be object after the steps so far, which the next step on it starts from. */
  readonly #wouldBe = new Map<string, KubeObject | null>();
  /** Server dry run: the live resourceVersion of an object when its chain started, which preconditions name. */
  readonly #liveVersions = new Map<string, string>();
  /** Writes already made in this run, by what they write: a second finding needing the same write refers to it. */
  readonly #done = new Map<string, { position: string; target: ActionTarget; expectations: Expectation[] }>();
  #halted: string | undefined;

  constructor(objects: ObjectClient, options: FixOptions) {
    this.#objects = objects;
    this.#options = options;
  }

  /** Why the run stopped sending writes, if it did. */
  get halted(): string | undefined {
    return this.#halted;
  }

  async run(finding: Finding, position = ''): Promise<FindingFix> {
    const steps = finding.remediation?.steps ?? [];
    const results: StepResult[] = steps.map((s, index) => ({ index, title: s.title, risk: s.risk, status: 'not-run' }));
    const fix: FindingFix = { finding, steps: results, attempted: false, failed: false, writes: [] };
    const stopAt = (kind: StopKind, why: string) => {
      fix.stopKind = kind;
      fix.stopped = why;
      return fix;
    };
    const { allow } = this.#options;
    const stop = planStop(steps, allow);
    for (const [index, step] of steps.slice(0, stop?.index).entries()) {
      const result = results[index]!;
      const { action } = step;
      if (this.#halted) return stopAt('halted', `run halted before step ${index + 1}: ${this.#halted}`);
      if (this.#options.interrupted?.()) {
        this.#halted = 'interrupted';
        return stopAt('halted', `interrupted before step ${index + 1}`);
      }
      if (action.type === 'manual' || action.type === 'checkpoint') {
        if (!isGate(steps, index, allow)) {
          result.status = 'manual';
          continue;
        }
        // A dry run changes nothing: it goes through the gates to show what the real run would send after them.
        if (this.#options.dryRun !== 'none') {
          result.status = 'manual';
          result.message = 'a real run asks whether this was done';
          continue;
        }
        if (!(await this.#options.gates.manualDone(finding, step, index))) {
          return stopAt('gate', `step ${index + 1} is by hand: ${step.title}; do it, then run kubectl doctor --fix again and confirm it`);
        }
        result.status = 'confirmed';
        continue;
      }
      const key = stepKey(action);
      const earlier = this.#done.get(key);
      if (earlier) {
        fix.attempted = true;
        result.status = 'shared';
        result.message = `the same write as ${earlier.position}: made once`;
        fix.writes.push({ target: earlier.target, expectations: earlier.expectations });
        continue;
      }
      const confirmed =
        this.#options.dryRun === 'none' && needsOwnConfirmation(step) ? await this.#options.gates.destructive(finding, step, index) : true;
      if (confirmed !== true) {
        result.status = 'declined';
        return stopAt('declined', `step ${index + 1} (${step.risk}${step.reversible ? '' : ', one-way'}) ${confirmed}`);
      }
      fix.attempted = true;
      if (this.#options.dryRun === 'client') {
        result.status = 'dry-run';
        result.message = 'client dry run: not sent';
        continue;
      }
      const outcome = await this.#write(finding, step, action);
      result.status = outcome.status;
      if (outcome.message) result.message = outcome.message;
      if (outcome.halt) this.#halted = outcome.halt;
      if (outcome.status === 'applied' || outcome.status === 'dry-run') {
        const expectations = expectationsOf(action, action.target.uid);
        this.#done.set(key, { position: `${position ? `${position} ` : ''}step ${index + 1}`, target: action.target, expectations });
        fix.writes.push({ target: action.target, expectations });
        continue;
      }
      fix.failed = true;
      return stopAt(outcome.halt ? 'halted' : 'failed', `step ${index + 1} ${outcome.status}: ${outcome.message ?? ''}`);
    }
    if (stop?.kind === 'checkpoint') {
      stopAt('checkpoint', `checkpoint: ${stop.instructions}`);
      if (stop.owed) fix.owed = true;
    } else if (stop) {
      stopAt('risk', `step ${stop.index + 1} is ${stop.risk}: pass --allow=${stop.risk} to run it`);
    }
    return fix;
  }

  async #read(target: ActionTarget): Promise<{ ok: true; object: KubeObject | undefined } | { ok: false; message: string }> {
    try {
      return { ok: true, object: await this.#objects.get(target) };
    } catch (err) {
      return { ok: false, message: oneLine(err) };
    }
  }

  async #write(finding: Finding, step: RemediationStep, action: WriteAction): Promise<WriteOutcome> {
    const target = action.target;
    const subresource = 'subresource' in action ? action.subresource : undefined;
    const dryRun = this.#options.dryRun === 'server';
    const objectKey = target.uid ?? `${target.resource}/${keyOf(target)}`;
    const journal = dryRun ? undefined : this.#options.backups;
    const entry = {
      ...this.#options.actor,
      rule: finding.rule,
      fingerprint: finding.fingerprint,
      step: step.title,
      action: action.type,
      risk: step.risk,
      reversible: step.reversible,
      object: target,
      ...(subresource ? { subresource } : {}),
    };
    const record = (result: 'refused' | 'failed' | 'applied' | 'unknown', extra: Record<string, unknown>) => {
      try {
        journal?.audit({ time: this.#options.now().toISOString(), ...entry, result, ...extra });
        return undefined;
      } catch (err) {
        return `cannot write the audit log: ${oneLine(err)}`;
      }
    };

    // In a server dry run a later step on an object starts from what the earlier steps would have made of it.
    const chained = dryRun && this.#wouldBe.has(objectKey);
    let current: KubeObject | undefined;
    if (chained) {
      current = this.#wouldBe.get(objectKey) ?? undefined;
    } else {
      const read = await this.#read(target);
      if (!read.ok)
        return {
          status: 'failed',
          message: `cannot read ${describe(target)} before writing: ${read.message}`,
          halt: `a read failed: ${read.message}`,
        };
      current = read.object;
    }
    const refuse = (message: string): WriteOutcome => {
      const halt = record('refused', {
        message,
        ...(current?.metadata.resourceVersion ? { resourceVersionBefore: current.metadata.resourceVersion } : {}),
      });
      return { status: 'refused', message, ...(halt ? { halt } : {}) };
    };
    if (!current) return refuse(`${describe(target)} no longer exists${chained ? ' (an earlier step deletes it)' : ''}`);
    if (target.uid && current.metadata.uid !== target.uid) return refuse(`${describe(target)} was deleted and created again (uid changed)`);
    const expected = this.#ourVersions.get(current.metadata.uid ?? '') ?? target.resourceVersion;
    const rv = current.metadata.resourceVersion ?? '';
    if (!chained && expected && rv !== expected) {
      return refuse(`${describe(target)} changed since the scan (resourceVersion ${expected}, now ${rv}); run kubectl doctor again`);
    }
    if (action.type === 'json-patch') {
      const stale = action.patch.find(
        (op) => op.op === 'test' && op.path !== '/metadata/resourceVersion' && !deepEqual(pointer(current, op.path), op.value),
      );
      if (stale && stale.op === 'test') {
        return refuse(
          `${describe(target)}: ${stale.path} is no longer ${JSON.stringify(stale.value)} (now ${JSON.stringify(pointer(current, stale.path)) ?? 'absent'})`,
        );
      }
    }

    let request: WriteRequest;
    try {
      request = chained ? chainedRequestOf(action, current, this.#liveVersions.get(objectKey) ?? rv) : requestOf(action, current);
    } catch (err) {
      if (err instanceof PatchConflict) return refuse(`${describe(target)}: ${err.message}`);
      throw err;
    }

    let backup: { file: string; sha256: string } | undefined;
    if (journal) {
      try {
        backup = journal.save(current);
      } catch (err) {
        const message = `cannot back up ${describe(target)}: ${oneLine(err)}`;
        return { status: 'failed', message, halt: message };
      }
      // Write-ahead: the intent (with the backup) is on disk before the request leaves; no log line, no write.
      try {
        journal.audit({
          time: this.#options.now().toISOString(),
          ...entry,
          result: 'intent',
          resourceVersionBefore: rv,
          backup: backup.file,
          backupSha256: backup.sha256,
        });
      } catch (err) {
        const message = `cannot write the audit log, so nothing is sent: ${oneLine(err)}`;
        return { status: 'failed', message, halt: message };
      }
    }
    const written = { resourceVersionBefore: rv, ...(backup ? { backup: backup.file, backupSha256: backup.sha256 } : {}) };

    let res;
    try {
      res = await this.#objects.write(request.method, request.path, request.body, { contentType: request.contentType, dryRun });
    } catch (err) {
      const message = oneLine(err);
      if (dryRun) return { status: 'failed', message, halt: `the connection failed: ${message}` };
      return this.#settleUnknown(target, action, rv, message, (result, extra) => record(result, { ...written, ...extra }));
    }
    if (res.status < 200 || res.status > 299) {
      // A failed JSON-patch `test` comes back as a bare 422 that does not say which test failed.
      const precondition = action.type === 'json-patch' && res.status === 422 ? 'a precondition (test operation) no longer holds: ' : '';
      const message = `${precondition}${res.status} ${reasonOf(res.body)}${statusMessage(res)}`;
      const status = res.status === 409 || res.status === 422 ? 'refused' : 'failed';
      const halt = record(status, { ...written, message });
      return { status, message, ...(halt ? { halt } : {}) };
    }
    const after = res.body as KubeObject | undefined;
    if (dryRun) {
      if (!this.#liveVersions.has(objectKey)) this.#liveVersions.set(objectKey, rv);
      this.#wouldBe.set(objectKey, action.type === 'delete' ? null : after?.metadata ? after : (applyWrite(current, action) ?? null));
      return { status: 'dry-run', message: 'server dry run: validated, not persisted' };
    }
    const afterVersion = after?.metadata?.resourceVersion;
    if (afterVersion && current.metadata.uid) this.#ourVersions.set(current.metadata.uid, afterVersion);
    const halt = record('applied', {
      ...written,
      ...(afterVersion && action.type !== 'delete' ? { resourceVersionAfter: afterVersion } : {}),
    });
    return { status: 'applied', ...(halt ? { halt } : {}) };
  }

  /**
   * The request failed without an answer (timeout, reset): it may or may not have reached the server. Re-read the
   * object and decide from what is there, never by guessing; when even that fails, the outcome is unknown, the log
   * says so and the run halts.
   */
  async #settleUnknown(
    target: ActionTarget,
    action: WriteAction,
    rvBefore: string,
    cause: string,
    record: (result: 'failed' | 'applied' | 'unknown', extra: Record<string, unknown>) => string | undefined,
  ): Promise<WriteOutcome> {
    const halt = `the connection failed during a write: ${cause}`;
    const read = await this.#read(target);
    if (!read.ok) {
      const message = `the connection failed (${cause}) and re-reading ${describe(target)} failed too (${read.message}): whether the write landed is unknown; check it before running again`;
      record('unknown', { message });
      return { status: 'unknown', message, halt };
    }
    const now = read.object;
    const same = now !== undefined && (!target.uid || now.metadata.uid === target.uid);
    if (same && now.metadata.resourceVersion === rvBefore) {
      const message = `the connection failed (${cause}); re-reading shows the object unchanged: the write did not land`;
      record('failed', { message });
      return { status: 'failed', message, halt };
    }
    if (expectationsOf(action, target.uid).every((e) => e.holds(now))) {
      if (same && now.metadata.uid) this.#ourVersions.set(now.metadata.uid, now.metadata.resourceVersion ?? '');
      const message = `the connection failed (${cause}), but re-reading shows the write applied`;
      record('applied', {
        message,
        ...(same && action.type !== 'delete' && now.metadata.resourceVersion ? { resourceVersionAfter: now.metadata.resourceVersion } : {}),
      });
      return { status: 'applied', message, halt };
    }
    const message = `the connection failed (${cause}) and ${describe(target)} has changed since, but not as this write would: whether it landed is unknown; check it before running again`;
    record('unknown', { message, ...(same && now.metadata.resourceVersion ? { resourceVersionNow: now.metadata.resourceVersion } : {}) });
    return { status: 'unknown', message, halt };
  }
}

interface WriteRequest {
  method: 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body: unknown;
  contentType?: string;
}

/** The HTTP request for an action pinned to the object as just read. */
export function requestOf(action: WriteAction, current: KubeObject): WriteRequest {
  const rv = current.metadata.resourceVersion ?? '';
  const pinned = pinAction(action, rv);
  switch (pinned.type) {
    case 'json-patch':
      return {
        method: 'PATCH',
        path: pathOf(pinned.target, pinned.subresource),
        body: pinned.patch,
        contentType: 'application/json-patch+json',
      };
    case 'merge-patch':
      return {
        method: 'PATCH',
        path: pathOf(pinned.target, pinned.subresource),
        body: pinned.patch,
        contentType: 'application/merge-patch+json',
      };
    case 'delete':
      return {
        method: 'DELETE',
        path: pathOf(pinned.target),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: current.metadata.uid, resourceVersion: rv } },
      };
    case 'finalize-namespace':
      return { method: 'PUT', path: `${pathOf(pinned.target)}/finalize`, body: pinned.body };
  }
}

/**
 * A server-dry-run step on an object an earlier dry-run step already changed: the change is applied here to the
 * would-be object and sent whole (PUT, dryRun=All) with the live resourceVersion, so the server validates and
 * admits the state the real run would produce. Deletes go as they are (their preconditions name the live object).
 */
function chainedRequestOf(action: WriteAction, wouldBe: KubeObject, liveVersion: string): WriteRequest {
  if (action.type === 'delete') return requestOf(action, { ...wouldBe, metadata: { ...wouldBe.metadata, resourceVersion: liveVersion } });
  const next = applyWrite(wouldBe, action)!;
  const body = { ...next, metadata: { ...next.metadata, resourceVersion: liveVersion } };
  const path = action.type === 'finalize-namespace' ? `${pathOf(action.target)}/finalize` : pathOf(action.target, action.subresource);
  return { method: 'PUT', path, body };
}

function describe(target: ActionTarget): string {
  return `${target.kind} ${keyOf(target)}`;
}

function reasonOf(body: unknown): string {
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason ? `${reason}: ` : '';
}
