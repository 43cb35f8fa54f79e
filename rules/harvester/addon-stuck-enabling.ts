import { checkpoint, deleteAction, jsonPatch, manual } from '../../src/plan/builder.ts';
import { defineRule, type FindingDetails, type RuleContext } from '../../src/engine/rule.ts';
import type { ActionTarget, JsonPatchOp } from '../../src/plan/actions.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { conditionsOf, field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { parseRedacted, sameText } from '../../src/kube/redact.ts';
import { ageEvidence, heldBackReason, humanDuration, parseTime, thresholdMs } from '../lib/age.ts';
import { atLeastMinor, epochSeconds, harvesterVersion, rfc3339Seconds, str, versionEvidence, type HarvesterVersion } from './version.ts';
import { WRANGLER_APPLIED } from '../lib/wrangler.ts';
import { HELM_CHARTS } from '../helm/dump-redactions.ts';
import { ADDON_DEFAULTS_ANNOTATION, ADDONS, SETTINGS } from './dump-redactions.ts';

/** InProgress=True younger than this is a normal install (large charts, slow registries). */
const DEFAULT_THRESHOLD_MS = 15 * 60_000;
/** Job creationTimestamp must be at least this many whole seconds before InProgress (second precision, 1 s tolerance). */
const STALE_MIN_SECONDS = 1;
/** A pod whose kubelet-reported startTime precedes its apiserver creationTimestamp by this much shows clock skew. */
const SKEW_MIN_SECONDS = 2;
const TRANSITIONAL_STATES = new Set(['AddonEnabling', 'AddonUpdating']);
const PULL_ERRORS = new Set(['ImagePullBackOff', 'ErrImagePull']);

const STUCK = 'Addon has been {{state}} for {{age}}';
const reasons = {
  'helmchart-missing': `${STUCK} but HelmChart {{helmChart}} does not exist; the addon controller should have reset it to AddonDisabled, check that the harvester controller runs`,
  'helmchart-not-owned': `${STUCK} but HelmChart {{helmChart}} {{ownership}}, so the controller waits forever`,
  'job-name-empty': `${STUCK} but HelmChart {{helmChart}} has no status.jobName, so the controller waits for a Job forever`,
  'job-missing': `${STUCK} but its install Job {{job}} no longer exists, so the controller waits for it forever`,
  'job-running': `${STUCK} while its install Job {{job}} is still running{{pullError}}`,
  'stale-job-timestamp': `${STUCK}: install Job {{job}} {{outcome}} but was created {{createdBefore}}s before InProgress, so the controller never advances; {{blocking}}{{clockSkew}}`,
  'job-current-not-advanced': `${STUCK} although its install Job {{job}} completed after InProgress; the controller should have advanced, check the harvester controller`,
};
type Classification = keyof typeof reasons;

/**
 * What the rule reads of an Addon, a HelmChart and a Job besides their metadata: a scan keeps no more of them. An
 * Addon is kept almost whole (its values are compared with its HelmChart's); a HelmChart loses its chartContent
 * (a base64 chart archive) and other settings, a Job its pod template.
 */
const ADDON_FIELDS = [
  'spec.enabled',
  'spec.repo',
  'spec.chart',
  'spec.version',
  'spec.valuesContent',
  'status.status',
  'status.conditions',
];
const HELM_CHART_FIELDS = ['spec.repo', 'spec.chart', 'spec.version', 'spec.valuesContent', 'status.jobName'];
const JOB_FIELDS = ['status.active', 'status.succeeded', 'status.failed', 'status.completionTime', 'status.conditions'];

const reads = {
  addons: { resource: 'addons.harvesterhci.io', fields: ADDON_FIELDS },
  helmcharts: { resource: 'helmcharts.helm.cattle.io', fields: HELM_CHART_FIELDS },
  jobs: { resource: 'jobs.batch', fields: JOB_FIELDS },
  pods: { resource: 'pods', labelSelector: 'helmcharts.helm.cattle.io/chart', optional: true },
  settings: { resource: 'settings.harvesterhci.io', optional: true },
  upgrades: { resource: 'upgrades.harvesterhci.io', optional: true, allNamespaces: true },
};

type Ctx = RuleContext<typeof reads, typeof reasons>;
type Step = NonNullable<FindingDetails['remediation']>['steps'][number];

