import { deleteAction, manual } from '../../src/plan/builder.ts';
import { defineRule, type FindingDetails, type RuleContext } from '../../src/engine/rule.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { conditionOf, conditionsOf, field, type KubeObject } from '../../src/kube/object.ts';
import { ageEvidence, humanDuration, parseTime, thresholdMs } from '../lib/age.ts';
import { atLeastMinor, harvesterVersion, str, versionEvidence, versionValue } from './version.ts';
import { WRANGLER_APPLIED } from '../lib/wrangler.ts';
import { CLUSTERS } from '../cluster-api/dump-redactions.ts';
import { MANAGED_CHARTS } from '../fleet/dump-redactions.ts';
import { SETTINGS } from './dump-redactions.ts';

/** An Upgrade younger than this may legitimately have an empty status (the controller initialises it within seconds). */
const DEFAULT_THRESHOLD_MS = 2 * 60_000;
const UPGRADE_NAMESPACE = 'harvester-system';
const READ_MESSAGE = 'harvesterhci.io/read-message';
const CLEANUP_DONE = 'harvesterhci.io/image-cleanup-plan-completed';
const STATE = 'harvesterhci.io/upgradeState';
const PENDING_OS_IMAGE = 'harvesterhci.io/pendingOSImage';
const TERMINAL_STATES = new Set(['Succeeded', 'Failed']);
/** The ManagedCharts the documented "stop the upgrade" procedure resumes (fleet-local). */
const PAUSED_CHARTS = ['harvester', 'harvester-crd', 'rancher-monitoring-crd', 'rancher-logging-crd'];

const reasons = {
  'status-empty': '{{upgrade}} has had {{emptiness}}{{since}} (wiped, and the upgrade controller has not re-initialised it){{tail}}',
  'completed-then-wiped': '{{upgrade}} had completed but its status was wiped ({{tells}}); {{course}}{{tail}}',
  'same-version-rerun':
    '{{upgrade}} looks like a same-version re-run (status.previousVersion = server-version = {{version}}): its status was probably wiped; {{course}}{{tail}}',
};

const reads = {
  upgrades: { resource: 'upgrades.harvesterhci.io' },
  settings: { resource: 'settings.harvesterhci.io', optional: true },
  nodes: { resource: 'nodes', optional: true },
  managedcharts: { resource: 'managedcharts.management.cattle.io', optional: true, allNamespaces: true },
  /** Only the local Cluster's status.phase (completionEvidence): a scan keeps no more of Clusters. */
  capiClusters: { resource: 'clusters.cluster.x-k8s.io', optional: true, allNamespaces: true, fields: ['status.phase'] },
};

type Ctx = RuleContext<typeof reads, typeof reasons>;
type Step = NonNullable<FindingDetails['remediation']>['steps'][number];

interface Tell {
  tell: string;
  field: string;
  value: unknown;
}

