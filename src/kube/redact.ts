// What `kubectl doctor dump` writes instead of credentials, so a dump can be handed to someone else. Two passes, one
// function (redactForDump): Secret values, wherever a Secret manifest is (redactSecrets), and the fields of other
// types that can carry credentials (DUMP_REDACTIONS below, with where each fact comes from). A value becomes a marker
// that keeps what a check can use without the value itself: that it is there, its length, a prefix of its SHA-256.
// A rule that reads a redacted field decides what the marker allows (present or absent, two values equal or not:
// sameText) and says ctx.unknown() for the rest; it never reads a marker as the value.
import { createHash } from 'node:crypto';
import { decodeCompressedJson, isCompression } from './compressed-json.ts';
import type { KubeObject } from './object.ts';

/**
 * A redacted value: `(redacted) 12 bytes, sha256:9f86d081884c7d65`. The hash is of the value's bytes (data decoded
 * from base64), so it can be compared with `printf %s "$value" | sha256sum | cut -c1-16`. `(`, `)` and spaces are
 * not base64, so no value the API server returns in `data` can look like one.
 */
const MARKER = /^\(redacted\) (\d+) bytes?, sha256:([0-9a-f]{16})$/;
/** 16 hex digits (64 bits): enough to compare two values, short enough not to pass for the value's digest. */
const HASH_PREFIX = 16;
/** kubectl apply's copy of the object as last applied: a Secret's holds its values. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface RedactedValue {
  length: number;
  sha256: string;
}

export function redactedMarker(bytes: Buffer): string {
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, HASH_PREFIX);
  return `(redacted) ${bytes.length} ${bytes.length === 1 ? 'byte' : 'bytes'}, sha256:${hash}`;
}

/** The length and hash prefix of a redacted value; undefined for anything else (a real value). */
export function parseRedacted(value: unknown): RedactedValue | undefined {
  if (typeof value !== 'string') return undefined;
  const match = MARKER.exec(value);
  return match ? { length: Number(match[1]), sha256: match[2]! } : undefined;
}

export function isSecret(obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  return obj.apiVersion === 'v1' && obj.kind === 'Secret';
}

/**
 * A copy of a Secret with every value of `data` (base64) and `stringData` (text) replaced by its marker, keys kept,
 * and the last-applied-configuration annotation (which repeats the values) replaced by the marker of its text.
 * Anything that is not a Secret is returned as it is.
 */
export function redactSecret(obj: KubeObject): KubeObject {
  if (!isSecret(obj)) return obj;
  const copy: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  for (const [field, decode] of [
    ['data', (v: string) => Buffer.from(v, 'base64')],
    ['stringData', (v: string) => Buffer.from(v, 'utf8')],
  ] as const) {
    const values = obj[field];
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      if (values !== undefined) delete copy[field];
      continue;
    }
    copy[field] = Object.fromEntries(
      Object.entries(values as Record<string, unknown>).map(([key, value]) => [
        key,
        // Already a marker (a dump of a dump): kept, so it still compares with the value it stands for.
        parseRedacted(value)
          ? value
          : redactedMarker(typeof value === 'string' ? decode(value) : Buffer.from(JSON.stringify(value) ?? '', 'utf8')),
      ]),
    );
  }
  const annotations = obj.metadata.annotations;
  if (
    annotations &&
    typeof annotations === 'object' &&
    typeof annotations[LAST_APPLIED] === 'string' &&
    !parseRedacted(annotations[LAST_APPLIED])
  ) {
    copy.metadata.annotations = { ...annotations, [LAST_APPLIED]: redactedMarker(Buffer.from(annotations[LAST_APPLIED], 'utf8')) };
  }
  return copy;
}

