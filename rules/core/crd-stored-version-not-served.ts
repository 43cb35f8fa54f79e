import { defineRule, type ListedType, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { resourceName } from '../../src/cluster/resources.ts';
import { field, type KubeObject } from '../../src/kube/object.ts';
import { manual, statusPatch, type Step } from '../../src/plan/builder.ts';
import { shellQuote } from '../../src/plan/command.ts';

/**
 * apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go ValidateCustomResourceDefinitionStoredVersions,
 * run on every create and update of a CRD (not on its /status subresource). Kubernetes <= 1.32 says "must appear in
 * spec.versions"; 1.33+ (kubernetes/kubernetes b1830bd, "Improve validation for missing storedVersion") says
 * `missing from spec.versions; <v> was previously a storage version, and must remain in spec.versions until a
 * storage migration ensures no data remains persisted in <v> and removes <v> from status.storedVersions`.
 */
const REFUSED_BEFORE_1_33 = 'must appear in spec.versions';
const refusedSince133 = (v: string) =>
  `missing from spec.versions; ${v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in ${v} and removes ${v} from status.storedVersions`;

const reasons = {
  'not-served':
    'status.storedVersions still lists {{versions}}, no longer served (storage version {{storage}}; {{objects}}), so the upgrade that removes {{versions}} from spec.versions is refused: {{refusal}}',
  'missing-from-spec':
    'status.storedVersions lists {{versions}}, which spec.versions does not contain, so every update of the CRD is refused ({{refusal}}); {{objects}}',
};

const reads = {
  crds: { resource: 'customresourcedefinitions.apiextensions.k8s.io' },
  /** Shared with the deletion rules: one metadata-only list per type, from which each CRD's objects are counted. */
  all: { resource: '*', metadataOnly: true, subset: {} },
} as const;

type Ctx = RuleContext<typeof reads, typeof reasons>;

interface Version {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated: boolean;
}

/** A version in status.storedVersions other than the storage version, and why it blocks. */
interface StaleVersion {
  version: string;
  /** Its index in status.storedVersions: the `[n]` of the API server's error. */
  index: number;
  state: 'not-served' | 'missing-from-spec';
}

/** How many objects of the CRD exist, or why that is unknown. */
type ObjectCount = { count: number } | { unknown: string };

export default defineRule({
  meta: {
    id: 'core/crd-stored-version-not-served',
    summary: 'A CRD still records a stored version it no longer serves: its next upgrade fails',
    severity: 'error',
    ecosystem: 'core',
    fixable: 'destructive',
    reads,
    reasons,
    explain: {
      detects:
        'A CustomResourceDefinition whose status.storedVersions lists a version, other than the storage version, that ' +
        'spec.versions no longer serves (served: false), or that spec.versions does not contain at all. The first is ' +
        "the state a product leaves one release before it removes an API version (Cluster API's v1alpha3/v1alpha4, " +
        "cert-manager 1.6's v1alpha2..v1beta1): the release that removes it fails to apply its CRDs. The second is " +
        'reachable only through a write to the /status subresource, and then every update of the CRD fails. Old ' +
        'versions that are still served are not reported, deprecated or not: that is the normal state between a ' +
        'storage version change and a migration, and nothing proves that a removal is coming. A scan limited with -n ' +
        'reports no CRD (they are cluster-scoped).',
      why:
        'kube-apiserver stores each custom object in the storage version of the moment it is written and never ' +
        'rewrites it by itself; status.storedVersions records every version objects may still be stored in. The API ' +
        'server appends to it when the storage version changes and never removes from it: only a client that has ' +
        'migrated the objects may (apiextensions-apiserver registry/customresourcedefinition/strategy.go ' +
        'PrepareForUpdate). Every create and update of a CRD is validated with ' +
        'ValidateCustomResourceDefinitionStoredVersions: each stored version must appear in spec.versions, else ' +
        `"status.storedVersions[n]: Invalid value: \\"v1alpha3\\": ${REFUSED_BEFORE_1_33}" (Kubernetes 1.33+: "${refusedSince133('v1alpha3')}"). ` +
        'So kubectl apply, helm upgrade, Argo CD or clusterctl of a CRD manifest that drops the version fails, ' +
        'and the product upgrade with it. clusterctl upgrade (cmd/clusterctl/client/cluster/crd_migration.go) and ' +
        "cert-manager's cmctl upgrade migrate-api-version do the migration first; an upgrade by any other means " +
        '(Helm charts, GitOps, kubectl apply, operators) does not. The /status subresource does not run that ' +
        'validation, which is how a version missing from spec.versions can get into storedVersions at all.',
      evidence:
        'The CRDs themselves (spec.versions with served, storage and deprecated; status.storedVersions; the ' +
        'conversion strategy) and the count of its objects from the metadata-only list of every type that the ' +
        'deletion rules share (no extra request, no object data). The API does not show which version each object is ' +
        'stored in (only etcd knows), so the count is how many objects a migration rewrites, not how many are stale.',
      remediation: [
        'Migrate the stored objects (by hand): rewrite every object unchanged through the API, so kube-apiserver ' +
          'stores it in the storage version: `kubectl get <plural>.<storage version>.<group> -A -o json | kubectl ' +
          'replace -f -` (objects that changed meanwhile answer Conflict: they were just rewritten anyway), or the ' +
          'Storage Version Migrator (kube-storage-version-migrator, or the StorageVersionMigration API where the ' +
          "StorageVersionMigrator feature gate is on), or the product's own tool (clusterctl upgrade, cmctl upgrade " +
          'migrate-api-version). A conversion webhook must be running for it.',
        'Then set status.storedVersions to the storage version alone, through the /status subresource with a JSON ' +
          'patch that tests the current list (destructive, backed up: if an object was still stored in a removed ' +
          'version, removing that version from spec.versions later makes it unreadable). --fix asks whether the ' +
          'migration was done first; when the scan saw no object of the CRD at all, there is nothing to migrate and ' +
          'it does not ask.',
        'The product upgrade then applies its CRDs.',
      ],
      references: [
        'https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#upgrade-existing-objects-to-a-new-stored-version',
        'https://github.com/kubernetes/apiextensions-apiserver/blob/master/pkg/apis/apiextensions/validation/validation.go',
        'https://github.com/kubernetes/apiextensions-apiserver/blob/master/pkg/registry/customresourcedefinition/strategy.go',
        'https://github.com/kubernetes-sigs/cluster-api/blob/main/cmd/clusterctl/client/cluster/crd_migration.go',
        'https://github.com/kubernetes-sigs/cluster-api/issues/6691',
        'https://github.com/cert-manager/cmctl/blob/main/pkg/upgrade/migrateapiversion/migrator.go',
        'https://cert-manager.io/docs/releases/upgrading/remove-deprecated-apis/',
        'https://github.com/kubernetes-sigs/gateway-api/issues/3509',
        'https://github.com/kubernetes-sigs/kube-storage-version-migrator',
      ],
    },
  },

  check(ctx) {
    // CRDs are cluster-scoped: a scan limited with -n is about that namespace's objects, as the deletion rules read it.
    if (ctx.namespace !== undefined) return [];
    const every = ctx.everyType('all');
    const findings: Finding[] = [];
    for (const crd of ctx.list('crds')) {
      const versions = versionsOf(crd);
      const storage = versions.find((v) => v.storage);
      const stored = storedVersionsOf(crd);
      if (!storage || crd.metadata.deletionTimestamp) continue;
      const stale = classify(stored, versions, storage.name);
      if (stale.length > 0) findings.push(report(ctx, crd, versions, storage.name, stored, stale, countObjects(crd, every)));
    }
    return findings;
  },
});

function versionsOf(crd: KubeObject): Version[] {
  const raw = field(crd, 'spec', 'versions');
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && typeof v.name === 'string')
    .map((v) => ({ name: v.name as string, served: v.served === true, storage: v.storage === true, deprecated: v.deprecated === true }));
}

