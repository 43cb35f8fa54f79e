// The layout `kubectl doctor dump` writes and `--snapshot` reads back, in one place (README "Dumps"):
//
//   <dump>/kubectl-doctor-dump.yaml            the manifest: a SnapshotCoverage document (below)
//   <dump>/resources/<resource>.json           one `List` per resource type (`secrets.json`, `deployments.apps.json`),
//                                              one item per line, Secret values and other credentials redacted
//                                              (src/kube/redact.ts DumpRedactor; the manifest's redactedFields)
//
// A `.tgz`/`.tar.gz` dump is the same files under one directory named after the archive.
import { DoctorError } from '../errors.ts';
import { visible } from '../util/terminal.ts';
import type { ResourceType } from './resources.ts';
import type { DiscoveryFailure, ListFailure } from './source.ts';
import { isPlainObject, type SkippedObject } from './validate.ts';

export const DUMP_MANIFEST = 'kubectl-doctor-dump.yaml';
export const COVERAGE_API_VERSION = 'kubectl-doctor/v1';
export const COVERAGE_KIND = 'SnapshotCoverage';

export function dumpResourceFile(resource: string): string {
  return `resources/${resource}.json`;
}

/** One list as the engine asked for it: what a dump holds (or failed to read) of a type. */
export interface ListScope {
  resource: string;
  /** Undefined: every namespace (or a cluster-scoped type). */
  namespace?: string;
  labelSelector?: string;
  /** Only metadata was read (PartialObjectMetadataList): the dump cannot serve a read that needs more. */
  metadataOnly: boolean;
}

/**
 * What a `kubectl doctor dump` says about itself. A coverage document with `discovery` is one: it is then the whole
 * truth about the dump (the `List` files in it claim nothing of their own, the types are the cluster's, not guessed).
 */
export interface DumpManifest {
  capturedAt: string;
  doctorVersion: string;
  /** The API server's gitVersion, when /version answered. */
  clusterVersion?: string;
  /** The dump's -n: a scan of it defaults to the same namespace. */
  namespace?: string;
  rules: string[];
  /** Resource types some of whose fields were replaced by markers (src/kube/redact.ts). */
  redacted: string[];
  /**
   * Which fields, per resource type (`*`: in every object), as src/kube/redact.ts describes them. Added to the v1
   * format after `redacted`: a reader that predates it ignores it; a dump that predates it redacted only Secret
   * values (`{secrets: [data.*, stringData.*]}`).
   */
  redactedFields: Record<string, string[]>;
  covered: (ListScope & { skipped?: SkippedObject[] })[];
  notCovered: (ListScope & { failure: ListFailure; reason: string })[];
  /** What the rules read that no list could hold (a group-version discovery could not describe), as the scan says it. */
  unread: string[];
  discovery: { types: ResourceType[]; failures: DiscoveryFailure[] };
}

/** The manifest as the YAML document written to DUMP_MANIFEST. */
export function manifestDocument(m: DumpManifest): Record<string, unknown> {
  const scope = (s: ListScope) => ({
    resource: s.resource,
    ...(s.namespace !== undefined ? { namespaces: [s.namespace] } : {}),
    ...(s.labelSelector !== undefined ? { labelSelector: s.labelSelector } : {}),
    ...(s.metadataOnly ? { metadataOnly: true } : {}),
  });
  return {
    apiVersion: COVERAGE_API_VERSION,
    kind: COVERAGE_KIND,
    capturedAt: m.capturedAt,
    doctorVersion: m.doctorVersion,
    cluster: m.clusterVersion !== undefined ? { version: m.clusterVersion } : {},
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    rules: m.rules,
    redacted: m.redacted,
    redactedFields: m.redactedFields,
    resources: m.covered.map((c) => ({ ...scope(c), ...(c.skipped && c.skipped.length > 0 ? { skipped: c.skipped } : {}) })),
    notCovered: m.notCovered.map((n) => ({ ...scope(n), failure: n.failure, reason: n.reason })),
    unread: m.unread,
    discovery: {
      types: m.discovery.types.map((t) => ({ ...t })),
      failures: m.discovery.failures.map((f) => ({ ...f })),
    },
  };
}

export function isDumpManifest(doc: Record<string, unknown>): boolean {
  return doc.apiVersion === COVERAGE_API_VERSION && doc.kind === COVERAGE_KIND && doc.discovery !== undefined;
}

const FAILURES: readonly ListFailure[] = ['forbidden', 'not-served', 'unavailable', 'error'];

