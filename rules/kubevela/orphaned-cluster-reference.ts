import { defineRule, type FindingDetails, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { keyOf, type KubeObject } from '../../src/kube/object.ts';
import type { JsonPatchOp } from '../../src/plan/actions.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { pushTo } from '../../src/util/collections.ts';
import { ageEvidence, heldBackReason, humanDuration, parseTime, thresholdMs } from '../lib/age.ts';
import { CONTROLLER_IMAGE_FIELDS, controllerVersion, versionBelow, type ImageVersion } from '../lib/version.ts';
import {
  ADDON_SECRET_PREFIX,
  ADDON_VERSION_LABEL,
  CREDENTIAL_TYPE_LABEL,
  LEGACY_ADDON_POLICY,
  LEGACY_CREDENTIAL_LABEL,
  LOCAL_CLUSTER,
  VELA_SYSTEM,
  ADDON_ARGS_KEY,
  APPLICATION_FIELDS,
  RESOURCE_TRACKER_FIELDS,
  addonArgsOf,
  addonArgsWithout,
  addonNameOf,
  appReferences,
  compressEntries,
  type AddonArgs,
  describeEntry,
  entryHoldsSecret,
  failureMessages,
  gatewayNamespace,
  isActive,
  knownClusters,
  normaliseCluster,
  trackerEntries,
  type AppReference,
  type TrackerEntry,
} from './clusters.ts';
import { VELA_APPLIED, APPLICATIONS, RESOURCE_TRACKERS } from './dump-redactions.ts';

/** A reference may be a re-join or rename in flight: objects younger than this are left alone. */
const DEFAULT_MIN_AGE_MS = 5 * 60_000;
/** `vela cluster detach` prunes ResourceTrackers from this version on (kubevela/kubevela#6728). */
const FIXED_IN = '1.10.3';
const APP_NAME_LABEL = 'app.oam.dev/name';
const APP_NAMESPACE_LABEL = 'app.oam.dev/namespace';

type Step = NonNullable<FindingDetails['remediation']>['steps'][number];

const REFERENCES = 'Application {{app}} references unregistered {{clusters}} in {{places}}';
const reasons = {
  /** The addon's args Secret names the cluster: `vela addon enable` renders it into the topology policy again. */
  'addon-args': `${REFERENCES} (its next deploy or addon enable fails)`,
  /** A policy or workflow step places workloads on the cluster. */
  'active-reference': `${REFERENCES} (its next deploy or addon enable fails)`,
  /** Only status and ResourceTracker entries remain. */
  'stale-reference': `${REFERENCES} (stale bookkeeping)`,
  'orphaned-tracker': 'ResourceTracker {{tracker}} tracks resources on unregistered {{clusters}}',
};

const reads = {
  applications: { resource: 'applications.core.oam.dev', fields: APPLICATION_FIELDS },
  /** Metadata only: a cluster Secret's name is the cluster name; its data are credentials and are never read. */
  secrets: { resource: 'secrets', metadataOnly: true, allNamespaces: true },
  apiServices: { resource: 'apiservices.apiregistration.k8s.io', optional: true },
  // Only their names are read (knownClusters).
  managedClusters: { resource: 'managedclusters.cluster.open-cluster-management.io', metadataOnly: true, optional: true },
  resourceTrackers: { resource: 'resourcetrackers.core.oam.dev', optional: true, fields: RESOURCE_TRACKER_FIELDS },
  velaCore: {
    resource: 'deployments.apps',
    labelSelector: 'app.kubernetes.io/name=vela-core',
    optional: true,
    allNamespaces: true,
    fields: CONTROLLER_IMAGE_FIELDS,
  },
  /**
   * Addon args (`vela-system/addon-secret-<addon>`) carry no label, so the Secrets of that one namespace are read
   * with their data, minus the cluster credentials and Helm release Secrets, which the selector excludes. Only the
   * `clusters` argument is ever used; other arguments' values never reach a finding.
   */
  addonArgs: {
    resource: 'secrets',
    namespace: VELA_SYSTEM,
    optional: true,
    labelSelector: `!${CREDENTIAL_TYPE_LABEL},!${LEGACY_CREDENTIAL_LABEL},owner!=helm`,
  },
} as const;

/** A tracker's entries for unregistered clusters. */
interface TrackerHit {
  rt: KubeObject;
  clusters: Map<string, string[]>;
  compression?: string;
  /** Compressed, read from a dump: the entries are known, the data they are stored as is not. */
  redacted?: true;
}

export default defineRule({
  meta: {
    id: 'kubevela/orphaned-cluster-reference',
    summary: 'KubeVela apps, addon args or ResourceTrackers still name a detached cluster',
    severity: 'error',
    ecosystem: 'kubevela',
    fixable: 'safe',
    thresholds: {
      created: {
        ms: DEFAULT_MIN_AGE_MS,
        minAge: true,
        describe: 'an Application or ResourceTracker naming an unregistered cluster created less long ago is held back',
      },
    },
    reads,
    dumpRedactions: [VELA_APPLIED, APPLICATIONS, RESOURCE_TRACKERS],
    reasons,
    explain: {
      detects:
        "A KubeVela Application whose topology policies (also inline policies in workflow steps, a step's `cluster` " +
        'property, legacy env-binding placements), status (`appliedResources`, `services`) or ResourceTrackers ' +
        '(`spec.managedResources`, also when gzip/zstd-compressed in `spec.compression`) name a cluster that is no ' +
        'longer registered. Registered clusters are `local`, the Secrets labelled ' +
        '`cluster.core.oam.dev/cluster-credential-type` in the namespace of the Service behind APIService ' +
        '`v1alpha1.cluster.core.oam.dev` (default `vela-system`), and OCM ManagedClusters.',
      why:
        '`vela cluster detach` (and deleting a cluster Secret by hand, `vela cluster rename`, or GitOps) removes the ' +
        'registration but leaves every reference behind: up to v1.10.2 it touches nothing else; from v1.10.3 it prunes ' +
        'ResourceTracker entries only. A topology policy naming the gone cluster fails the next deploy (`failed to get ' +
        'cluster <c>`); addon args in `vela-system/addon-secret-<addon>` are merged back on `vela addon upgrade`; stale ' +
        'status makes `vela addon enable --clusters` (≤ v1.10.2) try to uninstall from the gone cluster (kubevela#6727).',
      evidence:
        'Every place each unregistered cluster appears (field paths, ResourceTracker names and entry counts, whether ' +
        'the tracker was compressed), the registered clusters and how the gateway namespace was resolved, matching ' +
        'workflow-step and condition messages (`no such cluster`, `failed to get cluster`, `cluster <c> not exist`), ' +
        'the addon and the `clusters` argument of its args Secret `vela-system/addon-secret-<addon>` (Secret data is ' +
        'read in `vela-system` only, cluster credentials and Helm releases excluded by label selector; no other argument ' +
        'value is reported; cluster Secrets elsewhere are read metadata-only; in a kubectl doctor dump the values are ' +
        'redacted, so the args are reported unknown and the rule is partial rather than concluding), ' +
        "the vela-core version from its image, and the age of the object. A dump writes a compressed tracker's " +
        'entries decoded and its data redacted: they are read as live, and the prune step is then manual. A tracker ' +
        'whose entries cannot be decoded (bad data, an unknown compression type, or a dump that could not) is ' +
        'unknown (partial). Severity error when the spec names the cluster (the next ' +
        'deploy or addon enable fails), warning when only status or ResourceTrackers do.',
      remediation: [
        'Addon apps: `vela addon enable <addon> --clusters <remaining>` (the maintainer-intended path) rewrites the ' +
          'addon args Secret and the topology policy.',
        "Remove the cluster from the topology policy's `clusters` (JSON patch with resourceVersion and value " +
          'preconditions). Refused when the list would become empty: an absent list means `local` for apps and all ' +
          'clusters for template addons.',
        'Rewrite `addon-secret-<addon>` without the cluster: a JSON patch with resourceVersion and value preconditions ' +
          'when `clusters` is its only argument; otherwise kubectl get | jq | kubectl replace, so the resourceVersion ' +
          'guards the write and no other argument value is copied into the plan. Refused when no cluster would be left.',
        'Prune the ResourceTracker entries for the cluster (what `vela cluster detach` does since v1.10.3), ' +
          're-compressing when the tracker is compressed. Never delete ResourceTrackers.',
        'Stale status only: `vela workflow restart <app>`.',
        'Upgrade vela-core and the vela CLI to v1.10.3 or later so future detaches prune ResourceTrackers.',
      ],
      references: [
        'https://github.com/kubevela/kubevela/issues/6727',
        'https://github.com/kubevela/kubevela/pull/6728',
        'https://github.com/kubevela/kubevela/issues/2986',
        'https://github.com/kubevela/kubevela/issues/4688',
        'https://github.com/kubevela/kubevela/issues/6765',
        'https://kubevela.io/docs/platform-engineers/system-operation/managing-clusters',
      ],
    },
  },

  check(ctx) {
    const managed = ctx.optional('managedClusters');
    if (!Array.isArray(managed) && !managed.unavailable.startsWith('api not served')) {
      ctx.skip(
        `cannot list managedclusters.cluster.open-cluster-management.io (${managed.unavailable}): clusters registered through OCM would be reported as orphaned`,
      );
    }
    const gateway = gatewayNamespace(ctx.optional('apiServices'));
    const known = knownClusters(ctx.list('secrets'), gateway.namespace, Array.isArray(managed) ? managed : []);
    const registry = {
      knownClusters: [...known.names].sort(),
      gatewayNamespace: gateway.namespace,
      gatewayNamespaceFrom: gateway.from,
      clusterSecrets: known.secrets,
      managedClusters: Array.isArray(managed) ? known.managedClusters : 'not served',
    };
    const secretKeys = new Map(
      ctx.list('secrets').map((s) => [keyOf({ namespace: s.metadata.namespace, name: s.metadata.name ?? '' }), s]),
    );
    const deployments = ctx.optional('velaCore');
    const version = Array.isArray(deployments) ? controllerVersion(deployments, /(^|\/)vela-core[:@]/) : undefined;
    const velaCore = !Array.isArray(deployments)
      ? `unavailable: ${deployments.unavailable}`
      : (version ?? 'not found (no Deployment labelled app.kubernetes.io/name=vela-core with a versioned vela-core image)');
    const minAge = thresholdMs(ctx.minAgeMs, DEFAULT_MIN_AGE_MS);

    // ResourceTracker entries, grouped by the Application they belong to.
    const trackers = ctx.optional('resourceTrackers');
    const hitsByApp = new Map<string, TrackerHit[]>();
    const undecodable = new Map<string, { tracker: string; compression: string; reason: string }[]>();
    if (Array.isArray(trackers)) {
      for (const rt of trackers) {
        const labels = rt.metadata.labels ?? {};
        const appNs = labels[APP_NAMESPACE_LABEL];
        if (ctx.namespace !== undefined && appNs !== ctx.namespace) continue;
        const appKey = labels[APP_NAME_LABEL] ? keyOf({ namespace: appNs, name: labels[APP_NAME_LABEL] }) : `rt:${rt.metadata.name ?? ''}`;
        const decoded = trackerEntries(rt);
        if (!decoded.ok) {
          // Entries that cannot be read (data vela-core could not decode either, or a dump could not) may name an
          // unregistered cluster: unknown, never a pass.
          ctx.unknown(`ResourceTracker ${rt.metadata.name ?? ''}: ${decoded.reason}`);
          const list = undecodable.get(appKey) ?? [];
          list.push({ tracker: rt.metadata.name ?? '', compression: decoded.compression, reason: decoded.reason });
          undecodable.set(appKey, list);
          continue;
        }
        const clusters = new Map<string, string[]>();
        for (const entry of decoded.entries) {
          if (entry.deleted === true) continue;
          const cluster = normaliseCluster(entry.cluster);
          if (cluster === undefined || known.names.has(cluster)) continue;
          pushTo(clusters, cluster, describeEntry(entry));
        }
        if (clusters.size === 0) continue;
        const list = hitsByApp.get(appKey) ?? [];
        list.push({
          rt,
          clusters,
          ...(decoded.compression ? { compression: decoded.compression } : {}),
          ...(decoded.redacted ? { redacted: true as const } : {}),
        });
        hitsByApp.set(appKey, list);
      }
    }

    // Addon args Secrets, by addon name.
    const argsRead = ctx.optional('addonArgs');
    const addonArgs = new Map<string, AddonArgs>();
    if (Array.isArray(argsRead)) {
      for (const secret of argsRead) {
        const name = secret.metadata.name ?? '';
        if (secret.metadata.namespace === VELA_SYSTEM && name.startsWith(ADDON_SECRET_PREFIX)) {
          addonArgs.set(name.slice(ADDON_SECRET_PREFIX.length), addonArgsOf(secret));
        }
      }
    }

    const findings: Finding[] = [];
    const shared: Shared = {
      registry,
      velaCore,
      trackers,
      undecodable,
      secretKeys,
      version,
      minAge,
      addonArgs: Array.isArray(argsRead) ? addonArgs : { unavailable: argsRead.unavailable },
    };
    for (const app of ctx.list('applications')) {
      const key = keyOf({ namespace: app.metadata.namespace, name: app.metadata.name ?? '' });
      const hits = hitsByApp.get(key) ?? [];
      hitsByApp.delete(key);
      const refs = appReferences(app).filter((r) => !known.names.has(r.cluster));
      const args = argsOf(app, shared);
      // Redacted args may name an unregistered cluster: what the rule cannot see is unknown, never a pass.
      if (args && !args.ok && args.redacted) ctx.unknown(`${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addonNameOf(app) ?? ''}: ${args.reason}`);
      const argsOrphans = args?.ok && args.clusters ? args.clusters.filter((c) => !known.names.has(c)) : [];
      if (refs.length === 0 && hits.length === 0 && argsOrphans.length === 0) continue;
      const finding = appFinding(ctx, app, refs, hits, shared, args, argsOrphans);
      if (finding) findings.push(finding);
    }
    // Trackers whose Application is gone (or unlabelled) are reported on themselves.
    for (const hits of hitsByApp.values()) {
      for (const hit of hits) {
        const finding = trackerOnlyFinding(ctx, hit, shared);
        if (finding) findings.push(finding);
      }
    }
    return findings;
  },
});

interface Shared {
  registry: Record<string, unknown>;
  velaCore: ImageVersion | string;
  trackers: KubeObject[] | { unavailable: string };
  undecodable: Map<string, { tracker: string; compression: string; reason: string }[]>;
  secretKeys: Map<string, KubeObject>;
  version: ImageVersion | undefined;
  minAge: number;
  /** Decoded addon args Secrets by addon name, or why `vela-system` Secrets could not be read. */
  addonArgs: Map<string, AddonArgs> | { unavailable: string };
}

/** The decoded args Secret of an addon app, when it was read. */
function argsOf(app: KubeObject, shared: Shared): AddonArgs | undefined {
  const addon = addonNameOf(app);
  return addon && shared.addonArgs instanceof Map ? shared.addonArgs.get(addon) : undefined;
}

/** Whether `obj` is old enough to report; a younger one is recorded as held back. */
function oldEnough(
  obj: KubeObject,
  ctx: RuleContext<typeof reads, typeof reasons>,
  minAge: number,
): { ok: boolean; age?: ReturnType<typeof ageEvidence> } {
  const created = parseTime(obj.metadata.creationTimestamp);
  if (created === undefined) return { ok: true };
  const ms = ctx.now.getTime() - created;
  if (ms < minAge) ctx.heldBack(obj, heldBackReason(`names an unregistered cluster, created ${humanDuration(ms)} ago`, minAge));
  return { ok: ms >= minAge, age: ageEvidence(ms) };
}

function placeOf(ref: AppReference): string {
  switch (ref.kind) {
    case 'topology-policy':
      return `topology policy ${ref.list!.policy}`;
    case 'inline-policy':
      return `inline topology policy ${ref.list!.policy}`;
    case 'env-binding':
      return 'env-binding policy';
    case 'step-cluster':
      return 'workflow step';
    case 'status':
      return 'status';
  }
}

function summarisePlaces(places: string[]): string {
  const unique = [...new Set(places)];
  return unique.length <= 3 ? joinAnd(unique) : `${unique.slice(0, 3).join(', ')} and ${unique.length - 3} more`;
}

function joinAnd(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`;
}

function clusterWord(clusters: string[]): string {
  return `${clusters.length === 1 ? 'cluster' : 'clusters'} ${clusters.join(', ')}`;
}

function trackerEvidence(hits: TrackerHit[]): Record<string, unknown>[] {
  return hits.flatMap((hit) =>
    [...hit.clusters].map(([cluster, entries]) => ({
      cluster,
      where: `ResourceTracker ${hit.rt.metadata.name ?? ''} spec.${hit.compression ? 'compression.data' : 'managedResources'}[].cluster`,
      tracker: hit.rt.metadata.name ?? '',
      trackerType: (hit.rt.spec as Record<string, unknown> | undefined)?.type,
      compression: hit.compression ?? 'none',
      entries: entries.length,
      resources: entries.slice(0, 10),
    })),
  );
}

function appFinding(
  ctx: RuleContext<typeof reads, typeof reasons>,
  app: KubeObject,
  refs: AppReference[],
  hits: TrackerHit[],
  shared: Shared,
  args: AddonArgs | undefined,
  argsOrphans: string[],
): Finding | undefined {
  const age = oldEnough(app, ctx, shared.minAge);
  if (!age.ok) return undefined;
  const orphans = [...new Set([...refs.map((r) => r.cluster), ...argsOrphans, ...hits.flatMap((h) => [...h.clusters.keys()])])].sort();
  const active = refs.filter((r) => isActive(r.kind));
  const addon = addonNameOf(app);
  const key = keyOf({ namespace: app.metadata.namespace, name: app.metadata.name ?? '' });
  const argsSecret = addon ? shared.secretKeys.get(`${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addon}`) : undefined;
  const addonPolicyOrphaned = addon !== undefined && active.some((r) => r.kind === 'topology-policy');

  const places = [...refs.map(placeOf), ...hits.map((h) => `ResourceTracker ${h.rt.metadata.name ?? ''}`)];
  if (args?.ok ? argsOrphans.length > 0 : addonPolicyOrphaned && argsSecret)
    places.splice(refs.some((r) => r.kind === 'topology-policy') ? 1 : 0, 0, 'addon args');
  const argsWhere = `Secret ${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addon ?? ''} data.${ADDON_ARGS_KEY} clusters`;
  const evidence: Record<string, unknown> = {
    orphanedClusters: orphans,
    references: [
      ...refs
        .filter((r) => r.kind !== 'status')
        .map((r) => ({
          cluster: r.cluster,
          kind: r.kind,
          where: r.where,
          ...(r.list ? { policy: r.list.policy, clusters: r.list.value } : {}),
        })),
      ...(args?.ok ? argsOrphans.map((cluster) => ({ cluster, kind: 'addon-args', where: argsWhere, clusters: args.clusters })) : []),
      ...statusEvidence(refs),
      ...trackerEvidence(hits),
    ],
    ...shared.registry,
  };
  if (addon) {
    const unread = !(shared.addonArgs instanceof Map)
      ? `cannot read Secrets in ${VELA_SYSTEM} (${shared.addonArgs.unavailable})`
      : args && !args.ok
        ? args.reason
        : undefined;
    evidence.addon = {
      name: addon,
      argsSecret: `${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addon}`,
      argsSecretExists: argsSecret !== undefined || args !== undefined,
      argsRead: args?.ok === true,
      ...(args?.ok
        ? { argsClusters: args.clusters ?? 'not set', otherArgs: args.otherArgs }
        : {
            note: `${unread ? `${unread}; ` : ''}${
              argsSecret && addonPolicyOrphaned
                ? "the addon's topology policy is rendered from the args parameter `clusters`, so the args presumably name the same cluster"
                : "args not implicated: the addon's topology policy names no unregistered cluster"
            }`,
          }),
    };
  }
  const messages = failureMessages(app, orphans);
  evidence.failureMessages = messages;
  if (!Array.isArray(shared.trackers)) evidence.resourceTrackers = `unavailable: ${shared.trackers.unavailable}`;
  const undecodable = shared.undecodable.get(key);
  if (undecodable) evidence.undecodableTrackers = undecodable;
  evidence.velaCore = shared.velaCore;
  if (age.age) evidence.age = age.age;

  const activeAny = active.length > 0 || argsOrphans.length > 0;
  const severity = activeAny ? 'error' : 'warning';
  return ctx.finding(app, {
    reason: argsOrphans.length > 0 ? 'addon-args' : activeAny ? 'active-reference' : 'stale-reference',
    data: { app: key, clusters: clusterWord(orphans), places: summarisePlaces(places) },
    severity,
    evidence,
    remediation: {
      summary: activeAny
        ? `Remove ${clusterWord(orphans)} from the Application's cluster lists${addon ? ` and the ${addon} addon args` : ''}, then prune its ResourceTracker entries`
        : `Prune the ResourceTracker entries and stale status for ${clusterWord(orphans)}`,
      steps: [
        ...appSteps(ctx, app, refs, orphans, addon, argsSecret, args, argsOrphans),
        ...hits.map((hit) => pruneStep(ctx, hit, new Set(orphans))),
        ...(!activeAny && refs.some((r) => r.kind === 'status') ? [restartStep(app)] : []),
        ...upgradeSteps(shared.version),
      ],
      // The controller, not us, rewrites status: until vela-core reconciles (or the app is redeployed) the
      // Application's status still names the cluster and the finding stays, as stale bookkeeping.
      leftTo:
        'vela-core to reconcile the Application: its status names the detached cluster until then (vela up, or any change to the Application, makes it do so now)',
    },
  });
}