/**
 * `obj` with every Secret manifest in it redacted: itself, and Secrets embedded in other objects (a KubeVela
 * ResourceTracker entry's `raw`, a List's items). Unchanged parts are shared, not copied.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 64 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => redactSecrets(v, depth + 1));
    return (items.some((v, i) => v !== value[i]) ? items : value) as T;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(record)) {
    const redacted = redactSecrets(v, depth + 1);
    if (redacted !== v) (copy ??= { ...record })[key] = redacted;
  }
  const result = copy ?? record;
  if (isSecret(result) && typeof result.metadata === 'object' && result.metadata !== null) return redactSecret(result as KubeObject) as T;
  return result as T;
}

/**
 * The text a value stands for, redacted or not, is the same as another's: for a marker, by length and hash prefix
 * (of the value's UTF-8 bytes, as redactedMarker makes them); otherwise by the text itself. Different markers, or a
 * marker and a text whose marker differs, are different values for certain; equal ones are the same value but for a
 * 64-bit hash collision. Neither value is ever read as the other's text.
 */
export function sameText(a: string, b: string): boolean {
  const [ra, rb] = [parseRedacted(a), parseRedacted(b)];
  if (!ra && !rb) return a === b;
  const marker = (text: string) => (parseRedacted(text) ? text : redactedMarker(Buffer.from(text, 'utf8')));
  return marker(a) === marker(b);
}

// ---------------------------------------------------------------------------------------------------------------
// Fields of other types that can carry credentials, for the types some rule reads in full (every other type is dumped
// metadata-only, src/engine/scan.ts). A path names fields: `a.b` keys, `x[]` each item of the list x, `*` each value
// of a map (its keys stay), `{a,b}` either key, `["k.e/y"]` a key with dots. A string (the empty one too) becomes the
// marker of its UTF-8 bytes, any other value the marker of its JSON text; what is absent stays absent.
//
// What the rules read of these types (rules/, test/fixtures/) and so must stay: HelmChart spec.repo/chart/version,
// status.jobName, spec.targetNamespace; Addon spec.enabled/repo/chart/version; valuesContent is only compared
// (harvester/addon-stuck-enabling: sameText); Job and Pod metadata and status; Deployment images, replicas, selector
// and pod labels; BundleDeployment spec.valuesHash/waitingForValues/deploymentID/options.helm.releaseName; Bundle
// spec.valuesHash and status; Setting server-version; ManagedChart spec.paused; HelmRelease spec.releaseName/
// targetNamespace/storageNamespace; Cluster spec.paused and spec.topology's class; Application spec.policies'
// cluster lists and placements, workflow steps' cluster and inline topology policies, status; ResourceTracker entries'
// cluster, kind, name, namespace, deleted (not `raw`).
// ---------------------------------------------------------------------------------------------------------------

/** One kind of field that can carry a credential. */
export interface FieldRedaction {
  path: string;
  /** The marker is of the value decoded from base64: it then compares with a redacted copy of the decoded text. */
  decode?: 'base64';
  /** Paths under `path` kept as they are (what a rule reads); every other value under it is redacted on its own. */
  keep?: readonly string[];
  /** Objects of these names keep the field: a rule reads it there, and it holds no credential. */
  exceptNames?: readonly string[];
}

/**
 * Annotations on any object that repeat what was applied: kubectl apply's last-applied-configuration (a Deployment's
 * env values, a HelmChart's values), wrangler apply's `objectset.rio.cattle.io/applied` (rancher/wrangler v3
 * pkg/apply/desiredset_compare.go serializeApplied: the object as JSON, strings cut to 64 characters, gzip+base64;
 * helm-controller's install Jobs carry it, their args holding `--set` values) and vela-core's
 * `app.oam.dev/last-applied-configuration` (kubevela/kubevela pkg/oam/labels.go AnnotationLastAppliedConfig, set on
 * what an Application deploys, pkg/utils/apply/patch.go). A scan keeps kubectl's only on objects being deleted
 * (src/engine/keep.ts); no rule reads any of them.
 */
