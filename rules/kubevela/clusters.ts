import { conditionsOf, field, type KubeObject } from '../../src/kube/object.ts';
import { decodeCompressedJson, encodeCompressedJson, type Compression } from './compressed-json.ts';
import { parseRedacted } from '../../src/kube/redact.ts';

/** The hub cluster: always registered, backed by no object. */
export const LOCAL_CLUSTER = 'local';
/** KubeVela's default namespace, where addon apps and addon args secrets always live. */
export const VELA_SYSTEM = 'vela-system';
/** The aggregated API served by cluster-gateway; its Service's namespace holds the cluster Secrets. */
export const GATEWAY_APISERVICE = 'v1alpha1.cluster.core.oam.dev';
export const CREDENTIAL_TYPE_LABEL = 'cluster.core.oam.dev/cluster-credential-type';
/** The v1.1.1 label, upgraded by vela-core at start-up: still a registered cluster. */
export const LEGACY_CREDENTIAL_LABEL = 'cluster.core.oam.dev/cluster-credential';
export const ADDON_NAME_LABEL = 'addons.oam.dev/name';
export const ADDON_VERSION_LABEL = 'addons.oam.dev/version';
export const ADDON_APP_PREFIX = 'addon-';
export const ADDON_SECRET_PREFIX = 'addon-secret-';
/** KubeVela attaches this policy to addons without their own template; it appends `local` to the clusters. */
export const LEGACY_ADDON_POLICY = 'deploy-addon-to-specified-clusters';

/** Where the cluster-gateway Secrets live and how that was decided. */
export interface GatewayNamespace {
  namespace: string;
  from: string;
}

/** Resolves the namespace the way vela-core does: the Service behind the APIService, else `vela-system`. */
export function gatewayNamespace(apiServices: KubeObject[] | { unavailable: string }): GatewayNamespace {
  if (!Array.isArray(apiServices)) {
    return { namespace: VELA_SYSTEM, from: `default (apiservices unavailable: ${apiServices.unavailable})` };
  }
  const apiService = apiServices.find((a) => a.metadata.name === GATEWAY_APISERVICE);
  const namespace = field(apiService, 'spec', 'service', 'namespace');
  if (typeof namespace === 'string' && namespace !== '') {
    return { namespace, from: `APIService ${GATEWAY_APISERVICE} spec.service.namespace` };
  }
  return {
    namespace: VELA_SYSTEM,
    from: apiService ? `default (APIService ${GATEWAY_APISERVICE} has no service)` : `default (no APIService ${GATEWAY_APISERVICE})`,
  };
}

/** The registered clusters: `local`, cluster-gateway Secrets (by name; never their data) and OCM ManagedClusters. */
export interface KnownClusters {
  names: Set<string>;
  secrets: string[];
  managedClusters: string[];
}

export function knownClusters(secrets: KubeObject[], namespace: string, managedClusters: KubeObject[]): KnownClusters {
  const secretNames = secrets
    .filter((s) => s.metadata.namespace === namespace)
    .filter((s) => {
      const labels = s.metadata.labels ?? {};
      return Object.hasOwn(labels, CREDENTIAL_TYPE_LABEL) || Object.hasOwn(labels, LEGACY_CREDENTIAL_LABEL);
    })
    .map((s) => s.metadata.name ?? '')
    .filter((n) => n !== '')
    .sort();
  const managed = managedClusters
    .map((m) => m.metadata.name ?? '')
    .filter((n) => n !== '')
    .sort();
  return { names: new Set([LOCAL_CLUSTER, ...secretNames, ...managed]), secrets: secretNames, managedClusters: managed };
}

/** An empty cluster name means the hub. */
export function normaliseCluster(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return LOCAL_CLUSTER;
  return typeof value === 'string' ? value : undefined;
}

/** How an Application names a cluster, and whether the next deploy acts on it. */
export type ReferenceKind = 'topology-policy' | 'env-binding' | 'inline-policy' | 'step-cluster' | 'status';