function storedVersionsOf(crd: KubeObject): string[] {
  const raw = field(crd, 'status', 'storedVersions');
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
}

/** The stored versions that block: not served any more, or gone from spec.versions. Served old versions do not. */
function classify(stored: readonly string[], versions: readonly Version[], storage: string): StaleVersion[] {
  const stale: StaleVersion[] = [];
  for (const [index, version] of stored.entries()) {
    if (version === storage) continue;
    const spec = versions.find((v) => v.name === version);
    if (!spec) stale.push({ version, index, state: 'missing-from-spec' });
    else if (!spec.served) stale.push({ version, index, state: 'not-served' });
  }
  return stale;
}

function countObjects(crd: KubeObject, every: { listed: ListedType[]; gaps: { resource: string; reason: string }[] }): ObjectCount {
  const group = field(crd, 'spec', 'group');
  const plural = field(crd, 'spec', 'names', 'plural');
  if (typeof group !== 'string' || typeof plural !== 'string') return { unknown: 'the CRD names no group or plural' };
  const name = resourceName({ group, resource: plural });
  // A list that is partial (a dump that does not cover the kind, a page that failed) counts nothing.
  const gap = every.gaps.find((g) => g.resource === name || g.resource.startsWith(`${group}/`));
  if (gap) return { unknown: gap.reason };
  const listed = every.listed.find((l) => l.type.group === group && l.type.resource === plural);
  return listed ? { count: listed.count } : { unknown: `${name} could not be listed (no served version in discovery)` };
}