/** Reads a dump manifest back; anything of the wrong shape is one line naming the field (it is input like any other). */
export function parseDumpManifest(doc: Record<string, unknown>, where: string): DumpManifest {
  const bad = (what: string): never => {
    throw new DoctorError(`${where}: ${COVERAGE_KIND} ${what}; write the dump again with kubectl doctor dump`);
  };
  const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : bad(`${what} is not a string`));
  const optStr = (v: unknown, what: string): string | undefined => (v === undefined ? undefined : str(v, what));
  const list = (v: unknown, what: string): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : bad(`${what} is not a list`));
  const obj = (v: unknown, what: string): Record<string, unknown> => (isPlainObject(v) ? v : bad(`${what} is not a mapping`));

  const capturedAt = str(doc.capturedAt, 'capturedAt');
  if (Number.isNaN(new Date(capturedAt).getTime())) bad(`capturedAt ${JSON.stringify(visible(capturedAt))} is not a time`);
  const scopes = (entry: unknown, what: string): ListScope[] => {
    const e = obj(entry, what);
    const resource = str(e.resource, `${what}.resource`);
    const labelSelector = optStr(e.labelSelector, `${what}.labelSelector`);
    if (e.metadataOnly !== undefined && typeof e.metadataOnly !== 'boolean') bad(`${what}.metadataOnly is not true or false`);
    const base = { resource, ...(labelSelector !== undefined ? { labelSelector } : {}), metadataOnly: e.metadataOnly === true };
    if (e.namespaces === undefined) return [base];
    return list(e.namespaces, `${what}.namespaces`).map((n) => ({ ...base, namespace: str(n, `${what}.namespaces[]`) }));
  };
  const covered = list(doc.resources, 'resources').flatMap((entry, i) => {
    const skipped = list(obj(entry, `resources[${i}]`).skipped, `resources[${i}].skipped`).map((s, j) =>
      skippedOf(s, `resources[${i}].skipped[${j}]`, bad),
    );
    return scopes(entry, `resources[${i}]`).map((s) => ({ ...s, ...(skipped.length > 0 ? { skipped } : {}) }));
  });
  const notCovered = list(doc.notCovered, 'notCovered').flatMap((entry, i) => {
    const e = obj(entry, `notCovered[${i}]`);
    const failure = str(e.failure, `notCovered[${i}].failure`) as ListFailure;
    if (!FAILURES.includes(failure)) bad(`notCovered[${i}].failure is not one of ${FAILURES.join(', ')}`);
    const reason = str(e.reason, `notCovered[${i}].reason`);
    return scopes(entry, `notCovered[${i}]`).map((s) => ({ ...s, failure, reason }));
  });
  const discovery = obj(doc.discovery, 'discovery');
  const types = list(discovery.types, 'discovery.types').map((t, i): ResourceType => {
    const e = obj(t, `discovery.types[${i}]`);
    if (typeof e.namespaced !== 'boolean') bad(`discovery.types[${i}].namespaced is not true or false`);
    return {
      group: str(e.group, `discovery.types[${i}].group`),
      version: str(e.version, `discovery.types[${i}].version`),
      resource: str(e.resource, `discovery.types[${i}].resource`),
      kind: str(e.kind, `discovery.types[${i}].kind`),
      namespaced: e.namespaced as boolean,
      verbs: list(e.verbs, `discovery.types[${i}].verbs`).map((v) => str(v, `discovery.types[${i}].verbs[]`)),
    };
  });
  const failures = list(discovery.failures, 'discovery.failures').map((f, i) => {
    const e = obj(f, `discovery.failures[${i}]`);
    return {
      groupVersion: str(e.groupVersion, `discovery.failures[${i}].groupVersion`),
      reason: str(e.reason, `discovery.failures[${i}].reason`),
    };
  });
  const cluster = doc.cluster === undefined ? {} : obj(doc.cluster, 'cluster');
  const clusterVersion = optStr(cluster.version, 'cluster.version');
  const namespace = optStr(doc.namespace, 'namespace');
  return {
    capturedAt,
    doctorVersion: str(doc.doctorVersion, 'doctorVersion'),
    ...(clusterVersion !== undefined ? { clusterVersion } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    rules: list(doc.rules, 'rules').map((r) => str(r, 'rules[]')),
    redacted: list(doc.redacted, 'redacted').map((r) => str(r, 'redacted[]')),
    redactedFields: Object.fromEntries(
      Object.entries(doc.redactedFields === undefined ? {} : obj(doc.redactedFields, 'redactedFields')).map(([resource, fields]) => [
        resource,
        list(fields, `redactedFields.${resource}`).map((f) => str(f, `redactedFields.${resource}[]`)),
      ]),
    ),
    covered,
    notCovered,
    unread: list(doc.unread, 'unread').map((r) => str(r, 'unread[]')),
    discovery: { types, failures },
  };
}

function skippedOf(value: unknown, what: string, bad: (what: string) => never): SkippedObject {
  if (!isPlainObject(value) || typeof value.reason !== 'string') return bad(`${what} has no reason`);
  const text = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] as string } : {});
  return {
    apiVersion: typeof value.apiVersion === 'string' ? value.apiVersion : '',
    kind: typeof value.kind === 'string' ? value.kind : '',
    ...text('namespace'),
    ...text('name'),
    reason: value.reason,
  };
}