export interface AppReference {
  cluster: string;
  kind: ReferenceKind;
  /** JSON-pointer-like path in the Application (`spec.policies[2].properties.clusters[1]`). */
  where: string;
  /** For cluster lists: the JSON pointer of the list and its current value (remediation rewrites it). */
  list?: { pointer: string; value: string[]; policy: string };
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * What the KubeVela rule reads of an Application (appReferences, failureMessages): a read declaring these keeps no
 * more of it, not its components (the bulk of a real Application) nor its policies' and steps' other properties.
 * Sub-steps are walked recursively, so they are kept whole (a step group's steps, small).
 */
export const APPLICATION_FIELDS = [
  'spec.policies[].type',
  'spec.policies[].name',
  'spec.policies[].properties.clusters',
  'spec.policies[].properties.envs[].placement.clusterSelector.name',
  'spec.workflow.steps[].name',
  'spec.workflow.steps[].properties.inlinePolicies',
  'spec.workflow.steps[].properties.cluster',
  'spec.workflow.steps[].subSteps',
  'status.appliedResources[].cluster',
  'status.services[].cluster',
  'status.workflow.steps[].name',
  'status.workflow.steps[].reason',
  'status.workflow.steps[].message',
  'status.workflow.steps[].subSteps',
  'status.conditions',
];

/** Every cluster name an Application's spec and status carry. Selectors (`clusterLabelSelector`) name nothing. */
export function appReferences(app: KubeObject): AppReference[] {
  const refs: AppReference[] = [];
  const policies = field(app, 'spec', 'policies');
  if (Array.isArray(policies)) {
    policies.forEach((policy, i) => {
      const type = field(policy, 'type');
      const name = String(field(policy, 'name') ?? `#${i}`);
      if (type === 'topology') {
        const clusters = stringList(field(policy, 'properties', 'clusters'));
        clusters?.forEach((c, j) =>
          refs.push({
            cluster: c,
            kind: 'topology-policy',
            where: `spec.policies[${i}].properties.clusters[${j}]`,
            list: { pointer: `/spec/policies/${i}/properties/clusters`, value: clusters, policy: name },
          }),
        );
      } else if (type === 'env-binding') {
        const envs = field(policy, 'properties', 'envs');
        if (Array.isArray(envs)) {
          envs.forEach((env, k) => {
            const cluster = field(env, 'placement', 'clusterSelector', 'name');
            if (typeof cluster === 'string' && cluster !== '') {
              refs.push({
                cluster,
                kind: 'env-binding',
                where: `spec.policies[${i}].properties.envs[${k}].placement.clusterSelector.name`,
              });
            }
          });
        }
      }
    });
  }
  const walkSteps = (steps: unknown, base: string, pointer: string) => {
    if (!Array.isArray(steps)) return;
    steps.forEach((step, i) => {
      const props = recordOf(field(step, 'properties'));
      const stepName = String(field(step, 'name') ?? `#${i}`);
      if (props) {
        const inline = props.inlinePolicies;
        if (Array.isArray(inline)) {
          inline.forEach((policy, j) => {
            if (field(policy, 'type') !== 'topology') return;
            const clusters = stringList(field(policy, 'properties', 'clusters'));
            clusters?.forEach((c, k) =>
              refs.push({
                cluster: c,
                kind: 'inline-policy',
                where: `${base}[${i}].properties.inlinePolicies[${j}].properties.clusters[${k}]`,
                list: {
                  pointer: `${pointer}/${i}/properties/inlinePolicies/${j}/properties/clusters`,
                  value: clusters,
                  policy: `${stepName}/${String(field(policy, 'name') ?? `#${j}`)}`,
                },
              }),
            );
          });
        }
        if (typeof props.cluster === 'string' && props.cluster !== '') {
          refs.push({ cluster: props.cluster, kind: 'step-cluster', where: `${base}[${i}].properties.cluster` });
        }
      }
      walkSteps(field(step, 'subSteps'), `${base}[${i}].subSteps`, `${pointer}/${i}/subSteps`);
    });
  };
  walkSteps(field(app, 'spec', 'workflow', 'steps'), 'spec.workflow.steps', '/spec/workflow/steps');
  for (const key of ['appliedResources', 'services'] as const) {
    const items = field(app, 'status', key);
    if (!Array.isArray(items)) continue;
    items.forEach((item, i) => {
      const cluster = normaliseCluster(field(item, 'cluster'));
      if (cluster) refs.push({ cluster, kind: 'status', where: `status.${key}[${i}].cluster` });
    });
  }
  return refs;
}

/** True for references the next deploy or `vela addon enable/upgrade` acts on. */
export function isActive(kind: ReferenceKind): boolean {
  return kind !== 'status';
}

/** Workflow steps and conditions whose message says a cluster does not exist. */
export interface FailureMessage {
  where: string;
  reason?: string;
  message: string;
}

export function failureMessages(app: KubeObject, clusters: readonly string[]): FailureMessage[] {
  const patterns = clusters.flatMap((c) => {
    const e = c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return [
      new RegExp(`no such cluster ${e}(?![\\w-])`),
      new RegExp(`failed to get cluster ${e}(?![\\w-])`),
      new RegExp(`cluster ${e} not exist`),
      new RegExp(`virtualclusters\\.cluster\\.core\\.oam\\.dev "${e}" not found`),
    ];
  });
  const matches = (message: unknown): message is string => typeof message === 'string' && patterns.some((p) => p.test(message));
  const found: FailureMessage[] = [];
  const walk = (steps: unknown, base: string) => {
    if (!Array.isArray(steps)) return;
    steps.forEach((step, i) => {
      const message = field(step, 'message');
      if (matches(message)) {
        const reason = field(step, 'reason');
        found.push({
          where: `${base}[${i}] ${String(field(step, 'name') ?? '')}`.trim(),
          ...(typeof reason === 'string' ? { reason } : {}),
          message,
        });
      }
      walk(field(step, 'subSteps'), `${base}[${i}].subSteps`);
    });
  };
  walk(field(app, 'status', 'workflow', 'steps'), 'status.workflow.steps');
  for (const condition of conditionsOf(app)) {
    if (matches(condition.message)) {
      found.push({
        where: `status.conditions[type=${condition.type}]`,
        ...(condition.reason ? { reason: condition.reason } : {}),
        message: condition.message,
      });
    }
  }
  return found;
}

/** The addon an Application installs, when it is an addon app (`vela-system/addon-<name>`). */
export function addonNameOf(app: KubeObject): string | undefined {
  if (app.metadata.namespace !== VELA_SYSTEM) return undefined;
  const label = app.metadata.labels?.[ADDON_NAME_LABEL];
  if (label) return label;
  const name = app.metadata.name ?? '';
  return name.startsWith(ADDON_APP_PREFIX) ? name.slice(ADDON_APP_PREFIX.length) : undefined;
}

/** One ResourceTracker entry (`ClusterObjectReference` + OAM reference + raw manifest). */
export type TrackerEntry = Record<string, unknown>;

export type { Compression };

/**
 * A tracker's entries, or why they cannot be read. `redacted`: read in a kubectl doctor dump, whose compressed data is
 * a marker: the entries are the ones the dump decoded into spec.managedResources (each `raw` redacted); if the dump
 * could not decode them, they cannot be read.
 */
export type TrackerEntries =
  { ok: true; entries: TrackerEntry[]; compression?: Compression; redacted?: true } | { ok: false; compression: string; reason: string };

function managedResources(rt: KubeObject): TrackerEntry[] | undefined {
  const entries = field(rt, 'spec', 'managedResources');
  return Array.isArray(entries) ? entries.filter((e): e is TrackerEntry => recordOf(e) !== undefined) : undefined;
}

/**
 * What the KubeVela rule reads of a ResourceTracker (trackerEntries, describeEntry, entryHoldsSecret, the evidence's
 * spec.type and the prune patch, which tests each entry's cluster): of each uncompressed entry its reference and the
 * not its raw manifest (the bulk of a tracker); compressed data whole, as it is decoded and re-encoded. Only decoded
 * entries' raw kind is read (entryHoldsSecret): entries kept in spec.managedResources are pruned by a patch that
 * copies no raw manifest, or by hand when a dump redacted the compressed data they came from.
 */
export const RESOURCE_TRACKER_FIELDS = [
  'spec.type',
  'spec.compression',
  'spec.managedResources[].cluster',
  'spec.managedResources[].deleted',
  'spec.managedResources[].apiVersion',
  'spec.managedResources[].kind',
  'spec.managedResources[].namespace',
  'spec.managedResources[].name',
];

/** A tracker's managed resources, decompressed when `spec.compression` holds them (GzipResourceTracker / ZstdResourceTracker). */
export function trackerEntries(rt: KubeObject): TrackerEntries {
  const type = field(rt, 'spec', 'compression', 'type');
  if (typeof type !== 'string' || type === '') return { ok: true, entries: managedResources(rt) ?? [] };
  const data = field(rt, 'spec', 'compression', 'data');
  // A dump writes a compressed tracker's entries decoded (./dump-redactions.ts) and its data as a marker.
  const redacted = parseRedacted(data);
  if (redacted) {
    const entries = managedResources(rt);
    if (entries && (type === 'gzip' || type === 'zstd')) return { ok: true, entries, compression: type, redacted: true };
    return {
      ok: false,
      compression: type,
      reason: `spec.compression.data is unknown (redacted in the dump, ${redacted.length} bytes, not decodable when it was taken)`,
    };
  }
  if (type !== 'gzip' && type !== 'zstd') return { ok: false, compression: type, reason: `unknown compression type "${type}"` };
  if (typeof data !== 'string') return { ok: false, compression: type, reason: 'spec.compression.data is missing' };
  try {
    const parsed = decodeCompressedJson(data, type);
    if (!Array.isArray(parsed)) return { ok: false, compression: type, reason: 'decompressed data is not a list' };
    return { ok: true, entries: parsed.filter((e): e is TrackerEntry => recordOf(e) !== undefined), compression: type };
  } catch (err) {
    return { ok: false, compression: type, reason: `cannot decode ${type} data: ${(err as Error).message}` };
  }
}

/** Encodes entries as vela-core stores them: base64(compress(JSON list)), with the same algorithm. */
export function compressEntries(entries: TrackerEntry[], compression: Compression): string {
  return encodeCompressedJson(entries, compression);
}

/** `apps/v1/Deployment/ns/name` for evidence. */
export function describeEntry(entry: TrackerEntry): string {
  return [entry.apiVersion, entry.kind, entry.namespace, entry.name].filter((p) => typeof p === 'string' && p !== '').join('/');
}

/** An entry that carries Secret content: its raw manifest must never be copied into a plan. */
export function entryHoldsSecret(entry: TrackerEntry): boolean {
  return entry.kind === 'Secret' || field(entry, 'raw', 'kind') === 'Secret';
}

/** The data key `RenderArgsSecret` stores the addon's arguments under, as base64 JSON. */
export const ADDON_ARGS_KEY = 'addonParameterDataKey';

/**
 * What the doctor takes from an addon args Secret: the `clusters` argument and whether it is the only argument.
 * The other arguments' values are never kept (they may be credentials); only their number is.
 */
export type AddonArgs =
  | { ok: true; secret: KubeObject; clusters: string[] | undefined; otherArgs: number; data: string }
  | { ok: false; secret: KubeObject; reason: string; redacted?: true };

/** Decodes `data.addonParameterDataKey` of `vela-system/addon-secret-<addon>`. */
export function addonArgsOf(secret: KubeObject): AddonArgs {
  const data = field(secret, 'data', ADDON_ARGS_KEY);
  if (typeof data !== 'string') return { ok: false, secret, reason: `no data.${ADDON_ARGS_KEY}` };
  // A kubectl doctor dump keeps the key but not the value: which clusters the args name is unknown, not absent.
  const redacted = parseRedacted(data);
  if (redacted)
    return {
      ok: false,
      secret,
      reason: `data.${ADDON_ARGS_KEY} is unknown (redacted in the dump, ${redacted.length} bytes)`,
      redacted: true,
    };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return { ok: false, secret, reason: `data.${ADDON_ARGS_KEY} is not base64 JSON` };
  }
  const args = recordOf(parsed);
  if (!args) return { ok: false, secret, reason: `data.${ADDON_ARGS_KEY} is not a JSON object` };
  const clusters = args.clusters === undefined || args.clusters === null ? undefined : stringList(args.clusters);
  if (args.clusters !== undefined && args.clusters !== null && clusters === undefined) {
    return { ok: false, secret, reason: 'the clusters argument is not a list of names' };
  }
  return { ok: true, secret, clusters, otherArgs: Object.keys(args).filter((k) => k !== 'clusters').length, data };
}

/** The args Secret's new data without `remove`; only for args that hold nothing but `clusters`. */
export function addonArgsWithout(clusters: string[], remove: ReadonlySet<string>): string {
  return Buffer.from(JSON.stringify({ clusters: clusters.filter((c) => !remove.has(c)) }), 'utf8').toString('base64');
}
