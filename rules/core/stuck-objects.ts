import { manual as manualStep, removeFinalizers } from '../../src/plan/builder.ts';
import type { FindingDetails, ListedType, RuleContext } from '../../src/engine/rule.ts';
import type { ActionTarget } from '../../src/plan/actions.ts';
import { objectArgs, shellQuote } from '../../src/plan/command.ts';
import { field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { ageEvidence, deletionAgeMs, HOUR_MS, humanDuration, MINUTE_MS } from '../lib/age.ts';
import { FinalizerOwners, isOrphaned, type FinalizerOwner } from './finalizer-owners.ts';
import { compareStrings } from '../../src/util/collections.ts';

/** Deletions younger than this are normal work in progress (`--min-age` overrides it). */
export const DEFAULT_MIN_AGE_MS = 15 * MINUTE_MS;
/** A deletion older than this is an error whoever owns the finalizer. */
export const ESCALATE_AFTER_MS = HOUR_MS;
/** What the finalizer-owner analysis reads of a Deployment (readiness, gateDisabled): a scan keeps no more of it. */
export const DEPLOYMENT_FIELDS = [
  'spec.replicas',
  'status.readyReplicas',
  'spec.template.spec.containers[].command',
  'spec.template.spec.containers[].args',
];
/** At most this many objects are listed in one finding's evidence and plan; the rest are counted. */
export const MAX_LISTED = 50;

export type Step = NonNullable<FindingDetails['remediation']>['steps'][number];
export type ScanContext = Pick<RuleContext, 'now' | 'namespace' | 'targetOf'>;

export interface StuckObject {
  obj: KubeObject;
  ageMs: number;
  /** One per finalizer, in the object's order. */
  owners: FinalizerOwner[];
}

/** `Machine/fleet/prod-a-md-0`: kind and key, as kubectl names objects across kinds. */
export function objectLabel(obj: KubeObject): string {
  return `${obj.kind}/${keyOf({ namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' })}`;
}

/** The managers (managedFields) that set `finalizer` on the object: who added it. Dumps without managedFields give none. */
export function addedBy(obj: KubeObject, finalizer: string): string[] {
  const entries = obj.metadata.managedFields;
  if (!Array.isArray(entries)) return [];
  const key = `v:${JSON.stringify(finalizer)}`;
  const managers = entries
    .filter((e) => {
      const set = field(e, 'fieldsV1', 'f:metadata', 'f:finalizers');
      return typeof set === 'object' && set !== null && Object.hasOwn(set, key);
    })
    .map((e) => field(e, 'manager'))
    .filter((m): m is string => typeof m === 'string');
  return [...new Set(managers)];
}

/** `kubectl get <resource> <name> [-n ns] <flags>` for one object; `kubectl` may carry flags (`--kubeconfig X`). */
export function kubectlGet(target: ActionTarget, flags = '', kubectl = 'kubectl'): string {
  return [kubectl, 'get', ...objectArgs(target).map(shellQuote), flags].filter((w) => w !== '').join(' ');
}

/** With `-n`, only that namespace's objects and the Namespace itself; otherwise everything. */
export function inScope(obj: KubeObject, namespace: string | undefined): boolean {
  if (namespace === undefined) return true;
  return obj.metadata.namespace === namespace || (obj.kind === 'Namespace' && obj.apiVersion === 'v1' && obj.metadata.name === namespace);
}

/** Objects with a deletionTimestamp and finalizers, deleting for at least `minAgeMs`, in scope, oldest first. */
export function deletingObjects(
  listed: readonly ListedType[],
  ctx: Pick<RuleContext, 'now' | 'namespace'>,
  minAgeMs: number,
  filter: (obj: KubeObject) => boolean = () => true,
  young?: (obj: KubeObject, ageMs: number) => void,
): { obj: KubeObject; ageMs: number }[] {
  const found: { obj: KubeObject; ageMs: number }[] = [];
  for (const { items } of listed) {
    for (const obj of items) {
      if ((obj.metadata.finalizers ?? []).length === 0) continue;
      const ageMs = deletionAgeMs(obj, ctx.now);
      if (ageMs === undefined || !inScope(obj, ctx.namespace) || !filter(obj)) continue;
      // Negative: a graceful deletion still within its grace period, not a candidate.
      if (ageMs < minAgeMs) {
        if (ageMs >= 0) young?.(obj, ageMs);
        continue;
      }
      found.push({ obj, ageMs });
    }
  }
  return found.sort((a, b) => b.ageMs - a.ageMs || compareStrings(objectLabel(a.obj), objectLabel(b.obj)));
}

/**
 * Removes `finalizers` (by value) from one object with a JSON patch that tests the resourceVersion and each
 * finalizer's index and value first, so it fails (422) if anything changed since the scan. Undefined when there
 * is nothing to remove or the object has no resourceVersion to test.
 */
export function finalizerRemovalStep(
  target: ActionTarget,
  obj: KubeObject,
  finalizers: readonly string[],
  title?: string,
): Step | undefined {
  if (!obj.metadata.resourceVersion) return undefined;
  const names = (obj.metadata.finalizers ?? []).filter((f) => finalizers.includes(f));
  return removeFinalizers(
    title ??
      `Remove the orphaned finalizer${names.length > 1 ? 's' : ''} ${names.join(', ')} from ${objectLabel(obj)}: the cleanup it guards is skipped, and the object is deleted at once`,
    target,
    obj,
    finalizers,
    { risk: 'destructive', reversible: false },
  );
}

/**
 * Everything the deletion rules share: the objects of a metadata-only `*` read, who owns each finalizer, and the
 * evidence, severity and remediation steps of an object stuck in deletion.
 */
export class DeletionScan {
  readonly listed: readonly ListedType[];
  readonly gaps: readonly { resource: string; reason: string }[];
  readonly owners: FinalizerOwners;
  readonly #ctx: ScanContext;
  #dependents: Map<string, KubeObject[]> | undefined;

  constructor(
    ctx: ScanContext,
    every: { listed: ListedType[]; gaps: { resource: string; reason: string }[] },
    crds: KubeObject[] | { unavailable: string },
    deployments: KubeObject[] | { unavailable: string },
  ) {
    this.#ctx = ctx;
    this.listed = every.listed;
    this.gaps = every.gaps;
    this.owners = new FinalizerOwners({ listed: every.listed, crds, deployments });
  }

  /** Objects with a deletionTimestamp and finalizers, deleting for at least `minAgeMs`, in scope, oldest first, with their owners. */
  stuck(minAgeMs: number, filter?: (obj: KubeObject) => boolean, young?: (obj: KubeObject, ageMs: number) => void): StuckObject[] {
    return deletingObjects(this.listed, this.#ctx, minAgeMs, filter, young).map(({ obj, ageMs }) => ({
      obj,
      ageMs,
      owners: (obj.metadata.finalizers ?? []).map((f) => this.owners.resolve(f, obj)),
    }));
  }

  /** Objects whose ownerReference to `owner` has blockOwnerDeletion=true: what a foregroundDeletion waits for. */
  blockingDependents(owner: KubeObject): KubeObject[] {
    if (!this.#dependents) {
      this.#dependents = new Map();
      for (const { items } of this.listed) {
        for (const obj of items) {
          for (const ref of obj.metadata.ownerReferences ?? []) {
            if (ref.blockOwnerDeletion !== true) continue;
            const list = this.#dependents.get(ref.uid) ?? [];
            list.push(obj);
            this.#dependents.set(ref.uid, list);
          }
        }
      }
    }
    return owner.metadata.uid ? (this.#dependents.get(owner.metadata.uid) ?? []) : [];
  }

  severity(s: StuckObject): 'warning' | 'error' {
    return s.owners.some(isOrphaned) || s.ageMs >= ESCALATE_AFTER_MS ? 'error' : 'warning';
  }

  /** The facts about one stuck object, as finding evidence. */
  describe(s: StuckObject): Record<string, unknown> {
    const { metadata } = s.obj;
    const evidence: Record<string, unknown> = {
      object: objectLabel(s.obj),
      apiVersion: s.obj.apiVersion,
      deletionTimestamp: metadata.deletionTimestamp,
    };
    if (metadata.deletionGracePeriodSeconds !== undefined) evidence.deletionGracePeriodSeconds = metadata.deletionGracePeriodSeconds;
    evidence.deletingFor = ageEvidence(s.ageMs);
    evidence.finalizers = s.owners.map((owner) => {
      const entry: Record<string, unknown> = {
        name: owner.finalizer,
        owner: owner.verdict,
        expectedRemover: owner.expectedRemover,
        resolvedBy: owner.resolvedBy,
        detail: owner.detail,
      };
      if (owner.controllers) entry.controllers = owner.controllers;
      const managers = addedBy(s.obj, owner.finalizer);
      if (managers.length > 0) entry.addedBy = managers;
      if (owner.finalizer === 'foregroundDeletion') {
        const dependents = this.blockingDependents(s.obj);
        entry.blockingDependents = dependents.slice(0, MAX_LISTED).map(objectLabel);
        if (dependents.length === 0 && this.gaps.length > 0) {
          entry.blockingDependentsNote = `none found, but ${this.gaps.length} resource type(s) could not be listed`;
        }
      }
      return entry;
    });
    if (metadata.annotations?.['cluster.x-k8s.io/paused'] !== undefined) {
      evidence.paused = 'the object carries cluster.x-k8s.io/paused: Cluster API controllers skip it (see cluster-api/paused-deletion)';
    }
    return evidence;
  }

  /** `machine.cluster.x-k8s.io (orphaned: owner not installed)`: one finalizer and its owner, for messages. */
  summarize(owner: FinalizerOwner): string {
    switch (owner.verdict) {
      case 'running':
        return `${owner.finalizer} (owner ${owner.controllers?.find((c) => c.readyReplicas > 0)?.deployment ?? owner.expectedRemover} is running)`;
      case 'not-ready':
        return `${owner.finalizer} (owner ${owner.controllers?.[0]?.deployment ?? owner.expectedRemover} has no ready replicas)`;
      case 'absent':
        return `${owner.finalizer} (orphaned: its controller is not installed)`;
      case 'disabled':
        return `${owner.finalizer} (orphaned: feature gate ${owner.restore?.gate?.name ?? ''} is off)`;
      case 'built-in':
        return `${owner.finalizer} (built-in)`;
      case 'unknown':
        return `${owner.finalizer} (owner unknown)`;
    }
  }

  /** `machine.cluster.x-k8s.io (orphaned: ...) on 3 objects, ...`: what a group of stuck objects waits for. */
  countByFinalizer(members: readonly StuckObject[]): string {
    const counts = new Map<string, number>();
    for (const s of members) {
      for (const o of s.owners) counts.set(this.summarize(o), (counts.get(this.summarize(o)) ?? 0) + 1);
    }
    const sorted = [...counts].sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]));
    const shown = sorted.slice(0, 3).map(([text, n]) => `${text} on ${n} object${n === 1 ? '' : 's'}`);
    return `${shown.join(', ')}${sorted.length > 3 ? ` and ${sorted.length - 3} more finalizer(s)` : ''}`;
  }

  /** What a stuck object's message says: how long, and what it waits for. */
  messageData(s: StuckObject): { age: string; heldBy: string } {
    const waits = s.owners.map((o) => this.summarize(o));
    return {
      age: humanDuration(s.ageMs),
      heldBy: `${waits.length === 1 ? 'finalizer' : `${waits.length} finalizers:`} ${waits.join(', ')}`,
    };
  }

  /**
   * The remediation of stuck objects, safest first: fix each owner (manual steps, once per owner), then remove the
   * proven-orphaned finalizers one object at a time (destructive). At most MAX_LISTED objects get a removal step, at
   * most MAX_LISTED a cause step of their own (a built-in finalizer's, which names its object), and at most
   * MAX_LISTED owners a cause step, in the objects' order (thousands of distinct finalizers must not make a plan of
   * thousands of steps). What the caps leave out is counted in a last step and in `leftTo`, so --fix reports the
   * finding pending on it.
   */
  plan(stuck: readonly StuckObject[]): { steps: Step[]; leftTo?: string } {
    const causes = new Map<string, Step>();
    let objectCauses = 0;
    let ownerCauses = 0;
    const removals: Step[] = [];
    // Objects and owners the caps leave out of this plan: said in a last step, so the plan never looks like all there
    // is to do. Owners by the title of their step, which is what makes one step per owner.
    const leftOut = new Set<StuckObject>();
    const ownersLeftOut = new Set<string>();
    // Foreground deletions no dependent blocks all call for the same check: one step names them (where the first was).
    const lostByGc: KubeObject[] = [];
    for (const s of stuck) {
      // An orphaned finalizer whose owner step is left out: its removal is too, never shown without that alternative.
      let withoutAlternative = false;
      for (const owner of s.owners) {
        if (owner.verdict === 'built-in' && owner.finalizer === FOREGROUND_DELETION && this.blockingDependents(s.obj).length === 0) {
          if (lostByGc.length === 0) causes.set(LOST_BY_GC, lostByGcStep([s.obj]));
          lostByGc.push(s.obj);
          continue;
        }
        const ofObject = owner.verdict === 'built-in' && OBJECT_CAUSES.has(owner.finalizer);
        if (ofObject && objectCauses >= MAX_LISTED) {
          leftOut.add(s);
          continue;
        }
        const step = this.#causeStep(s, owner);
        if (!step || causes.has(step.title)) continue;
        if (!ofObject && ownerCauses >= MAX_LISTED) {
          ownersLeftOut.add(step.title);
          if (isOrphaned(owner)) withoutAlternative = true;
          continue;
        }
        causes.set(step.title, step);
        if (ofObject) objectCauses++;
        else ownerCauses++;
      }
      const orphaned = s.owners.filter(isOrphaned).map((o) => o.finalizer);
      if (orphaned.length === 0) continue;
      if (removals.length >= MAX_LISTED || withoutAlternative) {
        leftOut.add(s);
        continue;
      }
      const removal = finalizerRemovalStep(this.#ctx.targetOf(s.obj), s.obj, orphaned);
      if (removal) removals.push(removal);
    }
    if (lostByGc.length > 1) causes.set(LOST_BY_GC, lostByGcStep(lostByGc));
    const steps = [...causes.values(), ...removals];
    const notPlanned = [
      ...(leftOut.size > 0 ? [`${leftOut.size} more stuck object${leftOut.size === 1 ? '' : 's'}`] : []),
      ...(ownersLeftOut.size > 0 ? [`${ownersLeftOut.size} more finalizer owner${ownersLeftOut.size === 1 ? '' : 's'}`] : []),
    ];
    if (notPlanned.length === 0) return { steps };
    const what = `${notPlanned.join(' and ')} ${leftOut.size + ownersLeftOut.size === 1 ? 'is' : 'are'} not in this plan`;
    steps.push(
      manualStep(
        `${what} (at most ${MAX_LISTED}${notPlanned.length > 1 ? ' of each' : ''} get a step of their own)`,
        'once the steps above are done, run kubectl doctor again: it plans the next ones',
        { role: 'aside' },
      ),
    );
    return { steps, leftTo: `another run of kubectl doctor: ${what}; once the steps above are done, it plans the next ones` };
  }

  #causeStep(s: StuckObject, owner: FinalizerOwner): Step | undefined {
    // Bringing the owner back is the safer alternative to removing its finalizer by hand, not a step before it.
    const manual = (title: string, instructions: string): Step => manualStep(title, instructions, { role: 'alternative' });
    switch (owner.verdict) {
      case 'not-ready': {
        const lines = (owner.controllers ?? []).map((c) => {
          const [ns, name] = c.deployment.split('/');
          return c.replicas === 0
            ? `kubectl -n ${shellQuote(ns ?? '')} scale ${shellQuote(`deployment/${name}`)} --replicas=1`
            : `kubectl -n ${shellQuote(ns ?? '')} describe ${shellQuote(`deployment/${name}`)} && kubectl -n ${shellQuote(ns ?? '')} logs ${shellQuote(`deployment/${name}`)} --tail=100`;
        });
        return manual(`Restore ${owner.expectedRemover} so it removes ${owner.finalizer}`, lines.join('\n'));
      }
      case 'running': {
        const c = owner.controllers?.find((x) => x.readyReplicas > 0);
        if (!c) return undefined;
        const [ns, name] = c.deployment.split('/');
        return manual(
          `Find out why ${c.deployment} has not removed ${owner.finalizer} (its logs usually say what the cleanup waits for)`,
          `kubectl -n ${shellQuote(ns ?? '')} logs ${shellQuote(`deployment/${name}`)} --since=1h`,
        );
      }
      case 'absent':
        return manual(
          `Reinstall ${owner.restore?.provider ? `provider ${owner.restore.provider}` : 'the controller'} so it runs the cleanup that ${owner.finalizer} guards, then removes it`,
          owner.restore?.provider
            ? ['clusterctl', 'init', ...providerArgs(owner.restore.provider)].map(shellQuote).join(' ')
            : `reinstall the controller of ${owner.crds?.join(', ') ?? owner.finalizer}`,
        );
      case 'disabled': {
        const gate = owner.restore?.gate;
        if (!gate) return undefined;
        const [ns, name] = gate.deployment.split('/');
        return manual(
          `Enable feature gate ${gate.name} on ${gate.deployment} so its controller removes ${owner.finalizer}`,
          `kubectl -n ${shellQuote(ns ?? '')} edit ${shellQuote(`deployment/${name}`)}   # set --feature-gates=${gate.name}=true`,
        );
      }
      case 'built-in':
        return this.#builtInStep(s, owner, manual);
      case 'unknown': {
        const managers = addedBy(s.obj, owner.finalizer);
        const target = this.#ctx.targetOf(s.obj);
        return manual(
          `Find the controller that removes ${owner.finalizer}${managers.length > 0 ? ` (added by ${managers.join(', ')})` : ''}; if it runs outside this cluster, check it there`,
          kubectlGet(target, '-o yaml --show-managed-fields'),
        );
      }
    }
  }

  #builtInStep(s: StuckObject, owner: FinalizerOwner, manual: (title: string, instructions: string) => Step): Step | undefined {
    const ns = s.obj.metadata.namespace;
    const name = s.obj.metadata.name ?? '';
    switch (owner.finalizer) {
      case FOREGROUND_DELETION: {
        // Those no dependent blocks are named together by plan() (lostByGcStep).
        const dependents = this.blockingDependents(s.obj);
        if (dependents.length === 0) return undefined;
        return manual(
          `Resolve the dependents that block ${objectLabel(s.obj)} (blockOwnerDeletion=true): ${dependents.slice(0, 5).map(objectLabel).join(', ')}${dependents.length > 5 ? ` and ${dependents.length - 5} more` : ''}`,
          `kubectl get ${dependents
            .slice(0, 5)
            .map((d) => shellQuote(`${d.kind.toLowerCase()}/${d.metadata.name}`))
            .join(' ')}${dependents[0]!.metadata.namespace ? ` -n ${shellQuote(dependents[0]!.metadata.namespace)}` : ''}`,
        );
      }
      case 'kubernetes.io/pvc-protection':
        return manual(
          `Stop the pods that still use PersistentVolumeClaim ${keyOf({ namespace: ns, name })} ("Used By")`,
          `kubectl describe pvc ${shellQuote(name)} -n ${shellQuote(ns ?? '')}`,
        );
      case 'kubernetes.io/pv-protection':
        return manual(
          `Delete or release the claim bound to PersistentVolume ${name}`,
          `kubectl get pv ${shellQuote(name)} -o jsonpath='{.spec.claimRef}'`,
        );
      case 'customresourcecleanup.apiextensions.k8s.io':
        return undefined; // explained by the CRD's own evidence
      default:
        return manual(
          `Check kube-controller-manager, which removes ${owner.finalizer}`,
          'kubectl -n kube-system logs -l component=kube-controller-manager --tail=200',
        );
    }
  }
}