const APPLIED_ANNOTATIONS: readonly FieldRedaction[] = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'objectset.rio.cattle.io/applied',
  'app.oam.dev/last-applied-configuration',
].map((key) => ({ path: `metadata.annotations["${key}"]` }));

/**
 * A pod spec's inline strings (k8s.io/api core/v1 Container): env values (helm-controller puts the controller's
 * HTTP(S)_PROXY, which may hold proxy credentials, in its Jobs' env: k3s-io/helm-controller v0.17.7
 * pkg/controllers/chart/chart.go setProxyEnv), args (the same Jobs get a HelmChart's spec.set as `--set k=v`: chart.go
 * args), commands, and the commands and HTTP headers of probes and lifecycle hooks. envFrom and valueFrom only name
 * Secrets and ConfigMaps and stay.
 */
function podSpecFields(spec: string): FieldRedaction[] {
  const containers = `${spec}.{containers,initContainers,ephemeralContainers}[]`;
  return [
    `${containers}.env[].value`,
    `${containers}.args[]`,
    `${containers}.command[]`,
    `${containers}.{livenessProbe,readinessProbe,startupProbe}.exec.command[]`,
    `${containers}.{livenessProbe,readinessProbe,startupProbe}.httpGet.httpHeaders[].value`,
    `${containers}.lifecycle.{postStart,preStop}.exec.command[]`,
    `${containers}.lifecycle.{postStart,preStop}.httpGet.httpHeaders[].value`,
  ].map((path) => ({ path }));
}

/**
 * Fleet's drift report: `modifiedStatus[].patch` is the merge patch from the deployed to the desired object, a
 * Secret's data included (rancher/fleet v0.16 internal/cmd/agent/deployer/monitor/updatestatus.go; its test has
 * `{"data": {"foo": "bar"}`). BundleDeployments carry it in status, Bundles, GitRepos and ManagedCharts in their
 * summaries of non-ready resources (pkg/apis/fleet.cattle.io/v1alpha1 BundleSummary.NonReadyResources).
 */
const FLEET_SUMMARY_PATCHES: readonly FieldRedaction[] = [
  { path: 'status.summary.nonReadyResources[].modifiedStatus[].patch' },
  { path: 'status.partitions[].summary.nonReadyResources[].modifiedStatus[].patch' },
];

/**
 * Fleet Helm options (rancher/fleet v0.16 pkg/apis/fleet.cattle.io/v1alpha1 HelmOptions): `values` and
 * `templateValues` are the chart's values. Fleet >= 0.10 moves a Bundle's and a BundleDeployment's values into
 * Secrets and clears them (pkg/helmvalues/extract.go ClearValues, ClearOptions), but Bundles made another way (older
 * Fleet, Rancher's ManagedCharts, by hand) keep them inline. `valuesFrom` only names ConfigMaps and Secrets (ValuesFrom:
 * name, namespace, key) and stays, as do `valuesFiles` (file names).
 */
function fleetHelmValues(options: string): FieldRedaction[] {
  return [{ path: `${options}.helm.values` }, { path: `${options}.helm.templateValues.*` }];
}

/**
 * KubeVela properties kept: what the rules read (cluster names, placements) and the rest of a topology's placement
 * (cluster labels, namespace); every other property is redacted on its own.
 */
const POLICY_KEPT = ['clusters', 'clusterLabelSelector', 'clusterSelector', 'namespace', 'allowEmpty', 'envs[].name', 'envs[].placement'];
const STEP_KEPT = ['cluster', 'policies', 'inlinePolicies[].type', 'inlinePolicies[].name', 'inlinePolicies[].properties.clusters'];