function statusEvidence(refs: AppReference[]): Record<string, unknown>[] {
  const counts = new Map<string, { cluster: string; where: string; count: number }>();
  for (const ref of refs.filter((r) => r.kind === 'status')) {
    const where = ref.where.replace(/\[\d+\]\.cluster$/, '[].cluster');
    const k = `${ref.cluster}\u0000${where}`;
    const entry = counts.get(k) ?? { cluster: ref.cluster, where, count: 0 };
    entry.count++;
    counts.set(k, entry);
  }
  return [...counts.values()].map((c) => ({ ...c, kind: 'status' }));
}

function appSteps(
  ctx: RuleContext<typeof reads, typeof reasons>,
  app: KubeObject,
  refs: AppReference[],
  orphans: string[],
  addon: string | undefined,
  argsSecret: KubeObject | undefined,
  args: AddonArgs | undefined,
  argsOrphans: string[],
): Step[] {
  const orphanSet = new Set(orphans);
  const steps: Step[] = [];
  const ns = app.metadata.namespace ?? '';
  const name = app.metadata.name ?? '';
  const lists = new Map<string, NonNullable<AppReference['list']>>();
  for (const ref of refs) if (ref.list) lists.set(ref.list.pointer, ref.list);
  const rewritable = [...lists.values()].map((l) => ({ ...l, rest: l.value.filter((c) => !orphanSet.has(c)) }));
  const kept = rewritable.filter((l) => l.rest.length > 0);
  const refused = rewritable.filter((l) => l.rest.length === 0);

  // Addon apps: the vela CLI rewrites the args Secret and the policy together.
  const addonLists = rewritable.filter((l) => refs.some((r) => r.kind === 'topology-policy' && r.list?.pointer === l.pointer));
  const argsRest = args?.ok && args.clusters ? args.clusters.filter((c) => !orphanSet.has(c)) : undefined;
  if (addon && (addonLists.length > 0 || argsOrphans.length > 0)) {
    const rest =
      addonLists.length > 0
        ? [...new Set(addonLists.flatMap((l) => l.rest.filter((c) => !(l.policy === LEGACY_ADDON_POLICY && c === LOCAL_CLUSTER))))]
        : (argsRest ?? []);
    const version = app.metadata.labels?.[ADDON_VERSION_LABEL];
    if (rest.length > 0 || addonLists.some((l) => l.policy === LEGACY_ADDON_POLICY && l.rest.length > 0)) {
      const clusters = rest.length > 0 ? rest : [LOCAL_CLUSTER];
      const command = ['vela', 'addon', 'enable', addon, ...(version ? ['--version', version] : []), '--clusters', clusters.join(',')]
        .map(shellQuote)
        .join(' ');
      steps.push({
        title: `Re-enable addon ${addon} on the registered clusters ${clusters.join(', ')} (rewrites ${ADDON_SECRET_PREFIX}${addon} and the topology policy; a vela CLI up to v1.10.2 asks to confirm uninstalling from ${orphans.join(', ')})`,
        risk: 'safe',
        reversible: true,
        // The vela CLI does what the patches below do, in one go: either is enough.
        action: { type: 'manual', instructions: command, role: 'alternative' },
        command,
      });
    }
  }

  if (kept.length > 0) {
    const patch: JsonPatchOp[] = [];
    for (const list of kept) {
      patch.push({ op: 'test', path: list.pointer, value: list.value }, { op: 'replace', path: list.pointer, value: list.rest });
    }
    steps.push({
      title: `Remove ${clusterWord(orphans)} from ${joinAnd(kept.map((l) => `policy ${l.policy} (leaves ${l.rest.join(', ')})`))}`,
      risk: 'safe',
      reversible: true,
      action: { type: 'json-patch', target: ctx.targetOf(app), patch },
    });
  }
  for (const list of refused) {
    steps.push({
      title: `Refused: removing ${clusterWord(list.value)} would leave policy ${list.policy} with no clusters, which changes its meaning`,
      risk: 'safe',
      reversible: true,
      action: {
        type: 'manual',
        role: 'aside',
        instructions: `Decide where ${keyOf({ namespace: ns, name })} should run, then set ${list.pointer} to the registered clusters (an absent list means local for apps and all clusters for template addons; ${addon ? `vela addon enable ${shellQuote(addon)} --clusters <clusters> or vela addon disable ${shellQuote(addon)}` : `kubectl edit application ${shellQuote(name)} -n ${shellQuote(ns)}`})`,
      },
      command: addon
        ? `vela addon enable ${shellQuote(addon)} --clusters <registered clusters>`
        : `kubectl edit application ${shellQuote(name)} -n ${shellQuote(ns)}`,
    });
  }
  for (const ref of refs.filter((r) => r.kind === 'step-cluster' || r.kind === 'env-binding')) {
    steps.push({
      title: `Point ${ref.where} (${ref.cluster}) at a registered cluster or remove that step`,
      risk: 'safe',
      reversible: true,
      action: {
        type: 'manual',
        role: 'aside',
        instructions: `kubectl edit application ${shellQuote(name)} -n ${shellQuote(ns)}  # ${ref.where}: ${shellQuote(ref.cluster)} is not registered`,
      },
    });
  }

  // The args Secret. Read and holding nothing but `clusters`: a JSON patch whose values are cluster names only.
  // Otherwise (other arguments, which may be credentials, or not readable): rewritten in place by kubectl + jq, so
  // no argument value is copied into the plan.
  const argsLeaveNone = argsRest !== undefined && argsOrphans.length > 0 && argsRest.length === 0;
  if (addon && args?.ok && args.clusters && argsOrphans.length > 0 && argsRest!.length > 0 && args.otherArgs === 0) {
    const secret = args.secret;
    steps.push({
      title: `Remove ${clusterWord(argsOrphans)} from the addon args Secret ${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addon} (leaves clusters ${argsRest!.join(', ')}; its only argument is clusters)`,
      risk: 'safe',
      reversible: true,
      action: {
        type: 'json-patch',
        target: ctx.targetOf(secret),
        patch: [
          { op: 'test', path: `/data/${ADDON_ARGS_KEY}`, value: args.data },
          { op: 'replace', path: `/data/${ADDON_ARGS_KEY}`, value: addonArgsWithout(args.clusters, orphanSet) },
        ],
      },
    });
  } else if (addon && argsLeaveNone && !refused.length) {
    steps.push({
      title: `Refused: removing ${clusterWord(argsOrphans)} would leave the ${addon} addon args with no clusters, which changes their meaning`,
      risk: 'safe',
      reversible: true,
      action: {
        type: 'manual',
        role: 'aside',
        instructions: `vela addon enable ${shellQuote(addon)} --clusters <registered clusters>  # or vela addon disable ${shellQuote(addon)}`,
      },
      command: `vela addon enable ${shellQuote(addon)} --clusters <registered clusters>`,
    });
  } else if (
    addon &&
    (args?.ok
      ? argsOrphans.length > 0 && !argsLeaveNone
      : argsSecret && addonLists.length > 0 && addonLists.every((l) => l.rest.length > 0))
  ) {
    const remove = JSON.stringify(args?.ok ? argsOrphans : orphans);
    const command = `kubectl get secret ${shellQuote(`${ADDON_SECRET_PREFIX}${addon}`)} -n ${VELA_SYSTEM} -o json | jq ${shellQuote(`.data.addonParameterDataKey |= (@base64d | fromjson | .clusters -= ${remove} | tojson | @base64)`)} | kubectl replace -f -`;
    steps.push({
      title: `Rewrite the addon args Secret ${VELA_SYSTEM}/${ADDON_SECRET_PREFIX}${addon} without ${(args?.ok ? argsOrphans : orphans).join(', ')} (kubectl replace keeps the resourceVersion read by get as precondition; only needed without the vela CLI)`,
      risk: 'safe',
      reversible: true,
      action: { type: 'manual', role: 'aside', instructions: command },
      command,
    });
  }
  return steps;
}

