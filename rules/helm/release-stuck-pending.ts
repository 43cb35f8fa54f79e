import { defineRule, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { deleteObject, manual, type Step } from '../../src/plan/builder.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { pushTo } from '../../src/util/collections.ts';
import { ageEvidence, humanDuration, MINUTE_MS, parseTime, thresholdMs } from '../lib/age.ts';
import { WRANGLER_APPLIED } from '../lib/wrangler.ts';
import { BUNDLE_DEPLOYMENTS } from '../fleet/dump-redactions.ts';
import { HELM_CHARTS, HELM_RELEASES } from './dump-redactions.ts';

/**
 * Three times Helm's default --timeout (5m0s), which also bounds the waits of klipper-helm jobs and Flux's
 * helm-controller by default: an operation still pending after that is no longer waiting on anything.
 */
const PENDING_MS = 15 * MINUTE_MS;
const PENDING = ['pending-install', 'pending-upgrade', 'pending-rollback'];
/** pkg/storage/storage.go makeKey: `sh.helm.release.v1.<release>.v<revision>`. */
const KEY_PREFIX = 'sh.helm.release.v1.';
const IN_PROGRESS = 'another operation (install/upgrade/rollback) is in progress';

const reasons = {
  'pending-over-deployed':
    'Helm release {{release}}: revision {{revision}} has been {{status}}{{age}}, so every helm upgrade of it fails with "{{error}}"; last deployed revision {{deployed}}{{owners}}',
  'never-deployed':
    'Helm release {{release}}: revision {{revision}} has been {{status}}{{age}}, so every helm upgrade of it fails with "{{error}}"; no deployed revision{{owners}}',
};

/** What ownersOf() reads of each owner besides its metadata: a scan keeps no more (not their values nor charts). */
const HELM_CHART_FIELDS = ['spec.targetNamespace'];
const HELM_RELEASE_FIELDS = ['spec.targetNamespace', 'spec.releaseName', 'spec.storageNamespace'];
const BUNDLE_DEPLOYMENT_FIELDS = ['spec.options.helm.releaseName'];

const reads = {
  /** Metadata only: the labels say everything; the release bodies (values, manifests) are never read. */
  secrets: { resource: 'secrets', metadataOnly: true, labelSelector: 'owner=helm' },
  /** HELM_DRIVER=configmap stores the same records with the same labels. */
  configMaps: { resource: 'configmaps', metadataOnly: true, labelSelector: 'owner=helm', optional: true },
  helmCharts: { resource: 'helmcharts.helm.cattle.io', optional: true, allNamespaces: true, fields: HELM_CHART_FIELDS },
  helmReleases: { resource: 'helmreleases.helm.toolkit.fluxcd.io', optional: true, allNamespaces: true, fields: HELM_RELEASE_FIELDS },
  bundleDeployments: {
    resource: 'bundledeployments.fleet.cattle.io',
    optional: true,
    allNamespaces: true,
    fields: BUNDLE_DEPLOYMENT_FIELDS,
  },
} as const;

type Ctx = RuleContext<typeof reads, typeof reasons>;

/** One revision record of a release, from its labels. */
interface Revision {
  obj: KubeObject;
  release: string;
  namespace: string;
  version: number;
  status: string;
  driver: 'secret' | 'configmap';
}

interface Owner {
  kind: 'HelmChart' | 'HelmRelease' | 'BundleDeployment';
  name: string;
  namespace: string;
  matchedBy: string;
}

export default defineRule({
  meta: {
    id: 'helm/release-stuck-pending',
    summary: 'A Helm release stuck pending-install/upgrade/rollback: every upgrade fails',
    severity: 'error',
    ecosystem: 'helm',
    fixable: 'destructive',
    thresholds: {
      pending: { ms: PENDING_MS, minAge: true, describe: 'a pending revision younger than this may still be running: not reported' },
    },
    reads,
    dumpRedactions: [WRANGLER_APPLIED, HELM_CHARTS, HELM_RELEASES, BUNDLE_DEPLOYMENTS],
    reasons,
    explain: {
      detects:
        'A Helm v3 release whose latest revision record (highest `version` label) has status pending-install, ' +
        "pending-upgrade or pending-rollback and was created more than 15 minutes ago (three times Helm's default " +
        '--timeout of 5m; --min-age overrides). The records are the Secrets (default driver) and ConfigMaps ' +
        '(HELM_DRIVER=configmap) labelled owner=helm, named sh.helm.release.v1.<release>.v<revision>; an object ' +
        'whose name does not match its name and version labels is not a Helm record and is ignored.',
      why:
        'Helm writes the new revision with a pending status before it touches any resource and sets it to deployed or ' +
        'failed at the end (pkg/action). A Helm process that is killed in between (a CI job cancelled, a controller pod ' +
        'restarted, a timeout of the caller, an API server hiccup) leaves the pending record forever. `helm upgrade` ' +
        'reads the latest revision and refuses with "' +
        IN_PROGRESS +
        '" when it is pending (pkg/action/upgrade.go ' +
        'prepareUpgrade: `if lastRelease.Info.Status.IsPending() { return errPending }`, meant as a pessimistic lock). ' +
        '`helm rollback` does not check it (pkg/action/rollback.go), which is why rolling back is the usual way out. ' +
        'Controllers that run Helm (k3s/rancher helm-controller for HelmCharts, Flux helm-controller, the Fleet agent) ' +
        'hit the same lock, so Harvester add-ons, Fleet bundles and KubeVela/Flux add-ons stay stuck.',
      evidence:
        'Secrets and ConfigMaps labelled owner=helm, metadata only (labels name, status, version; creationTimestamp ' +
        'as the start of the pending operation): release, namespace, pending revision, status, age, every pending ' +
        'record newer than the last deployed revision, the last deployed revision. The owner when it can be told: a ' +
        'HelmChart (helm.cattle.io) named like the release with that target namespace, a Flux HelmRelease whose ' +
        'release name and storage namespace match, a Fleet BundleDeployment with that spec.options.helm.releaseName ' +
        '(matched by release name only: the release may live on a downstream cluster). Helm writes no label naming ' +
        'the controller that ran it, so the owner is a match by name, not a proof.',
      remediation: [
        "Make sure no Helm operation is still running on the release (the owner's Job or controller, a CI job, a person).",
        'Where a deployed revision exists: `helm rollback <release> <last deployed revision> -n <namespace>` (by hand), ' +
          'or delete the pending revision records newer than it (destructive, backed up: `kubectl doctor restore` ' +
          "recreates them); Helm's latest revision is then a settled one, and the owner's next upgrade goes through " +
          "(resources the interrupted upgrade created carry the release's annotations, so Helm adopts them).",
        'A pending-install with no deployed revision: `helm uninstall <release> -n <namespace>` (by hand), then install again.',
      ],
      references: [
        'https://github.com/helm/helm/issues/7476',
        'https://github.com/helm/helm/issues/11863',
        'https://github.com/helm/helm/issues/4558',
        'https://github.com/fluxcd/helm-controller/issues/149',
        'https://github.com/helm/helm/blob/main/pkg/action/upgrade.go',
        'https://github.com/helm/helm/blob/main/pkg/action/rollback.go',
        'https://github.com/helm/helm/blob/main/pkg/storage/driver/secrets.go',
        'https://github.com/helm/helm/blob/main/pkg/release/common/status.go',
      ],
    },
  },

  check(ctx) {
    const configMaps = ctx.optional('configMaps');
    const records = [
      ...ctx.list('secrets').map((o) => revisionOf(o, 'secret')),
      ...(Array.isArray(configMaps) ? configMaps.map((o) => revisionOf(o, 'configmap')) : []),
    ].filter((r): r is Revision => r !== undefined);
    const releases = new Map<string, Revision[]>();
    for (const r of records) {
      const key = `${r.driver}|${r.namespace}|${r.release}`;
      pushTo(releases, key, r);
    }
    const threshold = thresholdMs(ctx.minAgeMs, PENDING_MS);
    const findings: Finding[] = [];
    for (const revisions of releases.values()) {
      revisions.sort((a, b) => b.version - a.version);
      const latest = revisions[0]!;
      if (!PENDING.includes(latest.status)) continue;
      const created = parseTime(latest.obj.metadata.creationTimestamp);
      const ageMs = created === undefined ? undefined : ctx.now.getTime() - created;
      if (ageMs !== undefined && ageMs < threshold) continue;
      findings.push(report(ctx, revisions, ageMs, threshold));
    }
    return findings;
  },
});

function revisionOf(obj: KubeObject, driver: Revision['driver']): Revision | undefined {
  const labels = obj.metadata.labels ?? {};
  const { name: release, status, version } = labels;
  if (!release || !status || !version || !/^[1-9][0-9]{0,8}$/.test(version)) return undefined;
  if (obj.metadata.name !== `${KEY_PREFIX}${release}.v${version}` || obj.metadata.deletionTimestamp) return undefined;
  return { obj, release, namespace: obj.metadata.namespace ?? '', version: Number(version), status, driver };
}

function report(ctx: Ctx, revisions: Revision[], ageMs: number | undefined, threshold: number): Finding {
  const latest = revisions[0]!;
  const { release, namespace } = latest;
  const deployed = revisions.find((r) => r.status === 'deployed');
  const blocking = revisions.filter((r) => PENDING.includes(r.status) && (!deployed || r.version > deployed.version));
  const { owners, unknown } = ownersOf(ctx, release, namespace);
  const label = keyOf({ namespace, name: release });

  const evidence: Record<string, unknown> = {
    release,
    namespace,
    storage: latest.driver === 'secret' ? 'Secret' : 'ConfigMap (HELM_DRIVER=configmap)',
    pendingRevision: latest.version,
    status: latest.status,
    ...(ageMs !== undefined ? { age: ageEvidence(ageMs) } : { age: 'unknown (no creationTimestamp)' }),
    threshold: ageEvidence(threshold),
    lastDeployedRevision: deployed ? deployed.version : 'none',
    pendingRecords: blocking.map((r) => ({ name: r.obj.metadata.name, revision: r.version, status: r.status })),
    revisions: revisions.map((r) => ({ revision: r.version, status: r.status })),
    owners: owners.length > 0 ? owners : 'none found',
    ...(unknown.length > 0 ? { ownerReadsUnavailable: unknown } : {}),
  };
  const data = {
    release: label,
    revision: latest.version,
    status: latest.status,
    age: ageMs !== undefined ? ` for ${humanDuration(ageMs)}` : '',
    error: IN_PROGRESS,
    deployed: deployed?.version ?? 'none',
    owners:
      owners.length > 0 ? `; owner: ${owners.map((o) => `${o.kind} ${keyOf({ namespace: o.namespace, name: o.name })}`).join(', ')}` : '',
  };

  const helm = `${latest.driver === 'configmap' ? 'HELM_DRIVER=configmap ' : ''}helm`;
  const ns = shellQuote(namespace);
  const steps: Step[] = [idleCheck(latest, owners, ageMs, helm)];
  let leftTo: string | undefined;
  if (deployed) {
    steps.push(
      manual(
        `Or roll back with Helm to the last deployed revision ${deployed.version} instead of deleting the pending record (helm rollback does not check the pending lock; it re-applies revision ${deployed.version} and records revision ${latest.version + 1})`,
        `${helm} rollback ${shellQuote(release)} ${deployed.version} -n ${ns}`,
        { role: 'alternative' },
      ),
    );
    for (const r of blocking) {
      const step = deleteObject(
        `Delete the pending revision record ${r.obj.kind} ${keyOf({ namespace, name: r.obj.metadata.name ?? '' })} (revision ${r.version}, ${r.status}), so Helm's latest revision is a settled one again; kubectl doctor restore recreates it from the backup`,
        ctx.targetOf(r.obj),
        { risk: 'destructive', reversible: true },
      );
      if (step) steps.push(step);
    }
    leftTo =
      owners.length > 0 ? owners.map(retryOf).join('; ') : `whoever runs Helm for release ${label}: run the interrupted helm upgrade again`;
  } else {
    steps.push(
      manual(
        `No revision of release ${label} was ever deployed: uninstall it with Helm (removes the resources the interrupted ${latest.status.replace('pending-', '')} created and its records), then install again${owners.length > 0 ? ' (the owner reinstalls it on its next reconcile)' : ''}`,
        `${helm} uninstall ${shellQuote(release)} -n ${ns}`,
      ),
    );
  }
  return ctx.finding(latest.obj, {
    reason: deployed ? 'pending-over-deployed' : 'never-deployed',
    data,
    severity: 'error',
    evidence,
    remediation: {
      summary: deployed
        ? `Once no Helm operation runs on it, remove the pending record(s) above revision ${deployed.version} (or helm rollback) so the release can be upgraded again`
        : 'Once no Helm operation runs on it, helm uninstall the never-deployed release and install it again',
      steps,
      ...(leftTo ? { leftTo } : {}),
    },
  });
}

function idleCheck(latest: Revision, owners: Owner[], ageMs: number | undefined, helm: string): Step {
  const since = ageMs !== undefined ? ` (the ${latest.status} began ${humanDuration(ageMs)} ago)` : '';
  const chart = owners.find((o) => o.kind === 'HelmChart');
  const flux = owners.find((o) => o.kind === 'HelmRelease');
  const fleet = owners.find((o) => o.kind === 'BundleDeployment');
  const release = keyOf({ namespace: latest.namespace, name: latest.release });
  if (chart) {
    return manual(
      `Make sure no Helm operation is running on release ${release}${since}: the helm-controller Job helm-install-${chart.name} of HelmChart ${keyOf({ namespace: chart.namespace, name: chart.name })} has no running pod`,
      `kubectl get pods -n ${shellQuote(chart.namespace)} -l job-name=${shellQuote(`helm-install-${chart.name}`)}  # none Running`,
    );
  }
  if (flux) {
    return manual(
      `Make sure no Helm operation is running on release ${release}${since}: Flux's helm-controller is not working on HelmRelease ${keyOf({ namespace: flux.namespace, name: flux.name })} (its Ready condition is not Unknown/Progressing)`,
      `kubectl get helmreleases.helm.toolkit.fluxcd.io ${shellQuote(flux.name)} -n ${shellQuote(flux.namespace)}  # READY is not Unknown`,
    );
  }
  if (fleet) {
    return manual(
      `Make sure no Helm operation is running on release ${release}${since}: the fleet-agent is not deploying BundleDeployment ${keyOf({ namespace: fleet.namespace, name: fleet.name })}`,
      `kubectl get bundledeployments.fleet.cattle.io ${shellQuote(fleet.name)} -n ${shellQuote(fleet.namespace)}  # and the fleet-agent logs`,
    );
  }
  return manual(
    `Make sure no Helm operation is running on release ${release}${since}: no CI job, person or controller is running helm install/upgrade/rollback on it`,
    `${helm} history ${shellQuote(latest.release)} -n ${shellQuote(latest.namespace)}  # then check the pipelines and controllers that deploy it`,
  );
}

function retryOf(owner: Owner): string {
  const name = keyOf({ namespace: owner.namespace, name: owner.name });
  switch (owner.kind) {
    case 'HelmChart':
      return `the helm-controller: its next helm-install Job for HelmChart ${name} runs the upgrade again`;
    case 'HelmRelease':
      return `Flux's helm-controller: the next reconcile of HelmRelease ${name} (spec.interval, or flux reconcile helmrelease) upgrades again`;
    case 'BundleDeployment':
      return `the fleet-agent: its next reconcile of BundleDeployment ${name} deploys the release again`;
  }
}

function ownersOf(ctx: Ctx, release: string, namespace: string): { owners: Owner[]; unknown: string[] } {
  const owners: Owner[] = [];
  const unknown: string[] = [];
  const each = (key: 'helmCharts' | 'helmReleases' | 'bundleDeployments', match: (o: KubeObject) => Owner | undefined) => {
    const objs = ctx.optional(key);
    if (!Array.isArray(objs)) {
      unknown.push(objs.unavailable.includes(reads[key].resource) ? objs.unavailable : `${reads[key].resource}: ${objs.unavailable}`);
      return;
    }
    for (const o of objs) {
      const owner = match(o);
      if (owner) owners.push(owner);
    }
  };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  each('helmCharts', (o) => {
    // helm-controller installs HelmChart <name> as release <name> into spec.targetNamespace (default: its own).
    const target = str(field(o, 'spec', 'targetNamespace')) ?? o.metadata.namespace;
    return o.metadata.name === release && target === namespace
      ? { kind: 'HelmChart', name: release, namespace: o.metadata.namespace ?? '', matchedBy: 'release name and spec.targetNamespace' }
      : undefined;
  });
  each('helmReleases', (o) => {
    // Flux: spec.releaseName, else [<targetNamespace>-]<name>; stored in spec.storageNamespace, else its own namespace.
    const target = str(field(o, 'spec', 'targetNamespace'));
    const name = str(field(o, 'spec', 'releaseName')) ?? (target ? `${target}-${o.metadata.name}` : o.metadata.name);
    const storage = str(field(o, 'spec', 'storageNamespace')) ?? o.metadata.namespace;
    return name === release && storage === namespace
      ? {
          kind: 'HelmRelease',
          name: o.metadata.name ?? '',
          namespace: o.metadata.namespace ?? '',
          matchedBy: 'release name and storage namespace',
        }
      : undefined;
  });
  each('bundleDeployments', (o) =>
    str(field(o, 'spec', 'options', 'helm', 'releaseName')) === release
      ? {
          kind: 'BundleDeployment',
          name: o.metadata.name ?? '',
          namespace: o.metadata.namespace ?? '',
          matchedBy: 'spec.options.helm.releaseName only',
        }
      : undefined,
  );
  return { owners, unknown };
}