/** Fields redacted per resource type (`resources/<resource>.json`), beyond Secret values and APPLIED_ANNOTATIONS. */
export const DUMP_REDACTIONS: Readonly<Record<string, readonly FieldRedaction[]>> = {
  // k3s-io/helm-controller v0.17.7 pkg/apis/helm.cattle.io/v1/types.go HelmChartSpec: the chart's values inline
  // (valuesContent, values) and as `--set` overrides (set, map[string]IntOrString: keys stay), and chartContent, a
  // whole chart archive (base64 .tgz) with its default values. valuesSecrets and authSecret only name Secrets; repoCA
  // is a public certificate.
  'helmcharts.helm.cattle.io': [
    { path: 'spec.valuesContent' },
    { path: 'spec.values' },
    { path: 'spec.set.*' },
    { path: 'spec.chartContent' },
  ],
  // harvester/harvester (3d63c2af) pkg/apis/harvesterhci.io/v1beta1/addon.go AddonSpec.ValuesContent; when it is
  // empty the controller installs the base64 values of the harvesterhci.io/addon-defaults annotation instead
  // (pkg/controller/master/addon/common.go defaultValues), so that is redacted as the text it decodes to: the rule
  // compares both with the HelmChart's valuesContent as the controller does (isHelmchartUpdateNeeded).
  'addons.harvesterhci.io': [
    { path: 'spec.valuesContent' },
    { path: 'metadata.annotations["harvesterhci.io/addon-defaults"]', decode: 'base64' },
  ],
  // Harvester Settings keep their value in `value` (and `default`): backup-target holds an S3 secretAccessKey,
  // ssl-certificates a privateKey (pkg/settings/settings_helper.go BackupTarget, SSLCertificate), containerd-registry
  // registry passwords (pkg/containerd/registry.go AuthConfig), http-proxy may hold proxy credentials. The rules read
  // only server-version.
  'settings.harvesterhci.io': [
    { path: 'value', exceptNames: ['server-version'] },
    { path: 'default', exceptNames: ['server-version'] },
  ],
  'bundledeployments.fleet.cattle.io': [
    ...fleetHelmValues('spec.options'),
    ...fleetHelmValues('spec.stagedOptions'),
    { path: 'status.modifiedStatus[].patch' },
  ],
  // A Bundle's resources are the files of its path in the git repository (BundleResource: name, content, encoding):
  // manifests and values files, Secrets among them as anyone committed them.
  'bundles.fleet.cattle.io': [
    ...fleetHelmValues('spec'),
    ...fleetHelmValues('spec.targets[]'),
    { path: 'spec.resources[].content' },
    ...FLEET_SUMMARY_PATCHES,
  ],
  'gitrepos.fleet.cattle.io': [...FLEET_SUMMARY_PATCHES],
  // rancher/rancher pkg/apis/management.cattle.io/v3 ManagedChartSpec: Values *fleet.GenericMap, Targets
  // []fleet.BundleTarget (each with Helm options); its status is a fleet BundleStatus.
  'managedcharts.management.cattle.io': [{ path: 'spec.values' }, ...fleetHelmValues('spec.targets[]'), ...FLEET_SUMMARY_PATCHES],
  // fluxcd/helm-controller api/v2 HelmReleaseSpec.Values (apiextensionsv1.JSON); valuesFrom only names objects.
  'helmreleases.helm.toolkit.fluxcd.io': [{ path: 'spec.values' }],
  // sigs.k8s.io/cluster-api v1.14 api/core/v1beta2 cluster_types.go: Topology.Variables and the control plane's,
  // MachineDeployments' and MachinePools' variable overrides are ClusterVariable{name, value: any JSON} the
  // ClusterClass patches into templates, credentials among them where a class asks for one.
  'clusters.cluster.x-k8s.io': [
    { path: 'spec.topology.variables[].value' },
    { path: 'spec.topology.controlPlane.variables.overrides[].value' },
    { path: 'spec.topology.workers.{machineDeployments,machinePools}[].variables.overrides[].value' },
  ],
  // KubeVela Applications (kubevela/kubevela v1.11 apis/core.oam.dev/v1beta1 ApplicationSpec): component and trait
  // properties are whatever the definitions take (env values, Helm values, passwords); policy and workflow step
  // properties too (an override policy's component properties, a notification step's webhook URL, an apply-object
  // step's object). Step groups nest one level (subSteps, kubevela/workflow api/v1alpha1 WorkflowStep).
  'applications.core.oam.dev': [
    { path: 'spec.components[].properties' },
    { path: 'spec.components[].traits[].properties' },
    { path: 'spec.policies[].properties', keep: POLICY_KEPT },
    { path: 'spec.workflow.steps[].properties', keep: STEP_KEPT },
    { path: 'spec.workflow.steps[].subSteps[].properties', keep: STEP_KEPT },
  ],
  // kubevela/kubevela v1.11 apis/core.oam.dev/v1beta1/resourcetracker_types.go: each ManagedResource carries `raw`,
  // the whole manifest applied (Secrets, Deployments with their env). A compressed tracker
  // (ResourceTrackerSpec.MarshalJSON) holds the same list as base64 gzip/zstd JSON in spec.compression.data: the dump
  // writes it decoded as spec.managedResources, where the rule reads it, and the data's marker instead of the data.
  'resourcetrackers.core.oam.dev': [{ path: 'spec.compression.data' }, { path: 'spec.managedResources[].raw' }],
  'deployments.apps': podSpecFields('spec.template.spec'),
  'jobs.batch': podSpecFields('spec.template.spec'),
  pods: podSpecFields('spec'),
};