function pruneStep(ctx: RuleContext<typeof reads, typeof reasons>, hit: TrackerHit, orphans: Set<string>): Step {
  const rt = hit.rt;
  const name = rt.metadata.name ?? '';
  const decoded = trackerEntries(rt);
  const entries: TrackerEntry[] = decoded.ok ? decoded.entries : [];
  const isOrphan = (e: TrackerEntry) => orphans.has(normaliseCluster(e.cluster) ?? '');
  const removed = entries.filter(isOrphan);
  const clusters = [...hit.clusters.keys()];
  const title = `Prune the ${removed.length} ResourceTracker ${name} ${removed.length === 1 ? 'entry' : 'entries'} for ${clusterWord(clusters)}`;
  if (!hit.compression) {
    const patch: JsonPatchOp[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      if (!isOrphan(entries[i]!)) continue;
      patch.push(
        { op: 'test', path: `/spec/managedResources/${i}/cluster`, value: entries[i]!.cluster },
        { op: 'remove', path: `/spec/managedResources/${i}` },
      );
    }
    return { title, risk: 'safe', reversible: true, action: { type: 'json-patch', target: ctx.targetOf(rt), patch } };
  }
  const compression = hit.compression as 'gzip' | 'zstd';
  // A dump holds the entries but not the data they are stored as (redacted): a patch would test a value never seen.
  if (hit.redacted || entries.some(entryHoldsSecret)) {
    const command = `vela cluster detach ${clusters.map(shellQuote).join(' ')}`;
    const why = hit.redacted
      ? 'its data is redacted in the dump, so the plan cannot rewrite it'
      : 'it tracks Secrets, so the rewritten data is not put in the plan';
    return {
      title: `${title} (compressed with ${compression}; ${why})`,
      risk: 'safe',
      reversible: true,
      action: {
        type: 'manual',
        instructions: `With a vela CLI v1.10.3 or later, \`${command}\` removes every ResourceTracker entry for the cluster before failing on the missing registration (derived from the source, untested); otherwise decode spec.compression.data (base64, ${compression}), drop the entries for ${clusters.join(', ')}, re-encode and kubectl replace ${shellQuote(name)}`,
      },
      command,
    };
  }
  const data = (rt.spec as { compression: { data: string } }).compression.data;
  const patch: JsonPatchOp[] = [
    { op: 'test', path: '/spec/compression/data', value: data },
    {
      op: 'replace',
      path: '/spec/compression/data',
      value: compressEntries(
        entries.filter((e) => !isOrphan(e)),
        compression,
      ),
    },
  ];
  return {
    title: `${title} (re-compressed with ${compression})`,
    risk: 'safe',
    reversible: true,
    action: { type: 'json-patch', target: ctx.targetOf(rt), patch },
  };
}

