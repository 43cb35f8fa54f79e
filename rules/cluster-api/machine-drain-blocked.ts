import { defineRule, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { parseDuration } from '../../src/cluster/duration.ts';
import { conditionsOf, field, groupOf, keyOf, versionOf, type Condition, type KubeObject } from '../../src/kube/object.ts';
import type { JsonPatchOp } from '../../src/plan/actions.ts';
import { checkpoint, jsonPatch, manual, type Step } from '../../src/plan/builder.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { ageEvidence, heldBackReason, humanDuration, MINUTE_MS, parseTime, thresholdMs } from '../lib/age.ts';
import { objectLabel } from '../core/stuck-objects.ts';
import { CAPI_GROUP, clusterNameOf, pointerEscape } from './capi.ts';

/**
 * Facts from kubernetes-sigs/cluster-api, internal/controllers/machine/machine_controller.go reconcileDelete and
 * drain/drain.go (v1.8.0 .. v1.11.0; core/reconcilers/machine/ at v1.14.2, unchanged in what follows),
 * api/core/v1beta{1,2}/machine_types.go and condition_consts.go. The v1beta2 message, the 20 s retry and the timeout
 * ending the drain are observed on the running v1.14.2 controller (test/e2e/capi-controller.test.ts):
 * - v1beta1 condition `DrainingSucceeded` (status False, reason `Draining` while the drain runs, `DrainingFailed`
 *   when drainNode returns an error), set the first time the drain starts and never before; in the v1beta2 API it
 *   lives in status.deprecated.v1beta1.conditions.
 * - v1beta2 condition `Deleting` (v1.9+: status.v1beta2.conditions of the v1beta1 API, status.conditions of the
 *   v1beta2 API), status True, reason `DrainingNode` for the whole drain, message from EvictionResult.ConditionMessage:
 *   "Drain not completed yet (started at <RFC3339>):" then one "* Pod(s) <ns/name, ...>: <why>" line per cause.
 * - The drain start: status.deletion.nodeDrainStartTime (v1.9+), else DrainingSucceeded's lastTransitionTime (v1.8
 *   nodeDrainTimeoutExceeded uses it: "its transition time can be used to record the first time draining").
 * - isNodeDrainAllowed: no drain when the Machine has `machine.cluster.x-k8s.io/exclude-node-draining` or the
 *   drain has run longer than spec.nodeDrainTimeout (v1beta1, a duration) / spec.deletion.nodeDrainTimeoutSeconds
 *   (v1beta2); unset or <= 0 means drain forever. A blocked eviction is retried every 20 s (drainRetryInterval).
 * - machineset_controller.go syncMachines (v1.8.0+, PR #10589 for issue #10588; v1.7 skipped deleting Machines): a
 *   MachineSet that reconciles normally copies its template's drain timeout onto its deleting Machines
 *   (`m.Spec.NodeDrainTimeout = machineSet.Spec.Template.Spec.NodeDrainTimeout`; v1.11+ `.Deletion.NodeDrainTimeoutSeconds`),
 *   on every reconcile and a Machine update is one, so a value set on the Machine alone is put back to the template's.
 *   A deleting MachineSet does not (v1.8 returns early, v1.11+ runs reconcileDelete only), nor a gone one: then the
 *   Machine's own value stays. Deleting a MachineDeployment deletes its MachineSets first (reconcileDelete).
 * - The MachineDeployment controller copies its template's timeout to its MachineSets in place, no rollout
 *   (v1.8..v1.11 machinedeployment_sync.go computeDesiredMachineSet, the current MachineSet only: issue #10753 case 3;
 *   v1.12+ machinedeployment_rollout_planner.go computeDesiredMS, old MachineSets too). The docs' in-place propagation
 *   lists: docs/book/src/developer/core/controllers/machine-deployment.md and machine-set.md.
 * - Observed on v1.14.2 (test/e2e/capi-controller.test.ts): the copy MachineDeployment -> MachineSet -> deleting
 *   Machine (~1 s), its removal the same way, the MachineSet putting back a Machine's own value, the conversion webhook
 *   mapping v1beta1 `nodeDrainTimeout: 10m0s` to v1beta2 `nodeDrainTimeoutSeconds: 600` and back
 *   (api/core/v1beta1 conversion.go Convert_v1beta1_MachineSpec_To_v1beta2_MachineSpec: ConvertToSeconds), and that
 *   after a blocked eviction the Machine is not reconciled again for 20 s whatever changes
 *   (DeferNextReconcileForObject, v1.12+): a timeout ends the drain at the next attempt, within 20 s.
 */
const DRAINING_NODE = 'DrainingNode';
const DRAINING_REASONS = ['Draining', 'DrainingFailed'];
const EXCLUDE_NODE_DRAINING = 'machine.cluster.x-k8s.io/exclude-node-draining';
const PDB_REFUSAL = "cannot evict pod as it would violate the pod's disruption budget.";
/** The timeout the plan sets: a drain that has run longer ends at the next attempt (every 20 s). */
const TIMEOUT_SECONDS = 600;
/** A drain retries every 20 s; one still blocked after this is not a slow eviction (`--min-age` overrides). */
const DRAIN_MIN_AGE_MS = 15 * MINUTE_MS;

const reasons = {
  'pdb-blocks-eviction':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: {{pods}} cannot be evicted, {{budgets}} allows no disruption, so the Machine is never deleted',
  'eviction-failed':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: eviction of {{pods}} fails ({{error}}), so the Machine is never deleted',
  'pods-not-terminating':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: {{pods}} were evicted but never leave the Node (deletionTimestamp set), so the Machine is never deleted',
  'waiting-for-pods':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: the drain waits for {{pods}} to complete (a MachineDrainRule with behavior WaitCompleted), so the Machine is not deleted',
  'drain-error':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: the controller cannot drain it ({{error}}), so the Machine is never deleted',
  'drain-not-finished':
    'draining Node {{node}} for {{age}} with no nodeDrainTimeout: the drain does not finish and this Cluster API version does not record which Pods block it, so the Machine is never deleted',
};

/**
 * What the rule reads of a Machine besides its metadata (hasDrainTimeout, drainOf, report, timeoutAt): a scan keeps
 * no more of it (not its bootstrap and infrastructure references, addresses, other status). Of a MachineSet or
 * MachineDeployment only where timeoutAt puts the timeout (v1beta2: whether `deletion` exists); owners are metadata.
 */
const MACHINE_FIELDS = [
  'spec.clusterName',
  'spec.nodeDrainTimeout',
  'spec.deletion',
  'status.nodeRef.name',
  'status.deletion.nodeDrainStartTime',
  'status.conditions',
  'status.v1beta2.conditions',
  'status.deprecated.v1beta1.conditions',
];
const MACHINE_TEMPLATE_FIELDS = ['spec.template.spec.deletion'];

const reads = {
  machines: { resource: 'machines.cluster.x-k8s.io', fields: MACHINE_FIELDS },
  machineSets: { resource: 'machinesets.cluster.x-k8s.io', optional: true, fields: MACHINE_TEMPLATE_FIELDS },
  machineDeployments: { resource: 'machinedeployments.cluster.x-k8s.io', optional: true, fields: MACHINE_TEMPLATE_FIELDS },
} as const;

type Ctx = RuleContext<typeof reads, typeof reasons>;
type Reason = keyof typeof reasons;

/** One "* Pod(s) ...: why" line of the drain message, classified. */
interface Blocker {
  cause: 'pdb' | 'eviction-failed' | 'terminating' | 'waiting' | 'other';
  pods: string[];
  /** "... (3 more)" of the controller's list. */
  more: number;
  detail: string;
  /** The PodDisruptionBudget named by the eviction refusal (CAPI v1.10+ adds the API server's cause). */
  budget?: string;
}

/** Where the drain stands, from the conditions of whichever API version the Machine was read in. */
interface Drain {
  deleting?: Condition;
  draining?: Condition;
  startedMs: number;
  startedFrom: string;
  message: string;
  failed: boolean;
}

export default defineRule({
  meta: {
    id: 'cluster-api/machine-drain-blocked',
    summary: 'A deleting Cluster API Machine whose Node drain never finishes',
    severity: 'error',
    ecosystem: 'cluster-api',
    fixable: 'destructive',
    thresholds: {
      draining: {
        ms: DRAIN_MIN_AGE_MS,
        minAge: true,
        describe: 'a Machine draining its Node for less since the drain started is held back',
      },
      drainTimeout: {
        ms: TIMEOUT_SECONDS * 1000,
        describe: 'the drain timeout its plan sets: once the drain has run that long, Cluster API deletes the Node without evicting',
      },
    },
    refines: ['core/stuck-deletion'],
    reads,
    reasons,
    explain: {
      detects:
        'A Machine (cluster.x-k8s.io) that is deleting and still draining its Node more than 15 minutes after the ' +
        'drain started (--min-age overrides), with no drain timeout (spec.nodeDrainTimeout in v1beta1, ' +
        'spec.deletion.nodeDrainTimeoutSeconds in v1beta2, unset or 0) and without the ' +
        `${EXCLUDE_NODE_DRAINING} annotation. Draining is read from the v1beta2 Deleting condition (True, reason ` +
        'DrainingNode; CAPI v1.9+) or, before v1.9, the v1beta1 DrainingSucceeded condition (False, reason Draining or ' +
        'DrainingFailed). The reason says what blocks it, from the lines Cluster API writes into the condition message ' +
        '(v1.9+): Pods whose eviction would violate a PodDisruptionBudget, other eviction failures, evicted Pods that ' +
        'never leave the Node, Pods a MachineDrainRule waits for, or an error of the drain itself. Not reported: a ' +
        'drain younger than the threshold, a Machine with a drain timeout (Cluster API ends the drain by itself), and a ' +
        'Machine whose drain finished but that waits for volumes to detach (Deleting reason WaitingForVolumeDetach), ' +
        'for pre-terminate hooks or for its infrastructure or bootstrap objects to go (WaitingForInfrastructureDeletion, ' +
        'WaitingForBootstrapDeletion): those are later steps of the deletion, where core/stuck-deletion reports a ' +
        'Machine stuck for long.',
      why:
        'Before deleting a Machine, Cluster API cordons its Node and evicts its Pods through the Eviction API of the ' +
        'workload cluster (its own drain code since v1.9, kubectl drain before). An eviction that a ' +
        'PodDisruptionBudget refuses (429 "Cannot evict pod as it would violate the pod\'s disruption budget.", e.g. ' +
        'minAvailable equal to the replicas, a single-replica workload, or replicas that cannot become ready elsewhere) ' +
        'is retried every 20 seconds forever unless the Machine has a drain timeout, which is unset by default. The ' +
        'Machine keeps its machine.cluster.x-k8s.io finalizer, so MachineDeployment rollouts, scale-downs and Cluster ' +
        "upgrades hang behind it (not a Cluster's deletion: its Machines skip the drain, isDeleteNodeAllowed). For a " +
        'Machine owned by a MachineSet, the MachineSet controller ' +
        "copies its template's nodeDrainTimeout onto the deleting Machine on every reconcile " +
        '(machineset_controller.go syncMachines, v1.8..v1.14), so the timeout belongs on the MachineSet, or on the ' +
        'MachineDeployment whose controller copies it to its MachineSets in place (no rollout); a MachineSet that is ' +
        'itself being deleted (a deleted MachineDeployment) copies nothing, so then it belongs on the Machine.',
      evidence:
        "The Machines in full: deletionTimestamp, status.nodeRef (the Node), the drain conditions and the drain's " +
        'start (status.deletion.nodeDrainStartTime, else the DrainingSucceeded transition time, else the ' +
        'deletionTimestamp), the drain timeout fields and the annotation, the controller ownerReference; MachineSets ' +
        'and MachineDeployments (optional) to find where a drain timeout is kept. The Pods and PodDisruptionBudgets ' +
        'live in the workload cluster, which kubectl doctor does not read: what blocks is what Cluster API wrote into ' +
        'the condition message (the first Pods of each cause, the PodDisruptionBudget named by the API server). The ' +
        'conditions are written by capi-controller-manager: if it is not running they are stale (core/stuck-deletion ' +
        'says whether it runs). Cluster API before v1.9 writes no Pod names.',
      remediation: [
        'Preferred, by hand in the workload cluster (its kubeconfig is the Secret <cluster>-kubeconfig, key value): ' +
          'let the blocking Pods go: scale the workload up or relax the PodDisruptionBudget whose ALLOWED DISRUPTIONS ' +
          'is 0, remove the finalizer that holds a terminating Pod, or fix what the MachineDrainRule waits for. The ' +
          'drain is retried every 20 s and finishes by itself.',
        `Set a drain timeout (disruptive): ${TIMEOUT_SECONDS} s in spec.deletion.nodeDrainTimeoutSeconds (v1beta2) or ` +
          `${TIMEOUT_SECONDS / 60}m in spec.nodeDrainTimeout (v1beta1): on the Machine when nothing owns it or its ` +
          'MachineSet is being deleted or gone, else on the template of its MachineDeployment (or MachineSet), from ' +
          'where the controllers copy it to the deleting Machine; that also limits every later drain of that ' +
          'MachineDeployment. Once the drain has run longer, Cluster API stops draining at its next attempt (within ' +
          '20 s) and deletes the Node with the Pods still on it: the PodDisruptionBudget is not honoured.',
        `Last: the ${EXCLUDE_NODE_DRAINING} annotation on the Machine (destructive): no Pod is evicted at all, ` +
          'they die with the Node.',
      ],
      references: [
        'https://github.com/kubernetes-sigs/cluster-api/blob/v1.14.2/core/reconcilers/machine/machine_controller.go',
        'https://github.com/kubernetes-sigs/cluster-api/blob/v1.14.2/core/reconcilers/machine/drain/drain.go',
        'https://github.com/kubernetes-sigs/cluster-api/blob/v1.14.2/core/reconcilers/machineset/machineset_controller.go',
        'https://github.com/kubernetes-sigs/cluster-api/blob/v1.14.2/docs/proposals/20240930-machine-drain-rules.md',
        'https://cluster-api.sigs.k8s.io/developer/core/controllers/machine',
        'https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/',
        'https://kubernetes.io/docs/tasks/run-application/configure-pdb/',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, DRAIN_MIN_AGE_MS);
    const findings: Finding[] = [];
    for (const machine of ctx.list('machines')) {
      if (!machine.metadata.deletionTimestamp || groupOf(machine.apiVersion) !== CAPI_GROUP) continue;
      if (machine.metadata.annotations?.[EXCLUDE_NODE_DRAINING] !== undefined || hasDrainTimeout(machine)) continue;
      const drain = drainOf(machine);
      if (!drain) continue;
      const ageMs = ctx.now.getTime() - drain.startedMs;
      if (ageMs < threshold) {
        ctx.heldBack(machine, heldBackReason(`draining for ${humanDuration(ageMs)}`, threshold));
        continue;
      }
      findings.push(report(ctx, machine, drain, ageMs, threshold));
    }
    return findings;
  },
});

/** A timeout Cluster API acts on: unset, unparsable-as-positive or <= 0 means the drain runs forever. */
function hasDrainTimeout(machine: KubeObject): boolean {
  const seconds = field(machine, 'spec', 'deletion', 'nodeDrainTimeoutSeconds');
  if (typeof seconds === 'number' && seconds > 0) return true;
  const duration = field(machine, 'spec', 'nodeDrainTimeout');
  if (typeof duration !== 'string' || duration === '') return false;
  try {
    return parseDuration(duration, 'nodeDrainTimeout') > 0;
  } catch {
    return true; // not a value kubectl doctor can read: the API server accepted it, so do not claim it is unset
  }
}

/** The conditions list at `path` (`status.v1beta2.conditions`, `status.deprecated.v1beta1.conditions`). */
function conditionsAt(obj: KubeObject, ...path: string[]): Condition[] {
  const list = field(obj, ...path, 'conditions');
  return Array.isArray(list) ? list.filter((c): c is Condition => typeof c === 'object' && c !== null && typeof c.type === 'string') : [];
}

function drainOf(machine: KubeObject): Drain | undefined {
  // The v1beta2 Deleting condition and the v1beta1 DrainingSucceeded one, wherever an API version keeps each: the
  // v1beta2 API has them in status.conditions and status.deprecated.v1beta1.conditions, the v1beta1 API in
  // status.v1beta2.conditions and status.conditions. The types differ, so looking in both places is unambiguous
  // (and reads objects whose shape and apiVersion disagree, as a CRD without CAPI's conversion webhook serves them).
  const find = (type: string, ...lists: Condition[][]) => lists.flat().find((c) => c.type === type);
  const deleting = find('Deleting', conditionsOf(machine), conditionsAt(machine, 'status', 'v1beta2'));
  const draining = find('DrainingSucceeded', conditionsOf(machine), conditionsAt(machine, 'status', 'deprecated', 'v1beta1'));
  // The Deleting condition names the current step of the deletion (v1.9+): only DrainingNode is a drain.
  if (deleting && deleting.status === 'True') {
    if (deleting.reason !== DRAINING_NODE) return undefined;
  } else if (!(draining && draining.status === 'False' && DRAINING_REASONS.includes(draining.reason ?? ''))) {
    return undefined;
  }
  const candidates: [string, unknown][] = [
    ['status.deletion.nodeDrainStartTime', field(machine, 'status', 'deletion', 'nodeDrainStartTime')],
    ['the DrainingSucceeded condition (lastTransitionTime)', draining?.status === 'False' ? draining.lastTransitionTime : undefined],
    ['metadata.deletionTimestamp', machine.metadata.deletionTimestamp],
  ];
  const start = candidates.map(([from, value]) => ({ from, ms: parseTime(value) })).find((c) => c.ms !== undefined);
  if (!start) return undefined;
  const failed = draining?.reason === 'DrainingFailed' || /^Error draining Node/.test(deleting?.message ?? '');
  // The Deleting message lists the blocking Pods (v1.9+); on DrainingFailed the DrainingSucceeded one has the error.
  const message = deleting?.reason === DRAINING_NODE && !failed ? (deleting.message ?? '') : (draining?.message ?? deleting?.message ?? '');
  return {
    ...(deleting ? { deleting } : {}),
    ...(draining ? { draining } : {}),
    startedMs: start.ms!,
    startedFrom: start.from,
    message,
    failed,
  };
}

const POD_LINE = /^\* (?:Pods?) (.+?): (.+)$/;
const BUDGET = /The disruption budget (\S+) needs (\d+) healthy pods and has (\d+) currently/;

/** The "* Pod(s) ns/a, ns/b, ... (N more): why" lines of drain.go ConditionMessage. */
function blockersOf(message: string): Blocker[] {
  const blockers: Blocker[] = [];
  for (const line of message.split('\n')) {
    const m = POD_LINE.exec(line.trim());
    if (!m) continue;
    const names = m[1]!.split(', ');
    const moreMatch = /^\.\.\. \((\d+) more\)$/.exec(names.at(-1) ?? '');
    const pods = moreMatch ? names.slice(0, -1) : names;
    const detail = m[2]!;
    const budget = BUDGET.exec(detail);
    const cause: Blocker['cause'] = detail.startsWith(PDB_REFUSAL)
      ? 'pdb'
      : detail.startsWith('failed to evict Pod, ')
        ? 'eviction-failed'
        : detail.startsWith('deletionTimestamp set, but still not removed from the Node')
          ? 'terminating'
          : detail === 'waiting for completion'
            ? 'waiting'
            : 'other';
    blockers.push({ cause, pods, more: moreMatch ? Number(moreMatch[1]) : 0, detail, ...(budget ? { budget: budget[1]! } : {}) });
  }
  return blockers;
}

function podList(blockers: Blocker[]): string {
  const pods = blockers.flatMap((b) => b.pods);
  const more = blockers.reduce((n, b) => n + b.more, 0);
  const shown = pods.slice(0, 3);
  const rest = pods.length - shown.length + more;
  return `Pod${pods.length + more === 1 ? '' : 's'} ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

function classify(drain: Drain, blockers: Blocker[]): { reason: Reason; data: Record<string, string> } {
  const of = (cause: Blocker['cause']) => blockers.filter((b) => b.cause === cause);
  const pdb = of('pdb');
  if (pdb.length > 0) {
    const budgets = [...new Set(pdb.map((b) => b.budget).filter((b): b is string => b !== undefined))];
    return {
      reason: 'pdb-blocks-eviction',
      data: { pods: podList(pdb), budgets: budgets.length > 0 ? `PodDisruptionBudget ${budgets.join(', ')}` : 'their PodDisruptionBudget' },
    };
  }
  const failed = [...of('eviction-failed'), ...of('other')];
  if (failed.length > 0)
    return { reason: 'eviction-failed', data: { pods: podList(failed), error: failed[0]!.detail.replace(/^failed to evict Pod, /, '') } };
  if (of('terminating').length > 0) return { reason: 'pods-not-terminating', data: { pods: podList(of('terminating')) } };
  if (of('waiting').length > 0) return { reason: 'waiting-for-pods', data: { pods: podList(of('waiting')) } };
  if (drain.failed) return { reason: 'drain-error', data: { error: firstLine(drain.message) || 'see the capi-controller-manager logs' } };
  return { reason: 'drain-not-finished', data: {} };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function conditionEvidence(c: Condition | undefined) {
  return c
    ? { status: c.status, reason: c.reason ?? '', message: c.message ?? '', lastTransitionTime: c.lastTransitionTime ?? '' }
    : 'absent';
}

/** Where a drain timeout for `machine` is kept, and the JSON patch that sets it there. */
interface TimeoutTarget {
  obj: KubeObject;
  /** What the title says of the path the value takes to the Machine. */
  via: string;
  field: string;
  ops: JsonPatchOp[];
}

function timeoutTarget(ctx: Ctx, machine: KubeObject): TimeoutTarget | { manual: string } {
  const ownerRef = machine.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!ownerRef) return timeoutAt(machine, [], 'the Machine itself (nothing owns it)');
  const ownerLabel = `${ownerRef.kind} ${keyOf({ namespace: machine.metadata.namespace, name: ownerRef.name })}`;
  if (ownerRef.kind !== 'MachineSet' || groupOf(ownerRef.apiVersion) !== CAPI_GROUP) {
    return {
      manual: `${ownerLabel} owns the Machine: set the drain timeout in its machine template (KubeadmControlPlane: spec.machineTemplate.nodeDrainTimeout in v1beta1, spec.machineTemplate.spec.deletion.nodeDrainTimeoutSeconds in v1beta2)`,
    };
  }
  const sets = ctx.optional('machineSets');
  const ms = Array.isArray(sets)
    ? sets.find(
        (s) =>
          s.metadata.uid === ownerRef.uid || (s.metadata.name === ownerRef.name && s.metadata.namespace === machine.metadata.namespace),
      )
    : undefined;
  // Only a MachineSet that reconciles normally copies its template's timeout onto a deleting Machine (syncMachines);
  // a deleting one runs reconcileDelete alone, and a gone one nothing: then the Machine's own value stays.
  if (!ms) {
    if (Array.isArray(sets))
      return timeoutAt(machine, [], `the Machine itself (its ${ownerLabel} is gone: nothing copies a timeout over it)`);
    return {
      manual: `${ownerLabel} owns the Machine but could not be read (${sets.unavailable}): set the drain timeout in its template, or in its MachineDeployment's`,
    };
  }
  if (ms.metadata.deletionTimestamp)
    return timeoutAt(
      machine,
      [],
      `the Machine itself (its ${ownerLabel} is being deleted, as a deleted MachineDeployment's are: a deleting MachineSet copies nothing to its Machines)`,
    );
  const mdRef = ms.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'MachineDeployment');
  if (!mdRef)
    return timeoutAt(
      ms,
      ['template', 'spec'],
      `MachineSet ${objectLabel(ms).replace(/^MachineSet\//, '')}, whose controller copies it to the deleting Machine`,
    );
  const deployments = ctx.optional('machineDeployments');
  const md = Array.isArray(deployments)
    ? deployments.find(
        (d) => d.metadata.uid === mdRef.uid || (d.metadata.name === mdRef.name && d.metadata.namespace === ms.metadata.namespace),
      )
    : undefined;
  if (!md)
    return {
      manual: `MachineDeployment ${keyOf({ namespace: ms.metadata.namespace, name: mdRef.name })} owns MachineSet ${ms.metadata.name} but could not be read: set the drain timeout in its template`,
    };
  const topology =
    md.metadata.labels?.['topology.cluster.x-k8s.io/owned'] !== undefined
      ? "; the MachineDeployment is managed by its Cluster's topology: set it in the Cluster's spec.topology for good"
      : '';
  return timeoutAt(
    md,
    ['template', 'spec'],
    `MachineDeployment ${keyOf({ namespace: md.metadata.namespace, name: md.metadata.name ?? '' })}, whose controllers copy it to MachineSet ${ms.metadata.name} and to the deleting Machine${topology}`,
  );
}