/** What `redacted`/`redactedFields` of a dump manifest say is redacted in every object, and in Secrets. */
export const EVERY_OBJECT_REDACTIONS: readonly string[] = [
  ...APPLIED_ANNOTATIONS.map((r) => r.path),
  'data.* and stringData.* of any Secret manifest inside another object',
];
const SECRET_REDACTIONS: readonly string[] = ['data.*', 'stringData.*'];

/** How a manifest names a field redaction: its path, and the objects that keep it. */
function describeRedaction(r: FieldRedaction): string {
  const notes = [
    ...(r.decode ? [`marker of the ${r.decode}-decoded value`] : []),
    ...(r.keep ? [`except ${r.keep.join(', ')}`] : []),
    ...(r.exceptNames ? [`not of ${r.exceptNames.join(', ')}`] : []),
  ];
  return notes.length > 0 ? `${r.path} (${notes.join('; ')})` : r.path;
}

/** The fields a dump redacts in objects of `resource` (`helmcharts.helm.cattle.io`), as its manifest lists them. */
export function redactedFieldsOf(resource: string): string[] {
  if (resource === 'secrets') return [...SECRET_REDACTIONS];
  return (DUMP_REDACTIONS[resource] ?? []).map(describeRedaction);
}

/**
 * `obj`, an object of `resource` as listed, as a dump writes it: the applied-configuration annotations, the type's
 * credential fields (DUMP_REDACTIONS) and every Secret manifest in it redacted. Unchanged parts are shared, not copied;
 * a marker already there (a dump of a dump) is kept.
 */
export function redactForDump(obj: KubeObject, resource: string): KubeObject {
  let out = resource === 'resourcetrackers.core.oam.dev' ? decodedTracker(obj) : obj;
  for (const r of [...APPLIED_ANNOTATIONS, ...(DUMP_REDACTIONS[resource] ?? [])]) {
    if (r.exceptNames?.includes(out.metadata.name ?? '')) continue;
    const leaf = r.keep ? keepOnly(r.keep.map(parsePath)) : r.decode === 'base64' ? markBase64 : markValue;
    out = redactAt(out, parsePath(r.path), 0, leaf);
  }
  return redactSecrets(out);
}

/** A compressed ResourceTracker with its entries decoded into spec.managedResources (their `raw` is redacted next). */
function decodedTracker(rt: KubeObject): KubeObject {
  const spec = rt.spec;
  if (!isRecord(spec) || !isRecord(spec.compression)) return rt;
  const { type, data } = spec.compression;
  if (typeof data !== 'string' || parseRedacted(data) || !isCompression(type)) return rt;
  let entries: unknown;
  try {
    entries = decodeCompressedJson(data, type);
  } catch {
    return rt; // Undecodable: the data is redacted whole, and the rule says it cannot read the tracker.
  }
  return Array.isArray(entries) ? { ...rt, spec: { ...spec, managedResources: entries } } : rt;
}

