// What `kubectl doctor dump` writes instead of credentials, so a dump can be handed to someone else. Two passes, one
// function (DumpRedactor.redact): Secret values, wherever a Secret manifest is (redactSecrets), and the fields of other
// types that can carry credentials: the Kubernetes-generic ones below, and those of product types, which the rules
// that read them declare (RuleMeta.dumpRedactions, rules/<ecosystem>/dump-redactions.ts). A value becomes a marker
// that keeps what a check can use without the value itself: that it is there, its length, a prefix of its SHA-256.
// A rule that reads a redacted field decides what the marker allows (present or absent, two values equal or not:
// sameText) and says ctx.unknown() for the rest; it never reads a marker as the value.
import { sha256 } from '../util/hash.ts';
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
  const hash = sha256(bytes).slice(0, HASH_PREFIX);
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
// Fields of other types that can carry credentials. What is Kubernetes-generic is here; which fields of a product's
// types carry credentials is declared by the rules that read those types (RuleMeta.dumpRedactions, with where each
// fact comes from), and a dump redacts the union over every shipped rule (dumpRedactor). A path names fields: `a.b`
// keys, `x[]` each item of the list x, `*` each value of a map (its keys stay), `{a,b}` either key, `["k.e/y"]` a key
// with dots. A string (the empty one too) becomes the marker of its UTF-8 bytes, any other value the marker of its
// JSON text; what is absent stays absent.
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

/** The fields of one resource type a dump redacts, as a rule that reads the type declares them. */
export interface DumpRedaction {
  /** kubectl's name for the type (`helmcharts.helm.cattle.io`), or `*`: every object of every type. */
  resource: string;
  fields: readonly FieldRedaction[];
  /**
   * Rewrites an object before its fields are redacted, so that what a rule reads of a field the dump redacts is
   * still there (a compressed list written out decoded, its items then redacted one by one). Returns the object
   * itself when there is nothing to rewrite; never changes it.
   */
  unpack?: (obj: KubeObject) => KubeObject;
}

/**
 * kubectl apply's copy of the object as last applied (a Deployment's env values, a HelmChart's values). A scan keeps
 * it only on objects being deleted (src/engine/keep.ts); no rule reads it.
 */
const KUBECTL_APPLIED: DumpRedaction = { resource: '*', fields: [{ path: `metadata.annotations["${LAST_APPLIED}"]` }] };

/**
 * A pod spec's inline strings (k8s.io/api core/v1 Container): env values (helm-controller, for one, puts the
 * controller's HTTP(S)_PROXY, which may hold proxy credentials, in its Jobs' env: k3s-io/helm-controller v0.17.7
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

/** What every dump redacts, whichever rules ship: the annotation above, and the pod specs of the core workload types. */
const KUBERNETES_REDACTIONS: readonly DumpRedaction[] = [
  KUBECTL_APPLIED,
  { resource: 'deployments.apps', fields: podSpecFields('spec.template.spec') },
  { resource: 'jobs.batch', fields: podSpecFields('spec.template.spec') },
  { resource: 'pods', fields: podSpecFields('spec') },
];

const EMBEDDED_SECRETS = 'data.* and stringData.* of any Secret manifest inside another object';
const SECRET_REDACTIONS: readonly string[] = ['data.*', 'stringData.*'];

/** What a dump redacts: Secret values, and the fields of KUBERNETES_REDACTIONS and of the rules' declarations. */
export interface DumpRedactor {
  /**
   * `obj`, an object of `resource` as listed, as a dump writes it: unpacked, the fields of every object (`*`) and of
   * its type redacted, then every Secret manifest in it. Unchanged parts are shared, not copied; a marker already
   * there (a dump of a dump) is kept.
   */
  redact(obj: KubeObject, resource: string): KubeObject;
  /** The fields a dump redacts in objects of `resource` (`helmcharts.helm.cattle.io`), as its manifest lists them. */
  fieldsOf(resource: string): string[];
  /** What the manifest's `redactedFields['*']` says is redacted in every object. */
  readonly everyObject: readonly string[];
}

/**
 * The redactor of `declared` (every shipped rule's dumpRedactions, so a dump of fewer rules holds no more than one of
 * all of them) and KUBERNETES_REDACTIONS. A declaration shared by several rules counts once, and so does a field two
 * declarations of a type both name.
 */
export function dumpRedactor(declared: readonly DumpRedaction[]): DumpRedactor {
  const byType = new Map<string, { fields: FieldRedaction[]; described: Set<string>; unpack: ((obj: KubeObject) => KubeObject)[] }>();
  for (const d of new Set([...KUBERNETES_REDACTIONS, ...declared])) {
    let entry = byType.get(d.resource);
    if (!entry) byType.set(d.resource, (entry = { fields: [], described: new Set(), unpack: [] }));
    for (const f of d.fields) {
      parsePath(f.path); // A path it cannot read fails here, when the rules are put together, not in a dump.
      for (const k of f.keep ?? []) parsePath(k);
      const described = describeRedaction(f);
      if (entry.described.has(described)) continue;
      entry.described.add(described);
      entry.fields.push(f);
    }
    if (d.unpack && !entry.unpack.includes(d.unpack)) entry.unpack.push(d.unpack);
  }
  const every = byType.get('*')!;
  return {
    redact(obj, resource) {
      const own = resource === '*' ? undefined : byType.get(resource);
      let out = obj;
      for (const unpack of [...every.unpack, ...(own?.unpack ?? [])]) out = unpack(out);
      for (const r of [...every.fields, ...(own?.fields ?? [])]) {
        if (r.exceptNames?.includes(out.metadata.name ?? '')) continue;
        const leaf = r.keep ? keepOnly(r.keep.map(parsePath)) : r.decode === 'base64' ? markBase64 : markValue;
        out = redactAt(out, parsePath(r.path), 0, leaf);
      }
      return redactSecrets(out);
    },
    fieldsOf(resource) {
      if (resource === 'secrets') return [...SECRET_REDACTIONS];
      return resource === '*' ? [] : (byType.get(resource)?.fields ?? []).map(describeRedaction);
    },
    everyObject: [...every.described, EMBEDDED_SECRETS],
  };
}

/** How a manifest names a field redaction: its path, and the objects that keep it. */
function describeRedaction(r: FieldRedaction): string {
  const notes = [
    ...(r.decode ? [`marker of the ${r.decode}-decoded value`] : []),
    ...(r.keep ? [`except ${r.keep.join(', ')}`] : []),
    ...(r.exceptNames ? [`not of ${r.exceptNames.join(', ')}`] : []),
  ];
  return notes.length > 0 ? `${r.path} (${notes.join('; ')})` : r.path;
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