function report(
  ctx: Ctx,
  crd: KubeObject,
  versions: Version[],
  storage: string,
  stored: string[],
  stale: StaleVersion[],
  objects: ObjectCount,
): Finding {
  const name = crd.metadata.name ?? '';
  const group = String(field(crd, 'spec', 'group') ?? '');
  const plural = String(field(crd, 'spec', 'names', 'plural') ?? '');
  const kind = String(field(crd, 'spec', 'names', 'kind') ?? plural);
  const missing = stale.filter((s) => s.state === 'missing-from-spec');
  const reason: keyof typeof reasons = missing.length > 0 ? 'missing-from-spec' : 'not-served';
  const shown = reason === 'missing-from-spec' ? missing : stale;
  const first = shown[0]!;
  const list = shown.map((s) => s.version).join(', ');
  const refusal = `status.storedVersions[${first.index}]: Invalid value: "${first.version}": ${REFUSED_BEFORE_1_33}`;
  const count = 'count' in objects ? `${objects.count} ${kind} object${objects.count === 1 ? '' : 's'}` : 'object count unknown';

  const evidence: Record<string, unknown> = {
    crd: name,
    group,
    kind,
    storageVersion: storage,
    storedVersions: stored,
    staleVersions: stale.map((s) => ({ version: s.version, index: s.index, state: s.state })),
    versions: versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage, ...(v.deprecated ? { deprecated: true } : {}) })),
    conversion: String(field(crd, 'spec', 'conversion', 'strategy') ?? 'None'),
    objects: 'count' in objects ? objects.count : `unknown: ${objects.unknown}`,
    refusedWith: {
      'kubernetes<=1.32': refusal,
      'kubernetes>=1.33': `status.storedVersions[${first.index}]: Invalid value: "${first.version}": ${refusedSince133(first.version)}`,
    },
  };
  const steps: Step[] = [];
  const migrated = `status.storedVersions: ${JSON.stringify(stored)} -> ${JSON.stringify([storage])}`;
  if (!('count' in objects) || objects.count > 0) {
    const resource = `${plural}.${storage}.${group}`;
    steps.push(
      manual(
        `Migrate every ${kind} to the storage version ${storage}: rewrite each object unchanged through the API, so kube-apiserver stores it as ${storage} (${'count' in objects ? `${objects.count} object${objects.count === 1 ? '' : 's'}` : 'the object count is unknown'}; Conflict answers are objects rewritten meanwhile; the API cannot show the version an object is stored in, so confirm it was done)`,
        `kubectl get ${shellQuote(resource)} -A -o json | kubectl replace -f -`,
      ),
    );
  }
  const title =
    'count' in objects && objects.count === 0
      ? `No ${kind} object exists, so nothing is stored in ${list}: set status.storedVersions of CRD ${name} to the storage version ${storage} alone (${migrated})`
      : `After the migration, set status.storedVersions of CRD ${name} to the storage version ${storage} alone (${migrated}); a version still holding objects would make them unreadable once it leaves spec.versions`;
  steps.push(
    statusPatch(
      title,
      ctx.targetOf(crd),
      [
        { op: 'test', path: '/status/storedVersions', value: stored },
        { op: 'replace', path: '/status/storedVersions', value: [storage] },
      ],
      { risk: 'destructive', reversible: true },
    ),
  );
  return ctx.finding(crd, {
    reason,
    data: { versions: list, storage, objects: count, refusal },
    severity: reason === 'missing-from-spec' ? 'error' : 'warning',
    evidence,
    remediation: {
      summary:
        reason === 'missing-from-spec'
          ? `Migrate the ${kind} objects to ${storage}, then drop ${list} from status.storedVersions: updates of the CRD are accepted again`
          : `Migrate the ${kind} objects to ${storage}, then drop ${list} from status.storedVersions: the upgrade that removes ${list} then applies`,
      steps,
    },
  });
}