interface Segment {
  keys: readonly string[] | '*';
  each: boolean;
}

const SEGMENT = /^(?:\["([^"]+)"\]|\{([^}]+)\}|(\*)|([^.[\]{}"*]+))(\[\])?/;
const parsed = new Map<string, Segment[]>();

function parsePath(path: string): Segment[] {
  const known = parsed.get(path);
  if (known) return known;
  const segments: Segment[] = [];
  let rest = path;
  while (rest !== '') {
    const m = SEGMENT.exec(rest);
    if (!m) throw new Error(`redaction path ${path}: cannot read ${rest}`);
    segments.push({
      keys: m[1] !== undefined ? [m[1]] : m[2] !== undefined ? m[2].split(',') : m[3] ? '*' : [m[4]!],
      each: m[5] !== undefined,
    });
    rest = rest.slice(m[0].length);
    if (rest.startsWith('.')) rest = rest.slice(1);
    else if (rest !== '' && !rest.startsWith('["')) throw new Error(`redaction path ${path}: cannot read ${rest}`);
  }
  parsed.set(path, segments);
  return segments;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `node` with `leaf` applied to every value `segments` (from `i`) name; unchanged containers are shared. */
function redactAt<T>(node: T, segments: readonly Segment[], i: number, leaf: (value: unknown) => unknown): T {
  if (i === segments.length) return leaf(node) as T;
  if (!isRecord(node)) return node;
  const { keys, each } = segments[i]!;
  let copy: Record<string, unknown> | undefined;
  for (const key of keys === '*' ? Object.keys(node) : keys.filter((k) => Object.hasOwn(node, k))) {
    const value = node[key];
    let next: unknown;
    if (each) {
      if (!Array.isArray(value)) continue;
      const items = value.map((item) => redactAt(item, segments, i + 1, leaf));
      next = items.some((item, j) => item !== value[j]) ? items : value;
    } else {
      next = redactAt(value, segments, i + 1, leaf);
    }
    if (next !== value) (copy ??= { ...node })[key] = next;
  }
  return (copy ?? node) as T;
}

function markValue(value: unknown): unknown {
  if (value === undefined || value === null || parseRedacted(value)) return value;
  return redactedMarker(Buffer.from(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''), 'utf8'));
}

function markBase64(value: unknown): unknown {
  return typeof value === 'string' && !parseRedacted(value) ? redactedMarker(Buffer.from(value, 'base64')) : markValue(value);
}

/** A leaf that keeps the values `keep` names under it and redacts every other value on its own. */
function keepOnly(keep: readonly Segment[][]): (value: unknown) => unknown {
  const walk = (node: unknown, paths: readonly Segment[][]): unknown => {
    if (paths.some((p) => p.length === 0)) return node;
    if (!isRecord(node)) return markValue(node);
    let copy: Record<string, unknown> | undefined;
    for (const [key, value] of Object.entries(node)) {
      const through = paths.filter((p) => p[0]!.keys === '*' || p[0]!.keys.includes(key));
      let next: unknown;
      if (through.length === 0) next = markValue(value);
      else if (through[0]![0]!.each) {
        const rest = through.map((p) => p.slice(1));
        next = Array.isArray(value) ? value.map((item) => walk(item, rest)) : markValue(value);
        if (Array.isArray(value) && (next as unknown[]).every((item, j) => item === value[j])) next = value;
      } else
        next = walk(
          value,
          through.map((p) => p.slice(1)),
        );
      if (next !== value) (copy ??= { ...node })[key] = next;
    }
    return copy ?? node;
  };
  return (value) => walk(value, keep);
}