/** Built-in finalizers whose cause step (#builtInStep) names the object it holds: one step per object, not per owner. */
const FOREGROUND_DELETION = 'foregroundDeletion';
const OBJECT_CAUSES = new Set([FOREGROUND_DELETION, 'kubernetes.io/pvc-protection', 'kubernetes.io/pv-protection']);
/** The key of the one step for every foreground deletion no dependent blocks (step titles key the others). */
const LOST_BY_GC = 'lost by the garbage collector';

/** Objects in foreground deletion that no dependent blocks: the garbage collector may have lost track of them. */
function lostByGcStep(objects: readonly KubeObject[]): Step {
  const named =
    objects.length === 1
      ? objectLabel(objects[0]!)
      : `${objects.length} objects in foreground deletion (${objects.slice(0, 5).map(objectLabel).join(', ')}${objects.length > 5 ? ` and ${objects.length - 5} more` : ''})`;
  return manualStep(
    `No dependent blocks ${named}: the garbage collector may have lost track of ${objects.length === 1 ? 'it' : 'them'} (kubernetes/kubernetes#77081, #115570); check kube-controller-manager`,
    'kubectl -n kube-system logs -l component=kube-controller-manager --tail=200 | grep -i garbage',
    { role: 'alternative' },
  );
}

const PROVIDER_TYPES = ['control-plane', 'infrastructure', 'bootstrap', 'ipam', 'addon', 'runtime-extension'];

/** `infrastructure-aws` -> `infrastructure aws`, as `clusterctl init` spells a provider (`--infrastructure aws`). */
function providerArgs(provider: string): string[] {
  const first = provider.split(', ')[0]!;
  if (first === 'cluster-api') return ['--core', 'cluster-api'];
  const type = PROVIDER_TYPES.find((t) => first.startsWith(`${t}-`));
  return type ? [`--${type}`, first.slice(type.length + 1)] : [`--${first}`];
}