/** The ops that set the timeout under spec[.template.spec], creating `deletion` (v1beta2) when it is missing. */
function timeoutAt(obj: KubeObject, under: string[], via: string): TimeoutTarget {
  const base = ['spec', ...under];
  const pointer = (...p: string[]) => `/${[...base, ...p].map(pointerEscape).join('/')}`;
  if (versionOf(obj.apiVersion) === 'v1beta1') {
    return {
      obj,
      via,
      field: [...base, 'nodeDrainTimeout'].join('.'),
      ops: [{ op: 'add', path: pointer('nodeDrainTimeout'), value: `${TIMEOUT_SECONDS / 60}m0s` }],
    };
  }
  const deletion = field(obj, ...base, 'deletion');
  const ops: JsonPatchOp[] =
    typeof deletion === 'object' && deletion !== null
      ? [{ op: 'add', path: pointer('deletion', 'nodeDrainTimeoutSeconds'), value: TIMEOUT_SECONDS }]
      : [{ op: 'add', path: pointer('deletion'), value: { nodeDrainTimeoutSeconds: TIMEOUT_SECONDS } }];
  return { obj, via, field: [...base, 'deletion', 'nodeDrainTimeoutSeconds'].join('.'), ops };
}

function report(ctx: Ctx, machine: KubeObject, drain: Drain, ageMs: number, threshold: number): Finding {
  const blockers = blockersOf(drain.message);
  const { reason, data } = classify(drain, blockers);
  const node = String(field(machine, 'status', 'nodeRef', 'name') ?? '') || 'unknown (no status.nodeRef)';
  const ns = machine.metadata.namespace ?? '';
  const cluster = clusterNameOf(machine) ?? (field(machine, 'spec', 'clusterName') as string | undefined);
  const kubeconfig = cluster ? `${cluster}-kubeconfig` : undefined;
  const machineLabel = keyOf({ namespace: ns, name: machine.metadata.name ?? '' });
  const target = timeoutTarget(ctx, machine);

  const evidence: Record<string, unknown> = {
    machine: machineLabel,
    apiVersion: machine.apiVersion,
    cluster: cluster ?? 'unknown',
    node,
    deletionTimestamp: machine.metadata.deletionTimestamp,
    drainStartedAt: new Date(drain.startedMs).toISOString().replace('.000Z', 'Z'),
    drainStartFrom: drain.startedFrom,
    drainingFor: ageEvidence(ageMs),
    threshold: ageEvidence(threshold),
    nodeDrainTimeout: 'not set',
    conditions: { Deleting: conditionEvidence(drain.deleting), DrainingSucceeded: conditionEvidence(drain.draining) },
    blockingPods: blockers.map((b) => ({
      cause: b.cause,
      pods: b.pods,
      ...(b.more > 0 ? { more: b.more } : {}),
      ...(b.budget ? { podDisruptionBudget: b.budget } : {}),
      detail: b.detail,
    })),
    podsLiveIn: `the workload cluster${cluster ? ` ${cluster} (kubeconfig: Secret ${keyOf({ namespace: ns, name: kubeconfig! })}, key value)` : ''}, which kubectl doctor does not read: the Pods and budgets are as Cluster API reported them`,
    timeoutBelongsOn: 'manual' in target ? target.manual : `${objectLabel(target.obj)} (${target.field})`,
  };

  const steps: Step[] = [workloadStep(ns, kubeconfig, node, reason, blockers)];
  const after = `it has run ${humanDuration(ageMs)}${ageMs >= TIMEOUT_SECONDS * 1000 ? ', so at its next attempt, within 20 s' : ''}`;
  let leftTo: string | undefined;
  if ('manual' in target) {
    steps.push(
      manual(`Set a drain timeout of ${TIMEOUT_SECONDS} s where it is kept: ${target.manual}`, target.manual, { role: 'alternative' }),
    );
  } else {
    steps.push(
      jsonPatch(
        `Set a drain timeout of ${TIMEOUT_SECONDS} s on ${target.via} (${target.field}): Cluster API stops draining once the drain has run that long (${after}) and deletes Node ${node} with its Pods still on it (not evicted: no PodDisruptionBudget is honoured)` +
          (target.obj === machine ? '' : '; it also limits every later drain of these Machines'),
        ctx.targetOf(target.obj),
        target.ops,
        { risk: 'disruptive', reversible: true },
      ),
    );
    const ends = `the Machine controller ends the drain once it has run ${TIMEOUT_SECONDS} s, deletes the infrastructure and Node ${node}, then the Machine`;
    leftTo =
      target.obj === machine
        ? `capi-controller-manager: ${ends}`
        : `capi-controller-manager: the owner's controller copies the timeout to Machine ${machineLabel} (spec.${versionOf(machine.apiVersion) === 'v1beta1' ? 'nodeDrainTimeout' : 'deletion.nodeDrainTimeoutSeconds'}), then ${ends}`;
  }
  steps.push(
    checkpoint(
      'Checkpoint: give Cluster API a minute to act on the timeout before skipping the eviction altogether',
      `go on only if Machine ${machineLabel} is still draining a minute later (kubectl get machines.cluster.x-k8s.io ${shellQuote(machine.metadata.name ?? '')} -n ${shellQuote(ns)} shows it; the drain is retried every 20 s) or no timeout could be set`,
    ),
  );
  const annotations = machine.metadata.annotations;
  steps.push(
    jsonPatch(
      `Annotate Machine ${machineLabel} with ${EXCLUDE_NODE_DRAINING}: Cluster API skips the drain, no Pod is evicted and they all die with Node ${node}`,
      ctx.targetOf(machine),
      annotations
        ? [{ op: 'add', path: `/metadata/annotations/${pointerEscape(EXCLUDE_NODE_DRAINING)}`, value: '' }]
        : [{ op: 'add', path: '/metadata/annotations', value: { [EXCLUDE_NODE_DRAINING]: '' } }],
      { risk: 'destructive', reversible: true },
    ),
  );

  return ctx.finding(machine, {
    reason,
    data: { node, age: humanDuration(ageMs), ...data },
    severity: 'error',
    evidence,
    remediation: {
      summary: `Let the blocking Pods go in the workload cluster; else set a drain timeout (${TIMEOUT_SECONDS} s), and only as a last resort skip the drain with ${EXCLUDE_NODE_DRAINING}`,
      steps,
      // With the timeout the rule no longer reports the Machine at once; the drain is over when the Machine is gone.
      ...(leftTo ? { leftTo, awaitsDeletion: [ctx.targetOf(machine)] } : {}),
    },
  });
}