function restartStep(app: KubeObject): Step {
  const command = `vela workflow restart ${shellQuote(app.metadata.name ?? '')} -n ${shellQuote(app.metadata.namespace ?? '')}`;
  return {
    title: 'Restart the workflow so status.appliedResources and status.services are rebuilt',
    risk: 'safe',
    reversible: false,
    action: { type: 'manual', role: 'aside', instructions: command },
    command,
  };
}

function upgradeSteps(version: ImageVersion | undefined): Step[] {
  if (version && !versionBelow(version.version, FIXED_IN)) return [];
  const now = version ? `vela-core ${version.version}` : 'vela-core (version unknown)';
  return [
    {
      title: `Upgrade ${now} and the vela CLI to v${FIXED_IN} or later, where vela cluster detach prunes ResourceTracker entries`,
      risk: 'disruptive',
      reversible: false,
      action: {
        type: 'manual',
        role: 'aside',
        instructions: `helm upgrade <release> kubevela/vela-core -n <vela namespace> --reuse-values --version <${FIXED_IN} or later>  # then install the matching vela CLI`,
      },
    },
  ];
}

function trackerOnlyFinding(ctx: RuleContext<typeof reads, typeof reasons>, hit: TrackerHit, shared: Shared): Finding | undefined {
  const age = oldEnough(hit.rt, ctx, shared.minAge);
  if (!age.ok) return undefined;
  const clusters = [...hit.clusters.keys()].sort();
  const labels = hit.rt.metadata.labels ?? {};
  const app = labels[APP_NAME_LABEL] ? keyOf({ namespace: labels[APP_NAMESPACE_LABEL], name: labels[APP_NAME_LABEL] }) : undefined;
  const evidence: Record<string, unknown> = {
    orphanedClusters: clusters,
    references: trackerEvidence([hit]),
    application: app ? `${app} (not found)` : 'none (no app.oam.dev/name label)',
    ...shared.registry,
    velaCore: shared.velaCore,
  };
  if (age.age) evidence.age = age.age;
  return ctx.finding(hit.rt, {
    reason: 'orphaned-tracker',
    data: { tracker: hit.rt.metadata.name ?? '', clusters: clusterWord(clusters) },
    severity: 'warning',
    evidence,
    remediation: {
      summary: `Prune the entries for ${clusterWord(clusters)}`,
      steps: [pruneStep(ctx, hit, new Set(clusters)), ...upgradeSteps(shared.version)],
    },
  });
}