export default defineRule({
  meta: {
    id: 'harvester/addon-stuck-enabling',
    summary: 'Harvester Addon stuck in Enabling/Updating: changes refused, upgrades blocked',
    severity: 'error',
    ecosystem: 'harvester',
    fixable: 'destructive',
    thresholds: {
      inProgress: {
        ms: DEFAULT_THRESHOLD_MS,
        minAge: true,
        describe: 'an Addon enabling or updating (InProgress=True) for less is a normal install, not reported',
      },
      staleJob: {
        ms: STALE_MIN_SECONDS * 1000,
        describe: 'a completed install Job created at least this long before InProgress was set is stale (stale-job-timestamp)',
      },
      clockSkew: { ms: SKEW_MIN_SECONDS * 1000, describe: 'a pod started at least this long before its creation shows clock skew' },
    },
    reads,
    dumpRedactions: [WRANGLER_APPLIED, ADDONS, HELM_CHARTS, SETTINGS],
    reasons,
    explain: {
      detects:
        'Enabled Harvester Addons (addons.harvesterhci.io) whose status is AddonEnabling or AddonUpdating with the ' +
        'InProgress condition True for longer than 15 minutes (--min-age overrides). For each one the rule follows the ' +
        'HelmChart of the same name and namespace to the Job named in its status.jobName and classifies the case: ' +
        'stale-job-timestamp (the install Job completed but was created at least 1 s before InProgress.lastUpdateTime, ' +
        'compared at second precision: the controller will never advance; the harvester/harvester#7376 bug, error), ' +
        'job-running (the Job never completed; pods in ImagePullBackOff/ErrImagePull mean the air-gapped registry lacks ' +
        'an image), job-missing, job-name-empty, helmchart-missing, helmchart-not-owned (ownerReference with another ' +
        'uid) and job-current-not-advanced (all warnings). Addons with OperationFailed=True are a different, ' +
        'non-blocking case and are not reported; neither are installs younger than the threshold.',
      why:
        "The addon controller stamps InProgress.lastUpdateTime with the harvester pod's clock and counts the Job " +
        'named by the HelmChart as "current" only if job.creationTimestamp >= that time. When the HelmChart already ' +
        "existed (a fast disable/enable) helm-controller does not recreate the Job, and when the harvester node's " +
        'clock runs ahead of the apiserver a fresh Job looks older; either way the controller re-enqueues every 5 s ' +
        'forever. While InProgress=True the validating webhook validator.harvesterhci.io refuses every update of the ' +
        'Addon ("cannot perform operation, as an existing operation is in progress on addon <name>"), so the UI ' +
        "cannot disable it. Before Harvester v1.7 the upgrade's apply-manifests Job fails when it patches the addon; " +
        'from v1.7 creating an Upgrade is refused ("addon <ns>/<name> is enabled but still on status <status>, please ' +
        'wait for it to be ready or fix it").',
      evidence:
        'The Addon state and InProgress age; the HelmChart (ownership by Addon uid, status.jobName, whether its ' +
        'repo/chart/version/valuesContent match the Addon; in a kubectl doctor dump the values are redacted and ' +
        'compared by length and SHA-256 prefix); the Job (creationTimestamp, completionTime, succeeded, ' +
        'failed, seconds created before InProgress); its pods (phase, image-pull errors, startTime vs ' +
        'creationTimestamp as the clock-skew tell); the Harvester version from settings.harvesterhci.io/server-version ' +
        'and how the addon blocks upgrades there; an Upgrade currently in UpgradingSystemServices.',
      remediation: [
        'stale-job-timestamp with a succeeded Job and a HelmChart that matches the Addon (safe): finish the ' +
          'transition the controller missed. Patch the Addon through its status subresource (the webhook does not ' +
          'match addons/status) to status AddonDeploySuccessful with all three conditions Completed=True, ' +
          'InProgress=False, OperationFailed=False (a merge patch would replace the whole list), guarded by a test of ' +
          'metadata.resourceVersion. kubectl --subresource needs kubectl >= 1.24. Then check the status stays ' +
          'AddonDeploySuccessful for 30 s.',
        'When clocks are skewed (pod startTime before creationTimestamp), fix NTP/chrony on the nodes first, or a ' +
          're-enable gets stuck again: a re-enable plan then starts with a checkpoint (--fix stops there).',
        'Otherwise (Job failed, missing, or the HelmChart does not match) — disruptive, it uninstalls the chart: ' +
          'unblock the webhook with a status patch that sets only InProgress=False, disable the Addon ' +
          '(spec.enabled=false); a checkpoint follows (--fix stops there): wait for AddonDisabled, then enable it ' +
          'again by hand (a disabled Addon is no longer reported). With an empty status.jobName, a checkpoint comes ' +
          'first: check helm-controller, which fills it once it runs.',
        "job-running with image-pull errors: make the images (rancher/klipper-helm and the chart's images) and the " +
          'chart repository reachable from the air-gapped cluster; the Job then finishes by itself.',
        'Never patch the Addon main resource while InProgress=True: the webhook refuses it and .status is ignored ' +
          'there. Last resort (issue #7376): helm uninstall the release, back up, delete and re-create the Addon (v1.7+ ' +
          'refuses deleting non-experimental addons).',
        'Do not act while an Upgrade is in UpgradingSystemServices; wait for it to end.',
      ],
      references: [
        'https://github.com/harvester/harvester/issues/7376',
        'https://github.com/harvester/harvester/pull/4227',
        'https://github.com/harvester/harvester/issues/4402',
        'https://github.com/harvester/harvester/issues/5337',
        'https://github.com/harvester/harvester/pull/9645',
        'https://github.com/k3s-io/helm-controller/pull/232',
        'https://github.com/k3s-io/helm-controller/issues/177',
        'https://github.com/k3s-io/helm-controller/issues/217',
        'https://github.com/kubernetes/enhancements/issues/2590',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, DEFAULT_THRESHOLD_MS);
    const helmcharts = ctx.list('helmcharts');
    const jobs = ctx.list('jobs');
    const pods = ctx.optional('pods');
    const version = harvesterVersion(ctx.optional('settings'));
    const upgrades = ctx.optional('upgrades');
    const findings = [];

    for (const addon of ctx.list('addons')) {
      if (field(addon, 'spec', 'enabled') !== true) continue;
      const state = str(addon, 'status', 'status') ?? '';
      if (!TRANSITIONAL_STATES.has(state)) continue;
      const conditions = conditionsOf(addon);
      if (conditions.find((c) => c.type === 'OperationFailed')?.status === 'True') continue; // failed: not this bug
      const inProgressIndex = conditions.findIndex((c) => c.type === 'InProgress');
      const inProgress = conditions[inProgressIndex];
      if (!inProgress || inProgress.status !== 'True') continue;
      const inProgressField = inProgress.lastUpdateTime ? 'lastUpdateTime' : 'lastTransitionTime';
      const inProgressTime = inProgress.lastUpdateTime ?? inProgress.lastTransitionTime;
      const inProgressMs = parseTime(inProgressTime);
      if (inProgressMs === undefined) continue;
      const ageMs = ctx.now.getTime() - inProgressMs;
      if (ageMs < threshold) {
        ctx.heldBack(addon, heldBackReason(`${state} for ${humanDuration(ageMs)}`, threshold));
        continue;
      }

      const ns = addon.metadata.namespace ?? '';
      const name = addon.metadata.name ?? '';
      const evidence: Record<string, unknown> = {
        addon: {
          status: state,
          enabled: true,
          repo: str(addon, 'spec', 'repo'),
          chart: str(addon, 'spec', 'chart'),
          version: str(addon, 'spec', 'version'),
          uid: addon.metadata.uid,
        },
        inProgress: { field: `status.conditions[type=InProgress].${inProgressField}`, value: inProgressTime, age: ageEvidence(ageMs) },
        thresholdSeconds: Math.floor(threshold / 1000),
      };
      const blocking = upgradeBlocking(version, ns, name, state);
      evidence.webhookRefusesUpdates = `admission webhook "validator.harvesterhci.io" denied the request: cannot perform operation, as an existing operation is in progress on addon ${name}`;
      evidence.blocksUpgrades = blocking.evidence;
      const activeUpgrade = systemServicesUpgrade(upgrades);
      evidence.upgradeInSystemServicesPhase = activeUpgrade;

      const age = humanDuration(ageMs);
      const hc = helmcharts.find((h) => h.metadata.namespace === ns && h.metadata.name === name);
      let classification: Classification;
      const data: Record<string, string | number> = { state, age, helmChart: name };
      let severity: 'error' | 'warning' = 'warning';
      let steps: Step[];
      let summary: string;

      if (!hc) {
        classification = 'helmchart-missing';
        evidence.helmChart = { name: keyOf({ namespace: ns, name }), found: false };
        data.helmChart = keyOf({ namespace: ns, name });
        summary = 'Check the harvester controller; it normally resets an Addon without HelmChart to AddonDisabled within seconds';
        steps = [
          manual(
            'Check the harvester controller and its logs',
            'kubectl -n harvester-system get deployment harvester && kubectl -n harvester-system logs deployment/harvester --since=1h | grep -i addon',
          ),
        ];
      } else {
        const owners = hc.metadata.ownerReferences ?? [];
        const owned = owners.some(
          (o) => o.kind === 'Addon' && o.apiVersion === addon.apiVersion && o.name === name && o.uid === addon.metadata.uid,
        );
        const jobName = str(hc, 'status', 'jobName') ?? '';
        const specCheck = helmChartMatches(addon, hc);
        evidence.helmChart = {
          name: hc.metadata.name,
          ownedByAddon: owned,
          ownerReferences: owners.map((o) => ({ kind: o.kind, name: o.name, uid: o.uid })),
          jobName,
          specMatchesAddon: specCheck.matches,
          mismatchedFields: specCheck.mismatched,
        };
        const job = jobName ? jobs.find((j) => j.metadata.namespace === ns && j.metadata.name === jobName) : undefined;
        data.job = jobName;
        const jobPods = job ? podsOfJob(pods, job) : undefined;
        if (jobPods !== undefined)
          evidence.pods = 'unavailable' in jobPods ? { unavailable: jobPods.unavailable } : jobPods.map(podEvidence);
        const skew = jobPods && !('unavailable' in jobPods) ? clockSkew(jobPods) : undefined;
        if (skew) evidence.clockSkew = skew;

        if (!owned) {
          classification = 'helmchart-not-owned';
          const addonOwner = owners.find((o) => o.kind === 'Addon' && o.name === name);
          data.ownership = addonOwner ? `is owned by another Addon uid ${addonOwner.uid} (a leftover)` : 'is not owned by this Addon';
          ({ summary, steps } = notOwnedPlan(ctx, hc, addonOwner !== undefined));
        } else if (jobName === '') {
          classification = 'job-name-empty';
          ({ summary, steps } = reEnablePlan(ctx, addon, inProgressIndex, state));
          // Alternatives, not a sequence: a helm-controller that is down fills jobName once it runs again, and
          // disabling meanwhile would leave the HelmChart's helm-delete finalizer with nobody to run it.
          steps.unshift(
            manual(
              'Check that helm-controller runs (RKE2 embeds it in the server process); it fills status.jobName',
              `kubectl -n ${shellQuote(ns)} get helmcharts.helm.cattle.io ${shellQuote(name)} -o yaml`,
            ),
            checkpoint(
              'Checkpoint: a helm-controller that was down fills status.jobName and runs the install Job once it runs again',
              `if helm-controller was not running, start it, wait a few minutes and run kubectl doctor again; go on only if it runs and HelmChart ${ns}/${name} still has no status.jobName (disabling the Addon needs helm-controller to uninstall the chart)`,
            ),
          );
        } else if (!job) {
          classification = 'job-missing';
          evidence.job = { name: jobName, found: false };
          ({ summary, steps } = reEnablePlan(ctx, addon, inProgressIndex, state));
        } else {
          const jobCreated = epochSeconds(job.metadata.creationTimestamp);
          const inProgressSec = Math.floor(inProgressMs / 1000);
          const createdBefore = jobCreated === undefined ? undefined : inProgressSec - jobCreated;
          const succeeded = Number(field(job, 'status', 'succeeded') ?? 0);
          const complete = isJobComplete(job);
          evidence.job = {
            name: jobName,
            creationTimestamp: job.metadata.creationTimestamp,
            completionTime: str(job, 'status', 'completionTime') ?? null,
            complete,
            active: Number(field(job, 'status', 'active') ?? 0),
            succeeded,
            failed: Number(field(job, 'status', 'failed') ?? 0),
            createdBeforeInProgressSeconds: createdBefore,
          };
          if (!complete) {
            classification = 'job-running';
            const pullErrors = jobPods && !('unavailable' in jobPods) ? jobPods.flatMap(pullErrorsOf) : [];
            const pullText =
              pullErrors.length > 0
                ? `; pod ${pullErrors[0]!.pod} cannot pull ${pullErrors[0]!.image} (${pullErrors[0]!.reason}): images missing from the air-gapped registry`
                : '';
            data.pullError = pullText;
            ({ summary, steps } = runningPlan(ns, jobName, pullErrors.length > 0));
          } else if (createdBefore !== undefined && createdBefore >= STALE_MIN_SECONDS) {
            classification = 'stale-job-timestamp';
            severity = 'error';
            const outcome = succeeded > 0 ? 'succeeded' : 'failed';
            Object.assign(data, {
              outcome,
              createdBefore,
              blocking: blocking.text,
              clockSkew: skew ? `; pod ${skew.pod} started ${skew.seconds}s before it was created (clock skew)` : '',
            });
            const finish = succeeded > 0 && specCheck.matches;
            if (finish) {
              ({ summary, steps } = finishPlan(ctx, addon, inProgressIndex, state));
            } else {
              ({ summary, steps } = reEnablePlan(ctx, addon, inProgressIndex, state));
              summary =
                succeeded > 0
                  ? `The HelmChart differs from the Addon (${specCheck.mismatched.join(', ')}), so marking it deployed would be wrong: ${lowerFirst(summary)}`
                  : `The install Job failed: ${lowerFirst(summary)}`;
            }
            if (skew) {
              const fixClocks = manual(
                `Fix time synchronisation first: pod ${skew.pod} started ${skew.seconds}s before the apiserver created it`,
                'Check NTP/chrony on every node (e.g. chronyc tracking; timedatectl) and make all node clocks agree with the control plane',
              );
              // Marking the Addon deployed does not depend on the clocks; a re-enable does (with skewed clocks the
              // fresh Job looks older than InProgress and the Addon gets stuck again), so it waits for the clock fix.
              steps.unshift(
                ...(finish
                  ? [fixClocks]
                  : [
                      fixClocks,
                      checkpoint(
                        'Checkpoint: re-enabling while node clocks disagree gets the Addon stuck again',
                        "go on only after every node's clock agrees with the control plane (chronyc tracking / timedatectl show no offset); the old pod keeps its skew tell, so run the steps below by hand (kubectl doctor -o script prints them)",
                      ),
                    ]),
              );
            }
          } else {
            classification = 'job-current-not-advanced';
            summary = 'Check the harvester controller: it re-checks the Job every 5 s';
            steps = [
              manual(
                'Check the harvester controller and its logs',
                'kubectl -n harvester-system logs deployment/harvester --since=1h | grep -i addon',
              ),
            ];
          }
        }
      }
      evidence.classification = classification;
      if (activeUpgrade && typeof activeUpgrade === 'object' && 'name' in activeUpgrade) {
        summary = `Upgrade ${String(activeUpgrade.name)} is upgrading system services: wait for it to end before changing the addon`;
        steps = [
          manual(
            `Wait until Upgrade ${String(activeUpgrade.name)} leaves the UpgradingSystemServices phase, then run kubectl doctor again`,
            `kubectl -n harvester-system get upgrades.harvesterhci.io ${shellQuote(String(activeUpgrade.name))} -L harvesterhci.io/upgradeState -w`,
          ),
        ];
      }
      findings.push(ctx.finding(addon, { reason: classification, data, severity, evidence, remediation: { summary, steps } }));
    }
    return findings;
  },
});

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** How a stuck addon blocks upgrades on this Harvester version. */
function upgradeBlocking(
  version: HarvesterVersion,
  ns: string,
  name: string,
  state: string,
): { text: string; evidence: Record<string, unknown> } {
  const refused = `addon ${ns}/${name} is enabled but still on status ${state}, please wait for it to be ready or fix it`;
  const denied = `admission webhook "validator.harvesterhci.io" denied the request: cannot perform operation, as an existing operation is in progress on addon ${name}`;
  const v17 = atLeastMinor(version, 1, 7);
  if (v17 === true) {
    return {
      text: 'creating a Harvester Upgrade is refused (v1.7+)',
      evidence: { harvesterVersion: versionEvidence(version), how: 'upgrade-refused', error: refused },
    };
  }
  if (v17 === false) {
    return {
      text: "the next upgrade's apply-manifests Job fails when it patches this addon (before v1.7)",
      evidence: {
        harvesterVersion: versionEvidence(version),
        how: 'apply-manifests-job-fails',
        job: 'harvester-system/hvst-upgrade-<id>-apply-manifests',
        error: denied,
      },
    };
  }
  return {
    text: 'Harvester upgrades are blocked (version unknown: before v1.7 the apply-manifests Job fails, from v1.7 the Upgrade is refused)',
    evidence: { harvesterVersion: versionEvidence(version), how: 'unknown', errors: [denied, refused] },
  };
}

/** An Upgrade in its system-services phase (the apply-manifests Job patches addons then). */
function systemServicesUpgrade(upgrades: KubeObject[] | { unavailable: string }): Record<string, unknown> | null {
  if (!Array.isArray(upgrades)) return { unavailable: upgrades.unavailable };
  const u = upgrades.find((x) => x.metadata.labels?.['harvesterhci.io/upgradeState'] === 'UpgradingSystemServices');
  return u ? { name: u.metadata.name, namespace: u.metadata.namespace, state: 'UpgradingSystemServices' } : null;
}

/** Harvester's isJobComplete: completionTime set, or Failed with reason BackoffLimitExceeded. */
function isJobComplete(job: KubeObject): boolean {
  if (field(job, 'status', 'completionTime')) return true;
  return conditionsOf(job).some((c) => c.type === 'Failed' && c.status === 'True' && c.reason === 'BackoffLimitExceeded');
}

/**
 * Whether the HelmChart spec is what the Addon asks for: repo, chart, version, and the values, the Addon's or else
 * the default values of its annotation (harvester pkg/controller/master/addon/common.go defaultValues,
 * isHelmchartUpdateNeeded). In a dump the values and the annotation are redacted (./dump-redactions.ts, the
 * annotation as the text it decodes to): sameText compares them by length and hash, which decides equal or not as well.
 */
function helmChartMatches(addon: KubeObject, hc: KubeObject): { matches: boolean; mismatched: string[] } {
  let values = str(addon, 'spec', 'valuesContent') ?? '';
  const defaults = addon.metadata.annotations?.[ADDON_DEFAULTS_ANNOTATION];
  const empty = values === '' || parseRedacted(values)?.length === 0;
  if (empty && defaults) values = parseRedacted(defaults) ? defaults : Buffer.from(defaults, 'base64').toString('utf8');
  const mismatched: string[] = [];
  for (const key of ['repo', 'chart', 'version'] as const) {
    if ((str(hc, 'spec', key) ?? '') !== (str(addon, 'spec', key) ?? '')) mismatched.push(`spec.${key}`);
  }
  if (!sameText(str(hc, 'spec', 'valuesContent') ?? '', values)) mismatched.push('spec.valuesContent');
  return { matches: mismatched.length === 0, mismatched };
}

function podsOfJob(pods: KubeObject[] | { unavailable: string }, job: KubeObject): KubeObject[] | { unavailable: string } {
  if (!Array.isArray(pods)) return { unavailable: pods.unavailable };
  const ns = job.metadata.namespace;
  const name = job.metadata.name;
  const uid = job.metadata.uid;
  return pods.filter(
    (p) =>
      p.metadata.namespace === ns &&
      (uid
        ? (p.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.uid === uid)
        : (p.metadata.labels?.['batch.kubernetes.io/job-name'] ?? p.metadata.labels?.['job-name']) === name),
  );
}

interface PullError {
  pod: string;
  container: string;
  image: string;
  reason: string;
  message?: string;
}

function pullErrorsOf(pod: KubeObject): PullError[] {
  const statuses = [...asArray(field(pod, 'status', 'initContainerStatuses')), ...asArray(field(pod, 'status', 'containerStatuses'))];
  return statuses.flatMap((s) => {
    const reason = str(s, 'state', 'waiting', 'reason');
    if (!reason || !PULL_ERRORS.has(reason)) return [];
    const e: PullError = { pod: pod.metadata.name ?? '', container: str(s, 'name') ?? '', image: str(s, 'image') ?? '', reason };
    const message = str(s, 'state', 'waiting', 'message');
    if (message) e.message = message;
    return [e];
  });
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function podEvidence(pod: KubeObject): Record<string, unknown> {
  const created = epochSeconds(pod.metadata.creationTimestamp);
  const started = epochSeconds(field(pod, 'status', 'startTime'));
  return {
    name: pod.metadata.name,
    phase: str(pod, 'status', 'phase'),
    creationTimestamp: pod.metadata.creationTimestamp,
    startTime: str(pod, 'status', 'startTime') ?? null,
    startedBeforeCreatedSeconds: created !== undefined && started !== undefined ? Math.max(0, created - started) : null,
    imagePullErrors: pullErrorsOf(pod),
  };
}

/** The clock-skew tell: a pod that the kubelet says started before the apiserver created it. */
function clockSkew(
  pods: KubeObject[],
): { pod: string; creationTimestamp: string; startTime: string; seconds: number; hint: string } | undefined {
  for (const pod of pods) {
    const created = epochSeconds(pod.metadata.creationTimestamp);
    const started = epochSeconds(field(pod, 'status', 'startTime'));
    if (created === undefined || started === undefined || created - started < SKEW_MIN_SECONDS) continue;
    return {
      pod: pod.metadata.name ?? '',
      creationTimestamp: pod.metadata.creationTimestamp ?? '',
      startTime: str(pod, 'status', 'startTime') ?? '',
      seconds: created - started,
      hint: 'status.startTime (kubelet clock) is before metadata.creationTimestamp (apiserver clock): node clocks disagree; fix NTP before re-enabling',
    };
  }
  return undefined;
}

function testInProgress(index: number): JsonPatchOp[] {
  return [
    { op: 'test', path: `/status/conditions/${index}/type`, value: 'InProgress' },
    { op: 'test', path: `/status/conditions/${index}/status`, value: 'True' },
  ];
}

/** R1: write what markCompletedCondition + AddonDeploySuccessful would have written, through /status. */
function finishPlan(ctx: Ctx, addon: KubeObject, inProgressIndex: number, state: string): { summary: string; steps: Step[] } {
  const now = rfc3339Seconds(ctx.now);
  const ns = addon.metadata.namespace ?? '';
  const name = addon.metadata.name ?? '';
  const cond = (type: string, status: string) => ({ type, status, lastUpdateTime: now, lastTransitionTime: now, reason: '', message: '' });
  return {
    summary: 'Finish the transition the controller missed: mark the Addon deployed through its status subresource',
    steps: [
      {
        title:
          'Set status AddonDeploySuccessful with Completed=True, InProgress=False, OperationFailed=False (status subresource, resourceVersion precondition)',
        risk: 'safe',
        reversible: true,
        action: {
          type: 'json-patch',
          target: ctx.targetOf(addon),
          subresource: 'status',
          patch: [
            { op: 'test', path: '/status/status', value: state },
            ...testInProgress(inProgressIndex),
            { op: 'replace', path: '/status/status', value: 'AddonDeploySuccessful' },
            {
              op: 'replace',
              path: '/status/conditions',
              value: [cond('Completed', 'True'), cond('InProgress', 'False'), cond('OperationFailed', 'False')],
            },
          ],
        },
      },
      manual(
        'Verify: the Addon stays AddonDeploySuccessful for 30 s and accepts spec changes again',
        `sleep 30; kubectl -n ${shellQuote(ns)} get addons.harvesterhci.io ${shellQuote(name)} -o jsonpath='{.status.status}{"\\n"}'`,
      ),
    ],
  };
}

/** R2: unblock the webhook, disable, wait for AddonDisabled, re-enable (uninstalls and reinstalls the chart). */
function reEnablePlan(ctx: Ctx, addon: KubeObject, inProgressIndex: number, state: string): { summary: string; steps: Step[] } {
  const target = ctx.targetOf(addon);
  return {
    summary: 'Unblock the webhook, then disable and re-enable the Addon (uninstalls and reinstalls the chart)',
    steps: [
      {
        title: 'Unblock the webhook: set only InProgress=False through the status subresource (keeps status.status)',
        // Not run by a safe-only --fix: alone it lets the next upgrade patch an addon the controller has not settled.
        risk: 'disruptive',
        reversible: true,
        action: {
          type: 'json-patch',
          target,
          subresource: 'status',
          patch: [
            { op: 'test', path: '/status/status', value: state },
            ...testInProgress(inProgressIndex),
            { op: 'replace', path: `/status/conditions/${inProgressIndex}/status`, value: 'False' },
          ],
        },
      },
      setEnabled(
        'Disable the Addon: the controller deletes the HelmChart and helm-controller uninstalls the release',
        target,
        { op: 'test', path: `/status/conditions/${inProgressIndex}/status`, value: 'False' },
        false,
      ),
      // The controller needs time to uninstall (AddonDisabling -> helm-delete Job -> AddonDisabled); the re-enable
      // must not run in the same pass. Once disabled the Addon is no longer reported, so the last step is by hand.
      checkpoint(
        `Checkpoint: wait until Addon ${keyOf({ namespace: addon.metadata.namespace, name: addon.metadata.name ?? '' })} is AddonDisabled`,
        `the controller sets AddonDisabling, deletes HelmChart ${addon.metadata.name ?? ''} and helm-controller runs helm-delete-${addon.metadata.name ?? ''}; when status.status is AddonDisabled (kubectl -n ${shellQuote(addon.metadata.namespace ?? '')} get addons.harvesterhci.io ${shellQuote(addon.metadata.name ?? '')} -o jsonpath='{.status.status}'), run the next step by hand: kubectl doctor no longer reports a disabled Addon`,
        { required: true },
      ),
      setEnabled(
        'After status.status is AddonDisabled, enable the Addon again (a fresh HelmChart and install Job)',
        target,
        { op: 'test', path: '/status/status', value: 'AddonDisabled' },
        true,
      ),
    ],
  };
}

/**
 * Flips spec.enabled to `enabled` (disruptive: the controller uninstalls or reinstalls the chart). An earlier step
 * of the plan moved the resourceVersion, so the write is guarded by the uid, `guard` (the state that step or the
 * controller left) and the value it replaces.
 */
function setEnabled(title: string, target: ActionTarget, guard: JsonPatchOp, enabled: boolean): Step {
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/uid', value: target.uid ?? '' },
    guard,
    { op: 'test', path: '/spec/enabled', value: !enabled },
    { op: 'replace', path: '/spec/enabled', value: enabled },
  ];
  return jsonPatch(title, target, ops, { risk: 'disruptive', reversible: true });
}

function runningPlan(ns: string, jobName: string, pullErrors: boolean): { summary: string; steps: Step[] } {
  if (pullErrors) {
    return {
      summary: 'Make the missing images available to the air-gapped cluster; the install Job then finishes by itself',
      steps: [
        manual(
          'List the images the install Job cannot pull',
          `kubectl -n ${shellQuote(ns)} get pods -l ${shellQuote(`batch.kubernetes.io/job-name=${jobName}`)} -o jsonpath='{range .items[*].status.containerStatuses[*]}{.image}{"\\t"}{.state.waiting.reason}{"\\n"}{end}'`,
        ),
        manual(
          "Push those images (rancher/klipper-helm and the chart's images) to the private registry Harvester uses (or preload them on every node), and make the chart repository reachable",
          'See the Harvester air-gap documentation: containerd-registry setting / private registry mirror',
        ),
      ],
    };
  }
  return {
    summary: 'The install Job has not completed: read its logs before changing the addon',
    steps: [manual("Read the install Job's logs", `kubectl -n ${shellQuote(ns)} logs ${shellQuote(`job/${jobName}`)} --tail=100`)],
  };
}

function notOwnedPlan(ctx: Ctx, hc: KubeObject, leftover: boolean): { summary: string; steps: Step[] } {
  const ns = hc.metadata.namespace ?? '';
  const name = hc.metadata.name ?? '';
  const inspect = manual(
    "Check who manages the HelmChart: the controller only uses a HelmChart owned by this Addon's uid",
    `kubectl -n ${shellQuote(ns)} get helmcharts.helm.cattle.io ${shellQuote(name)} -o jsonpath='{.metadata.ownerReferences}{"\\n"}'`,
  );
  if (!leftover) {
    return {
      summary:
        'A HelmChart not owned by the Addon has the same name; if it is managed outside Harvester on purpose, disable the Addon instead',
      steps: [inspect],
    };
  }
  return {
    summary: 'Delete the leftover HelmChart of a former Addon (uninstalls its release); the controller then reinstalls the addon',
    steps: [
      inspect,
      {
        title: 'Delete the leftover HelmChart (its finalizer runs helm-delete: the release is uninstalled, then reinstalled by the Addon)',
        risk: 'destructive',
        reversible: false,
        action: deleteAction(ctx.targetOf(hc)),
      },
    ],
  };
}