/** What to do in the workload cluster, with its kubeconfig read from the Secret through a pipe (never printed or saved). */
function workloadStep(ns: string, kubeconfig: string | undefined, node: string, reason: Reason, blockers: Blocker[]): Step {
  const kc = kubeconfig
    ? `kubectl --kubeconfig <(kubectl get secret ${shellQuote(kubeconfig)} -n ${shellQuote(ns)} -o jsonpath='{.data.value}' | base64 -d)`
    : 'kubectl --kubeconfig <workload cluster kubeconfig>';
  const namespaces = [...new Set(blockers.flatMap((b) => b.pods).map((p) => p.split('/')[0]!))];
  const lines = [`${kc} get pods -A --field-selector ${shellQuote(`spec.nodeName=${node}`)} -o wide`];
  const what: Record<Reason, string> = {
    'pdb-blocks-eviction': 'scale the workload up or relax the PodDisruptionBudget whose ALLOWED DISRUPTIONS is 0',
    'eviction-failed': 'fix what refuses the eviction (the error above; an admission webhook, RBAC of the controller)',
    'pods-not-terminating': 'find what holds the terminating Pods (a finalizer, an unreachable kubelet) and release it',
    'waiting-for-pods': 'let the Pods the MachineDrainRule waits for complete, or change the rule',
    'drain-error': 'check that the workload cluster is reachable and the capi-controller-manager logs',
    'drain-not-finished': 'find the Pods that do not leave the Node: PodDisruptionBudgets with ALLOWED DISRUPTIONS 0, terminating Pods',
  };
  if (reason === 'pdb-blocks-eviction' || reason === 'drain-not-finished')
    lines.push(`${kc} get pdb ${namespaces.length === 1 ? `-n ${shellQuote(namespaces[0]!)}` : '-A'}`);
  return manual(
    `Preferred, in the workload cluster: ${what[reason]}; the drain is retried every 20 s and finishes by itself (the kubeconfig is read from the Secret through a pipe, never printed or written to disk)`,
    lines.join('\n'),
    { role: 'alternative' },
  );
}