export default defineRule({
  meta: {
    id: 'harvester/upgrade-status-wiped',
    summary: 'Harvester Upgrade whose status was wiped: restarted, new upgrades refused',
    severity: 'error',
    ecosystem: 'harvester',
    fixable: 'destructive',
    thresholds: {
      emptyStatus: {
        ms: DEFAULT_THRESHOLD_MS,
        minAge: true,
        describe: 'an Upgrade with an empty status younger than this is fresh (the controller has not initialised it)',
      },
    },
    reads,
    dumpRedactions: [WRANGLER_APPLIED, SETTINGS, MANAGED_CHARTS, CLUSTERS],
    reasons,
    explain: {
      detects:
        'Upgrades (upgrades.harvesterhci.io) in harvester-system without a Completed=True condition (empty status, no ' +
        'Completed condition, or Completed Unknown/False after the controller re-initialised them) that carry a tell ' +
        'that they had finished or were dismissed: the label harvesterhci.io/read-message="true", the annotation ' +
        'harvesterhci.io/image-cleanup-plan-completed, or status.previousVersion == spec.version while the ' +
        'server-version Setting equals spec.version (a same-version re-run). Error when the annotation is present, or ' +
        'the read-message label with all completion evidence green; warning otherwise (legitimate same-version ' +
        'upgrades exist). An Upgrade whose status is empty for longer than 2 minutes (--min-age overrides) without any ' +
        'tell is reported as a warning (wiped and never re-initialised); a fresh Upgrade with an empty status is not.',
      why:
        'The Upgrade CRD has no status subresource, so any PUT without .status erases it: the Rancher-hosted Harvester ' +
        'UI extension v1.0.2-v1.0.4 "Dismiss it" action, kubectl replace of a saved manifest, GitOps. The upgrade ' +
        'controller treats an Upgrade without a Completed condition as new ("Initialize upgrade ..."), sets ' +
        'previousVersion to the current (already new) version and runs the state machine again: ISO download, repo VM, ' +
        'image preload, apply-manifests and an RKE2 rolling drain of every node. While its upgradeState is not ' +
        'Succeeded/Failed every new Upgrade is refused with: cannot proceed until previous upgrade "<name>" completes. ' +
        'The kept read-message label hides the re-run in the UI, and the upgradelog controller purges its UpgradeLog ' +
        '(v1.4-v1.6: stuck at PreparingLoggingInfra; v1.7+: fails after the logReadyTimeout). The UI fix ' +
        '(harvester-ui-extension#201) only stops the UI from dropping status; the controller still re-initialises.',
      evidence:
        'The tells found; the current phase label harvesterhci.io/upgradeState, the Completed and NodesUpgraded ' +
        'conditions and whether a new upgrade is blocked; evidence that the upgrade had really completed: ' +
        "settings.harvesterhci.io/server-version equals spec.version, every Node's status.nodeInfo.osImage is " +
        '"Harvester <spec.version>", no Node has the harvesterhci.io/pendingOSImage annotation; the CAPI cluster ' +
        'fleet-local/local phase (the webhook refuses deleting the Upgrade while it is Provisioning); paused ' +
        'ManagedCharts in fleet-local.',
      remediation: [
        'Never act while nodes are upgrading (upgradeState UpgradingNodes, or NodesUpgraded Unknown) or when the ' +
          'completion evidence is not all green: report only, the cluster may be half-upgraded. The Harvester docs: ' +
          '"DO NOT restart" an upgrade stuck in Phase 4 unless instructed by SUSE support.',
        'Otherwise follow the documented "Stop the Ongoing Upgrade" procedure: optionally generate a support bundle; ' +
          'delete the stale Upgrade (destructive, irreversible: the record goes, but its status was already lost; the ' +
          'controller cleans up the repo VM, image, plans and UpgradeLog); resume the ManagedCharts harvester, ' +
          'harvester-crd, rancher-monitoring-crd and rancher-logging-crd in fleet-local that are paused ' +
          '(spec.paused=false, safe); then check no Upgrade is left outside Succeeded/Failed, no repo VM ' +
          'upgrade-repo-<name>, no cattle-system plans labelled harvesterhci.io/upgrade=<name>, no paused ManagedChart.',
        'Prevention — dismiss safely with a label-only patch, and only when upgradeState is Succeeded: ' +
          'kubectl -n harvester-system label upgrades.harvesterhci.io -l harvesterhci.io/latestUpgrade=true ' +
          'harvesterhci.io/read-message=true . Never PUT (kubectl replace / edit-and-apply a saved copy of) an Upgrade, ' +
          'and upgrade the Rancher Harvester UI extension to >= 1.0.5 / >= 1.5.0. Use the fully qualified resource ' +
          'upgrades.harvesterhci.io.',
        'Advanced, untested: restore a terminal status by patching the main resource (no status subresource) with ' +
          'all seven conditions True and upgradeState Succeeded; only with the image-cleanup-plan-completed annotation.',
      ],
      references: [
        'https://github.com/harvester/harvester/issues/7791',
        'https://github.com/harvester/harvester/pull/7792',
        'https://github.com/harvester/harvester-ui-extension/pull/201',
        'https://github.com/harvester/docs/pull/736',
        'https://docs.harvesterhci.io/v1.4/upgrade/v1-4-1-to-v1-4-2',
        'https://docs.harvesterhci.io/v1.4/upgrade/troubleshooting',
        'https://github.com/harvester/harvester/issues/7821',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, DEFAULT_THRESHOLD_MS);
    const version = harvesterVersion(ctx.optional('settings'));
    const serverVersion = versionValue(version);
    const nodes = ctx.optional('nodes');
    const managedcharts = ctx.optional('managedcharts');
    const capi = ctx.optional('capiClusters');
    const findings = [];

    for (const upgrade of ctx.list('upgrades')) {
      if (upgrade.metadata.namespace !== UPGRADE_NAMESPACE) continue;
      // Deleting the Upgrade is this rule's fix: one being deleted is the fix in progress (its finalizers are
      // core/stuck-deletion's business should they hold it), not the wiped status again.
      if (upgrade.metadata.deletionTimestamp) continue;
      const completed = conditionOf(upgrade, 'Completed');
      if (completed?.status === 'True') continue;
      const createdMs = parseTime(upgrade.metadata.creationTimestamp);
      const ageMs = createdMs === undefined ? Number.POSITIVE_INFINITY : ctx.now.getTime() - createdMs;
      if (ageMs < threshold) continue; // a fresh Upgrade: the controller has not initialised it yet

      const labels = upgrade.metadata.labels ?? {};
      const annotations = upgrade.metadata.annotations ?? {};
      const specVersion = str(upgrade, 'spec', 'version') ?? '';
      const previousVersion = str(upgrade, 'status', 'previousVersion');
      const status = field(upgrade, 'status');
      const statusEmpty =
        status === undefined ||
        status === null ||
        (typeof status === 'object' &&
          Object.values(status).every(
            (v) =>
              v === '' ||
              v === null ||
              (Array.isArray(v) && v.length === 0) ||
              (typeof v === 'object' && v !== null && Object.keys(v).length === 0),
          ));

      const tells: Tell[] = [];
      if (labels[READ_MESSAGE] === 'true') tells.push({ tell: 'dismissed', field: `metadata.labels["${READ_MESSAGE}"]`, value: 'true' });
      if (CLEANUP_DONE in annotations)
        tells.push({ tell: 'image-cleanup-completed', field: `metadata.annotations["${CLEANUP_DONE}"]`, value: annotations[CLEANUP_DONE] });
      if (specVersion !== '' && previousVersion === specVersion && serverVersion === specVersion) {
        tells.push({ tell: 'same-version-rerun', field: 'status.previousVersion', value: previousVersion });
      }
      if (tells.length === 0 && !(statusEmpty || completed === undefined)) continue; // an ordinary upgrade in progress or failed

      const name = upgrade.metadata.name ?? '';
      const state = labels[STATE];
      const nodesUpgraded = conditionOf(upgrade, 'NodesUpgraded');
      const blocksNewUpgrade = state === undefined || !TERMINAL_STATES.has(state);
      const nodesUpgrading = state === 'UpgradingNodes' || nodesUpgraded?.status === 'Unknown';
      const completion = completionEvidence(specVersion, serverVersion, version, nodes, capi);
      const has = (t: string) => tells.some((x) => x.tell === t);
      const high = has('image-cleanup-completed') || (has('dismissed') && completion.allGreen);

      const evidence: Record<string, unknown> = {
        tells,
        confidence: tells.length === 0 ? 'status-empty-only' : high ? 'high' : 'low',
        upgrade: {
          specVersion,
          latestUpgrade: labels['harvesterhci.io/latestUpgrade'] === 'true',
          created: Number.isFinite(ageMs) ? ageEvidence(ageMs) : null,
        },
        status: {
          empty: statusEmpty,
          completed: completed ? { status: completed.status, reason: completed.reason ?? '', message: completed.message ?? '' } : null,
          nodesUpgraded: nodesUpgraded ? nodesUpgraded.status : null,
          previousVersion: previousVersion ?? null,
          upgradeLog: str(upgrade, 'status', 'upgradeLog') ?? null,
          conditions: conditionsOf(upgrade).map((c) => ({ type: c.type, status: c.status })),
        },
        phase: { label: `metadata.labels["${STATE}"]`, value: state ?? null },
        blocksNewUpgrade,
        newUpgradeRefusedWith: blocksNewUpgrade ? `cannot proceed until previous upgrade "${name}" completes` : null,
        hiddenInUi: labels[READ_MESSAGE] === 'true',
        nodesUpgrading,
        harvesterVersion: versionEvidence(version),
        expectedCourse: expectedCourse(version, labels[READ_MESSAGE] === 'true', field(upgrade, 'spec', 'logEnabled') !== false),
        completion,
        thresholdSeconds: Math.floor(threshold / 1000),
      };

      const label = specVersion ? `Upgrade to ${specVersion}` : 'Upgrade';
      const course = statusEmpty
        ? 'its status is empty and the controller has not re-initialised it'
        : completed?.status === 'Unknown'
          ? `the controller restarted it from scratch (state ${state ?? 'none'})`
          : completed?.status === 'False'
            ? `the restarted upgrade ended ${state ?? 'without a state'} (${completed.reason || 'no reason'})`
            : `it has no Completed condition (state ${state ?? 'none'})`;
      const tail = `${blocksNewUpgrade ? '; new upgrades are refused' : ''}${labels[READ_MESSAGE] === 'true' && !statusEmpty ? '; the re-run is hidden in the UI' : ''}`;
      const reason: keyof typeof reasons =
        tells.length === 0
          ? 'status-empty'
          : has('dismissed') || has('image-cleanup-completed')
            ? 'completed-then-wiped'
            : 'same-version-rerun';
      const data = {
        upgrade: label,
        emptiness: statusEmpty ? 'an empty status' : 'no Completed condition',
        since: Number.isFinite(ageMs) ? ` for ${humanDuration(ageMs)}` : '',
        tells: tells.map((t) => t.tell).join(', '),
        version: specVersion ?? '',
        course,
        tail,
      };

      const blockers: string[] = [];
      if (nodesUpgrading)
        blockers.push(`nodes are being upgraded (upgradeState ${state ?? 'none'}, NodesUpgraded ${nodesUpgraded?.status ?? 'absent'})`);
      if (!completion.allGreen) blockers.push(`the completion evidence is not all green (${completion.notGreen.join('; ')})`);
      if (completion.capiBlocksDelete)
        blockers.push(
          `cluster fleet-local/local is in phase ${String(completion.capiPhase)}, not Provisioned (the webhook refuses deleting the Upgrade while it is Provisioning)`,
        );
      evidence.actionBlockedBy = blockers;

      findings.push(
        ctx.finding(upgrade, {
          reason,
          data,
          severity: high ? 'error' : 'warning',
          evidence,
          remediation:
            blockers.length > 0
              ? reportOnly(name, blockers, nodesUpgrading)
              : stopUpgradePlan(ctx, upgrade, managedcharts, !high && tells.length > 0),
        }),
      );
    }
    return findings;
  },
});

interface Completion {
  serverVersion: Record<string, unknown>;
  nodes: Record<string, unknown>[] | { unavailable: string };
  allNodesOnVersion: boolean | null;
  noPendingOSImage: boolean | null;
  capiCluster: Record<string, unknown>;
  capiPhase: string | undefined;
  capiBlocksDelete: boolean;
  allGreen: boolean;
  notGreen: string[];
  [key: string]: unknown;
}

/** The facts that say the upgrade had really completed; none is sufficient alone. */
function completionEvidence(
  specVersion: string,
  serverVersion: string | undefined,
  version: ReturnType<typeof harvesterVersion>,
  nodes: KubeObject[] | { unavailable: string },
  capi: KubeObject[] | { unavailable: string },
): Completion {
  const notGreen: string[] = [];
  const expectedOs = `Harvester ${specVersion}`;
  const svEquals = serverVersion !== undefined && serverVersion === specVersion;
  if (serverVersion === undefined) notGreen.push(`server-version unknown: ${'unavailable' in version ? version.unavailable : ''}`);
  else if (!svEquals) notGreen.push(`server-version is ${serverVersion}, not ${specVersion}`);

  let nodeEvidence: Completion['nodes'];
  let allOnVersion: boolean | null = null;
  let noPending: boolean | null = null;
  if (!Array.isArray(nodes)) {
    nodeEvidence = { unavailable: nodes.unavailable };
    notGreen.push(`nodes could not be read (${nodes.unavailable})`);
  } else {
    nodeEvidence = nodes.map((n) => {
      const osImage = str(n, 'status', 'nodeInfo', 'osImage') ?? '';
      const pending = n.metadata.annotations?.[PENDING_OS_IMAGE];
      return { name: n.metadata.name, osImage, osImageMatches: osImage.trim() === expectedOs, pendingOSImage: pending ?? null };
    });
    allOnVersion = nodeEvidence.length > 0 && nodeEvidence.every((n) => n.osImageMatches === true);
    noPending = nodeEvidence.every((n) => n.pendingOSImage === null);
    if (nodeEvidence.length === 0) notGreen.push('no Node objects were found');
    else if (!allOnVersion)
      notGreen.push(
        `not every node reports osImage "${expectedOs}": ${nodeEvidence
          .filter((n) => !n.osImageMatches)
          .map((n) => `${String(n.name)}=${String(n.osImage)}`)
          .join(', ')}`,
      );
    if (!noPending)
      notGreen.push(
        `nodes still have ${PENDING_OS_IMAGE}: ${nodeEvidence
          .filter((n) => n.pendingOSImage !== null)
          .map((n) => String(n.name))
          .join(', ')}`,
      );
  }

  let capiCluster: Record<string, unknown>;
  let capiPhase: string | undefined;
  if (!Array.isArray(capi)) capiCluster = { unavailable: capi.unavailable };
  else {
    const local = capi.find((c) => c.metadata.namespace === 'fleet-local' && c.metadata.name === 'local');
    capiPhase = local ? str(local, 'status', 'phase') : undefined;
    capiCluster = local ? { name: 'fleet-local/local', phase: capiPhase ?? null } : { name: 'fleet-local/local', found: false };
  }
  return {
    serverVersion:
      serverVersion === undefined
        ? { unavailable: 'unavailable' in version ? version.unavailable : 'unknown' }
        : { value: serverVersion, equalsSpecVersion: svEquals },
    nodes: nodeEvidence,
    expectedOsImage: expectedOs,
    allNodesOnVersion: allOnVersion,
    noPendingOSImage: noPending,
    capiCluster,
    capiPhase,
    capiBlocksDelete: capiPhase !== undefined && capiPhase !== 'Provisioned',
    allGreen: notGreen.length === 0,
    notGreen,
  };
}

/** What the controller does next, by version (derived from the upgrade and upgradelog controllers). */
function expectedCourse(version: ReturnType<typeof harvesterVersion>, readMessage: boolean, logEnabled: boolean): string {
  if (!readMessage || !logEnabled)
    return 'the full re-run proceeds: ISO download, repo VM, image preload, apply-manifests, rolling drain of every node';
  const v17 = atLeastMinor(version, 1, 7);
  if (v17 === true)
    return 'v1.7+: the UpgradeLog is purged because of read-message, LogReady times out (logReadyTimeout, default 5 min) and the upgrade ends Failed ("Timed out creating upgrade logging infrastructure")';
  if (v17 === false)
    return 'before v1.7: the UpgradeLog is purged because of read-message and LogReady stays Unknown: the upgrade stays at PreparingLoggingInfra and blocks new upgrades';
  return 'version unknown: before v1.7 it stays at PreparingLoggingInfra; from v1.7 it fails after the logReadyTimeout';
}

function reportOnly(name: string, blockers: string[], nodesUpgrading: boolean): NonNullable<FindingDetails['remediation']> {
  return {
    summary: `Report only: ${blockers.join('; ')}`,
    steps: [
      nodesUpgrading
        ? manual(
            'Do not delete or restart the upgrade while nodes are upgrading: wait for the node phase to finish (docs: "DO NOT restart" a Phase 4 upgrade unless instructed by SUSE support), then run kubectl doctor again',
            `kubectl -n harvester-system get upgrades.harvesterhci.io ${shellQuote(name)} -L harvesterhci.io/upgradeState -o yaml`,
          )
        : manual(
            "Investigate before acting: the cluster may be half-upgraded. Compare server-version, every node's osImage and the pendingOSImage annotations, then run kubectl doctor again",
            'kubectl get settings.harvesterhci.io server-version; kubectl get nodes -o custom-columns=NAME:.metadata.name,OS:.status.nodeInfo.osImage,PENDING:.metadata.annotations.harvesterhci\\.io/pendingOSImage',
          ),
    ],
  };
}

/** The documented "Stop the Ongoing Upgrade" procedure: delete the Upgrade, resume paused ManagedCharts, check. */
function stopUpgradePlan(
  ctx: Ctx,
  upgrade: KubeObject,
  managedcharts: KubeObject[] | { unavailable: string },
  lowConfidence: boolean,
): NonNullable<FindingDetails['remediation']> {
  const name = upgrade.metadata.name ?? '';
  const steps: Step[] = [
    manual(
      'Optional: generate a support bundle first (Harvester UI > Support > Generate Support Bundle)',
      'Harvester UI: Support > Generate Support Bundle',
      { role: 'aside' },
    ),
    {
      title: `Delete the stale Upgrade ${name}: its status was already lost; the controller removes the repo VM, image, plans and UpgradeLog`,
      risk: 'destructive',
      reversible: false,
      action: deleteAction(ctx.targetOf(upgrade)),
    },
  ];
  if (!Array.isArray(managedcharts)) {
    steps.push(
      manual(
        `Resume the ManagedCharts the upgrade paused (managedcharts could not be read: ${managedcharts.unavailable})`,
        `for mc in ${PAUSED_CHARTS.join(' ')}; do kubectl -n fleet-local patch managedcharts.management.cattle.io $mc --type=merge -p '{"spec":{"paused":false}}'; done`,
      ),
    );
  } else {
    for (const mc of managedcharts) {
      if (
        mc.metadata.namespace !== 'fleet-local' ||
        !PAUSED_CHARTS.includes(mc.metadata.name ?? '') ||
        field(mc, 'spec', 'paused') !== true
      )
        continue;
      steps.push({
        title: `Resume ManagedChart fleet-local/${mc.metadata.name ?? ''} (spec.paused=false)`,
        risk: 'safe',
        reversible: true,
        action: {
          type: 'json-patch',
          target: ctx.targetOf(mc),
          patch: [
            { op: 'test', path: '/spec/paused', value: true },
            { op: 'replace', path: '/spec/paused', value: false },
          ],
        },
      });
    }
  }
  steps.push(
    manual(
      'Check: no Upgrade outside Succeeded/Failed, no repo VM, no upgrade plans, no paused ManagedChart',
      [
        `kubectl -n harvester-system get upgrades.harvesterhci.io -l 'harvesterhci.io/upgradeState notin (Succeeded,Failed)'`,
        `kubectl -n harvester-system get virtualmachines.kubevirt.io ${shellQuote(`upgrade-repo-${name}`)}`,
        `kubectl -n cattle-system get plans.upgrade.cattle.io -l ${shellQuote(`harvesterhci.io/upgrade=${name}`)}`,
        `kubectl -n fleet-local get managedcharts.management.cattle.io -o custom-columns=NAME:.metadata.name,PAUSED:.spec.paused`,
      ].join('\n'),
    ),
  );
  return {
    summary: `${lowConfidence ? 'Unless this is a deliberate same-version upgrade: s' : 'S'}top the restarted upgrade as documented: delete the stale Upgrade, resume the paused ManagedCharts, then check`,
    steps,
  };
}
