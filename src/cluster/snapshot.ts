import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { DoctorError } from '../errors.ts';
import { field, groupOf, isKubeObject, versionOf, type KubeObject } from '../kube/object.ts';
import { parseLabelSelector } from '../kube/selector.ts';
import { BUILT_IN_GROUPS, builtInTypes, guessResourceForKind, parseResourceName, resourceName, type ResourceType } from './resources.ts';
import { Discovery, type ClusterSource, type ListOutcome, type ListRequest, type SourceInfo } from './source.ts';
import { depthExceeds, expandedSize, malformation, MAX_DEPTH, skippedEntry, type SkippedObject } from './validate.ts';
import { visible } from '../util/terminal.ts';
import { describeFsError } from './fs-error.ts';
import { pushAll, pushTo, compareStrings } from '../util/collections.ts';
import { isArchiveName, readArchive } from './archive.ts';
import { COVERAGE_API_VERSION, COVERAGE_KIND, isDumpManifest, parseDumpManifest, type DumpManifest } from './dump-format.ts';

const SNAPSHOT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/**
 * rancherlabs/support-tools' Rancher logs collector (collection/rancher/v2.x/logs-collector/rancher2_logs_collector.sh,
 * provisioning-crds()) runs `kubectl get <resource> -o yaml -A > <distro>/kubectl/rancher-prov/<resource> 2>&1`: a
 * file named after the resource, without extension, holding its List or kubectl's error. Its other kubectl output
 * is text (`get -o wide`, `describe`, logs), except `<distro>/kubectl/nodes.json` (`get nodes -o json`).
 */
const RANCHER_PROV = /(?:^|[/:])kubectl\/rancher-prov\/([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/;

/** Whether a file of a dump directory or archive is read: YAML and JSON, and the layouts' files without extension. */
function isDumpFile(path: string): boolean {
  return SNAPSHOT_EXTENSIONS.has(extname(path).toLowerCase()) || RANCHER_PROV.test(path);
}

/**
 * Reads a saved dump: `kubectl get -o yaml|json` output, multi-document YAML, `List` objects and support-bundle
 * trees. Every rule runs on it exactly as on a live cluster, which is also how rule tests feed fixtures.
 */
export interface SnapshotReadOptions {
  /** Files larger than this are skipped with a warning (bytes; default DEFAULT_MAX_FILE_SIZE). */
  maxFileSize?: number;
  /** Where warnings go: one line each, naming the entry that was skipped and why. */
  warn?: (message: string) => void;
  /** Where diagnostics go (`-v`): files of a dump that are not read (logs, unknown files). */
  note?: (message: string) => void;
}

/**
 * An archive may be, and uncompress to, this many times --snapshot-max-file-size in all (each dump file within it:
 * once): bundles carry logs besides the YAML.
 */
const ARCHIVE_EXPANSION = 4;
/** Support bundles hold a few thousand files; 100k tiny entries is a way to exhaust memory, not a bundle. */
const MAX_ARCHIVE_ENTRIES = 50_000;

/**
 * What a dump holds in full, so that an object it lacks is absent and not merely unseen. A list the dump does not
 * cover is incomplete (`not in snapshot: <resource>`), which the engine treats as a forbidden list live: a required
 * read skips the rule, an optional one is unknown, a `*` read reports a coverage gap (and still sees the objects the
 * dump does hold). How coverage is known:
 * - a `List`/`*List` document covers the kinds of its items. One `kubectl get` has one namespace scope for all its
 *   types, so when every namespaced item of the List is in one namespace it may have been `-n <ns>`: it covers
 *   that namespace only; items in several namespaces mean `-A`: every namespace. Cluster-scoped kinds are covered
 *   whole. An empty `List` names no kind and covers nothing; an empty typed `*List` covers its kind when it is
 *   cluster-scoped (a namespaced one may have been `-n`).
 * - a bare object (a file of single objects or `---` documents) covers nothing: whoever saved it may have picked it.
 * - the layouts of bundle tools, where a file is one list of one type (even when empty):
 *   - rancher/support-bundle-kit (Harvester, Rancher): `yamls/namespaced/<ns>/<group>/<version>/<resource>.yaml`
 *     covers that resource in <ns>, `yamls/cluster/<group>/<version>/<resource>.yaml` covers it whole (core: `v1/`;
 *     pkg/manager/client/discovery.go ResourcesForNamespace/ResourcesForCluster write `<gv>/<resource>`, and
 *     pkg/manager/collectors/default.go only the namespaces default, kube-system, cattle-system and the ones asked
 *     for). Older Harvester bundles put `kubernetes/pods.yaml`, `harvester/upgrades.yaml` there: no group, so the
 *     resource is matched by its plural name when exactly one type has it.
 *   - `kubectl cluster-info dump --output-directory DIR`: `DIR/<ns>/{events,replication-controllers,services,
 *     daemonsets,deployments,replicasets,pods}.json`, each a typed list (kubectl
 *     pkg/cmd/clusterinfo/clusterinfo_dump.go), covers that resource in <ns>; `DIR/nodes.json` (a NodeList)
 *     covers nodes.
 * - a coverage document (`apiVersion: kubectl-doctor/v1`, `kind: SnapshotCoverage`) says `complete: true` (every
 *   type the cluster served is in the dump in full) or lists `resources: [{resource: secrets, namespaces: [a]}]`
 *   (`namespaces` left out: all of them).
 * A custom type with neither CRD nor objects in the dump is unknown (not in the snapshot) unless the dump covers
 * customresourcedefinitions; then it is not served, as live.
 * A `kubectl doctor dump` says all of this in its manifest (dump-format.ts): the cluster's discovery, each list it
 * read (with its namespace, label selector and whether it was metadata-only, which serves no read that needs more)
 * and each list that failed (the scan of the dump reports that failure as the live scan did).
 */
export type SnapshotCoverage = 'complete' | CoverageClaim[];

export interface CoverageClaim {
  /** `group/Kind` (from a List's items) or a resource name (`bundles.fleet.cattle.io`, from a coverage document). */
  groupKind?: string;
  resource?: string;
  /** A plural resource name from a bundle's file name, with its group when the path says it. */
  plural?: { resource: string; group?: string };
  /** Undefined: every namespace (or a cluster-scoped type). */
  namespace?: string;
}

const CRD_RESOURCE = 'customresourcedefinitions.apiextensions.k8s.io';

/**
 * A dump of a large cluster (`kubectl get -A -o yaml`) runs to hundreds of MB; parsing takes several times the
 * file size in memory, so a bigger file is more likely a mistake (a disk image, a log) than a dump.
 */
export const DEFAULT_MAX_FILE_SIZE = 256 * 1024 * 1024;
/** A YAML document whose aliases expand beyond this many nodes is refused (kubectl never writes aliases). */
const MAX_EXPANDED_NODES = 1_000_000;

/**
 * Reads a saved dump: `kubectl get -o yaml|json` output, multi-document YAML, `List` objects and support-bundle
 * trees. Every rule runs on it exactly as on a live cluster, which is also how rule tests feed fixtures.
 * Objects of the wrong shape (malformation) are not handed to rules: lists report them as skipped.
 */
export class SnapshotSource implements ClusterSource {
  readonly #paths: string[];
  #namespace: string | undefined;
  readonly #objects: KubeObject[];
  readonly #discovery: Discovery;
  readonly #byType = new Map<string, KubeObject[]>();
  readonly #skippedByType = new Map<string, { namespace: string | undefined; entry: SkippedObject }[]>();
  /** Resource name -> the lists the dump holds in full; undefined when the dump is complete. */
  readonly #covered: Map<string, CoveredScope[]> | undefined;
  /** Resource name -> lists that failed when a `kubectl doctor dump` was taken. */
  readonly #failed = new Map<string, DumpManifest['notCovered']>();
  readonly #dump: DumpManifest | undefined;
  #lists = 0;

  /**
   * Objects handed in memory are taken as the whole cluster (`coverage` defaults to 'complete', as rule tests
   * need); fromPaths works out what a dump covers.
   */
  constructor(
    objects: KubeObject[],
    options: {
      paths?: string[];
      namespace?: string;
      files?: Map<KubeObject, string>;
      coverage?: SnapshotCoverage;
      /** A `kubectl doctor dump`'s manifest: its discovery and lists replace what `coverage` and the objects say. */
      dump?: DumpManifest;
    } = {},
  ) {
    this.#paths = options.paths ?? [];
    this.#namespace = options.namespace;
    this.#dump = options.dump;
    const valid: KubeObject[] = [];
    const skipped: { obj: KubeObject; entry: SkippedObject }[] = [];
    for (const obj of objects) {
      const problem = malformation(obj);
      if (problem === undefined) valid.push(obj);
      else skipped.push({ obj, entry: skippedEntry(obj, problem, options.files?.get(obj)) });
    }
    this.#objects = valid;
    const dump = options.dump;
    const types = dump ? dump.discovery.types : snapshotTypes(valid);
    const typeByKind = new Map<string, ResourceType>();
    for (const t of types) if (!typeByKind.has(`${t.group}/${t.kind}`)) typeByKind.set(`${t.group}/${t.kind}`, t);
    if (dump) {
      this.#covered = new Map();
      for (const c of dump.covered) {
        const scopes = this.#covered.get(c.resource) ?? [];
        scopes.push({ namespace: c.namespace, labelSelector: c.labelSelector, metadataOnly: c.metadataOnly });
        this.#covered.set(c.resource, scopes);
      }
      for (const n of dump.notCovered) pushTo(this.#failed, n.resource, n);
      this.#discovery = new Discovery([...types], [...dump.discovery.failures]);
    } else {
      this.#covered =
        options.coverage === undefined || options.coverage === 'complete' ? undefined : coveredTypes(options.coverage, typeByKind);
      const crds = builtInTypes.find((t) => resourceName(t) === CRD_RESOURCE)!;
      this.#discovery = new SnapshotDiscovery(types, this.covers(crds, undefined));
    }
    for (const obj of valid) {
      const type = typeByKind.get(`${groupOf(obj.apiVersion)}/${obj.kind}`);
      if (!type) continue;
      const key = resourceName(type);
      const list = this.#byType.get(key) ?? [];
      list.push(obj);
      this.#byType.set(key, list);
    }
    for (const { obj, entry } of skipped) {
      const type =
        typeof obj.apiVersion === 'string' && typeof obj.kind === 'string'
          ? typeByKind.get(`${groupOf(obj.apiVersion)}/${obj.kind}`)
          : undefined;
      if (!type) continue;
      const list = this.#skippedByType.get(resourceName(type)) ?? [];
      list.push({ namespace: entry.namespace, entry });
      this.#skippedByType.set(resourceName(type), list);
    }
    // Objects a dumped list left out as malformed: the scan of the dump reports them as the live scan did. Each once,
    // though every list of its type (metadata-only and full, per namespace) names it: found by key, not searched for.
    const skippedKey = (e: SkippedObject) => JSON.stringify([e.kind, e.namespace, e.name]);
    const seen = new Map<string, Set<string>>();
    for (const c of dump?.covered ?? []) {
      const list = this.#skippedByType.get(c.resource) ?? [];
      let keys = seen.get(c.resource);
      if (!keys) seen.set(c.resource, (keys = new Set(list.map((s) => skippedKey(s.entry)))));
      for (const entry of c.skipped ?? []) {
        const key = skippedKey(entry);
        if (keys.has(key)) continue;
        keys.add(key);
        list.push({ namespace: entry.namespace, entry });
      }
      if (list.length > 0) this.#skippedByType.set(c.resource, list);
    }
  }

  /**
   * Reads files and directories (recursively); a dump with no objects at all is an error, not a clean scan.
   * Only regular files are read (a symlink counts as what it points to); FIFOs, devices, sockets, symlinks to
   * directories inside a tree and files over the size limit are skipped with a warning naming them.
   */
  static fromPaths(paths: string[], options: { namespace?: string; complete?: boolean } & SnapshotReadOptions = {}): SnapshotSource {
    const resolved = paths.map((p) => resolve(p));
    const files = new Map<KubeObject, string>();
    const claims: CoverageClaim[] = [];
    const dumps: { file: string; manifest: DumpManifest }[] = [];
    let complete = options.complete === true;
    const read = {
      maxFileSize: options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
      warn: options.warn ?? (() => undefined),
      note: options.note ?? (() => undefined),
    };
    for (const path of resolved) {
      for (const { file, parsed } of readSnapshotPath(path, read, true)) {
        for (const obj of parsed.objects) files.set(obj, file);
        claims.push(...parsed.claims);
        complete ||= parsed.complete;
        for (const manifest of parsed.dumps) dumps.push({ file, manifest });
      }
    }
    if (dumps.length > 1) {
      throw new DoctorError(
        `snapshot: ${dumps
          .slice(0, 2)
          .map((d) => visible(d.file))
          .join(' and ')} are two kubectl doctor dumps; scan one at a time`,
      );
    }
    // A kubectl doctor dump may hold no object at all (nothing listable, or nothing there): its manifest says so.
    if (files.size === 0 && dumps.length === 0) {
      throw new DoctorError(
        `snapshot ${paths.map((p) => visible(p)).join(', ')}: no Kubernetes objects found; pass files or directories holding kubectl get -o yaml|json output`,
      );
    }
    return new SnapshotSource([...files.keys()], {
      paths: resolved,
      files,
      coverage: complete ? 'complete' : claims,
      ...(dumps[0] ? { dump: dumps[0].manifest } : {}),
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    });
  }

  /**
   * Whether the dump holds every object of `type` (in `namespace`; undefined: in every namespace) that `read`
   * asks for: a metadata-only list serves only metadata-only reads, a label-selected one only that selector.
   */
  covers(type: ResourceType, namespace: string | undefined, read: { metadataOnly?: boolean; labelSelector?: string } = {}): boolean {
    if (this.#covered === undefined) return true;
    return (this.#covered.get(resourceName(type)) ?? []).some((scope) => scopeServes(scope, type, namespace, read));
  }

  /** The namespace the scan is limited to, as info() reports it (a dump's own when the scan names none). */
  limitTo(namespace: string | undefined): this {
    this.#namespace = namespace;
    return this;
  }

  /** When and in which namespace a `kubectl doctor dump` was taken; undefined for any other dump. */
  dump(): { capturedAt: string; namespace?: string } | undefined {
    const dump = this.#dump;
    return dump ? { capturedAt: dump.capturedAt, ...(dump.namespace !== undefined ? { namespace: dump.namespace } : {}) } : undefined;
  }

  info(): SourceInfo {
    return this.#namespace
      ? { type: 'snapshot', paths: this.#paths, namespace: this.#namespace }
      : { type: 'snapshot', paths: this.#paths };
  }

  async discover(): Promise<Discovery> {
    return this.#discovery;
  }

  async list(request: ListRequest): Promise<ListOutcome> {
    this.#lists++;
    const namespace = request.type.namespaced ? request.namespace : undefined;
    const matches = request.labelSelector ? parseLabelSelector(request.labelSelector) : () => true;
    const items = (this.#byType.get(resourceName(request.type)) ?? [])
      .filter((obj) => namespace === undefined || obj.metadata.namespace === namespace)
      .filter((obj) => matches(obj.metadata.labels))
      .map((obj) => (request.metadataOnly ? { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata } : obj));
    const skipped = (this.#skippedByType.get(resourceName(request.type)) ?? [])
      .filter((s) => namespace === undefined || s.namespace === namespace)
      .map((s) => ({ ...s.entry }));
    const covered = this.covers(request.type, namespace, request);
    if (!covered) {
      // A list that failed when the dump was taken fails here as it did then (forbidden, unavailable, ...).
      const failed = (this.#failed.get(resourceName(request.type)) ?? []).find((f) =>
        scopeServes({ ...f, metadataOnly: false }, request.type, namespace, request),
      );
      if (failed) return { ok: false, failure: failed.failure, reason: `${failed.reason} (when the dump was taken)` };
    }
    // What the dump holds of a type it does not cover is shown (a `*` read lists it), but it is not all there is.
    const incomplete = covered ? {} : { incomplete: `not in snapshot: ${resourceName(request.type)}` };
    // Copies: rules may not change what the next list of the same objects is served.
    const kept = items.flatMap((obj) => {
      const keep = request.keep ? request.keep(obj) : obj;
      return keep === undefined ? [] : [structuredClone(keep)];
    });
    return {
      ok: true,
      items: kept,
      pages: 1,
      ...(skipped.length > 0 ? { skipped } : {}),
      ...incomplete,
      ...(kept.length !== items.length ? { count: items.length } : {}),
    };
  }

  stats(): Record<string, number> {
    return { objects: this.#objects.length, lists: this.#lists };
  }
}

function readSnapshotPath(
  path: string,
  options: Required<SnapshotReadOptions>,
  given: boolean,
): { file: string; parsed: ParsedSnapshot }[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (given) {
      throw new DoctorError(
        code === 'ENOENT' || code === 'ENOTDIR'
          ? `snapshot ${visible(path)}: no such file or directory; pass a dump file or directory to --snapshot`
          : `snapshot ${visible(path)}: cannot read: ${describeFsError(err)}`,
      );
    }
    options.warn(`snapshot: skipped ${visible(path)}: ${code === 'ENOENT' ? 'a symlink to nothing' : describeFsError(err)}`);
    return [];
  }
  if (stat.isDirectory()) {
    // A symlink to a directory inside a tree could loop or leave the dump; only the paths given are followed.
    if (!given && lstatSync(path).isSymbolicLink()) {
      options.warn(`snapshot: skipped ${visible(path)}: a symlink to a directory (not followed)`);
      return [];
    }
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch (err) {
      throw new DoctorError(
        `snapshot ${visible(path)}: cannot read the directory: ${describeFsError(err)}; check its permissions or leave it out of --snapshot`,
      );
    }
    return entries
      .filter((entry) => !entry.name.startsWith('.'))
      .sort((a, b) => compareStrings(a.name, b.name))
      .flatMap((entry) => {
        const child = join(path, entry.name);
        if (entry.isDirectory() || isDumpFile(child)) return readSnapshotPath(child, options, false);
        options.note(`snapshot: not read (not .yaml, .yml or .json): ${child}`);
        return [];
      });
  }
  const archive = given && isArchiveName(path);
  const bytes = readRegularFile(path, archive ? { ...options, maxFileSize: options.maxFileSize * ARCHIVE_EXPANSION } : options, given);
  if (bytes === undefined) return [];
  if (archive) return readSnapshotArchive(path, bytes, options);
  return parseDumpFile(bytes.toString('utf8'), path, options);
}

/** The dump files of a .zip/.tar/.tar.gz, read in memory; entries are named `<archive>:<entry>`. */
function readSnapshotArchive(
  path: string,
  bytes: Buffer,
  options: Required<SnapshotReadOptions>,
): { file: string; parsed: ParsedSnapshot }[] {
  const wanted = (name: string) => {
    const read = isDumpFile(name) && !name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
    if (!read && !name.endsWith('/')) options.note(`snapshot: not read (not .yaml, .yml or .json): ${path}:${name}`);
    return read;
  };
  const entries = readArchive(path, bytes, {
    maxTotalSize: options.maxFileSize * ARCHIVE_EXPANSION,
    maxEntries: MAX_ARCHIVE_ENTRIES,
    wanted,
  });
  return entries
    .sort((a, b) => compareStrings(a.name, b.name))
    .flatMap(({ name, data }) => {
      const file = `${path}:${name}`;
      if (data.length > options.maxFileSize) {
        options.warn(
          `snapshot: skipped ${visible(file)}: ${data.length} bytes, over the ${options.maxFileSize}-byte limit (--snapshot-max-file-size)`,
        );
        return [];
      }
      return parseDumpFile(data.toString('utf8'), file, options);
    });
}

/** A file of a dump; a collector's file that holds kubectl's error instead of YAML is listed under -v, not fatal. */
function parseDumpFile(text: string, file: string, options: Required<SnapshotReadOptions>): { file: string; parsed: ParsedSnapshot }[] {
  try {
    return [{ file, parsed: parseSnapshotDocuments(text, file) }];
  } catch (err) {
    if (!(err instanceof DoctorError) || !RANCHER_PROV.test(file)) throw err;
    options.note(`snapshot: not read (kubectl's error output, not a list): ${file}`);
    return [];
  }
}

/**
 * The text of a regular file, or undefined (with a warning) when `path` is something else or too large.
 * The type is checked on the opened descriptor (O_NONBLOCK: opening a FIFO does not wait for a writer), so a
 * file swapped for a FIFO or a device between listing and reading is still refused.
 */
function readRegularFile(
  path: string,
  options: Pick<Required<SnapshotReadOptions>, 'maxFileSize' | 'warn'>,
  given: boolean,
): Buffer | undefined {
  const skip = (why: string): undefined => {
    if (given) throw new DoctorError(`snapshot ${visible(path)}: ${why}; pass a regular file or a directory to --snapshot`);
    options.warn(`snapshot: skipped ${visible(path)}: ${why}`);
    return undefined;
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return skip(`cannot open: ${describeFsError(err)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return skip(`${fileType(stat)}, not a regular file`);
    if (stat.size > options.maxFileSize)
      return skip(`${stat.size} bytes, over the ${options.maxFileSize}-byte limit (--snapshot-max-file-size)`);
    // Read no more than the limit even if the file grows meanwhile.
    const buffer = Buffer.alloc(Math.min(stat.size, options.maxFileSize) + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > options.maxFileSize)
      return skip(`grew over the ${options.maxFileSize}-byte limit (--snapshot-max-file-size) while being read`);
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof DoctorError) throw err;
    return skip(`cannot read: ${describeFsError(err)}`);
  } finally {
    closeSync(fd);
  }
}

function fileType(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a directory';
  return 'a special file';
}

/** Parses one file into objects; any syntax error names the file and the line. */
export function readSnapshotFile(path: string, options: SnapshotReadOptions = {}): KubeObject[] {
  const text = readRegularFile(
    path,
    { maxFileSize: options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE, warn: options.warn ?? (() => undefined) },
    true,
  );
  return parseSnapshotText(text?.toString('utf8') ?? '', path);
}

export function parseSnapshotText(text: string, path: string): KubeObject[] {
  return parseSnapshotDocuments(text, path).objects;
}

interface ParsedSnapshot {
  objects: KubeObject[];
  /** What the file's List and coverage documents say the dump holds in full (see SnapshotCoverage). */
  claims: CoverageClaim[];
  complete: boolean;
  /** Manifests of `kubectl doctor dump`s (dump-format.ts). */
  dumps: DumpManifest[];
}

function parseSnapshotDocuments(text: string, path: string): ParsedSnapshot {
  const where = visible(path);
  let documents: unknown[];
  if (extname(path).toLowerCase() === '.json') {
    try {
      documents = [JSON.parse(text)];
    } catch (err) {
      throw new DoctorError(`snapshot ${where}: invalid JSON: ${visible((err as Error).message)}`);
    }
  } else {
    try {
      documents = yaml.loadAll(text, null, { maxDepth: MAX_DEPTH });
    } catch (err) {
      const e = err as { reason?: string; mark?: { line: number; column: number } };
      const at = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
      throw new DoctorError(`snapshot ${where}: invalid YAML${at}: ${visible(e.reason ?? (err as Error).message)}`);
    }
    // Aliases cost nothing here but their expanded size everywhere the data is walked or printed.
    if (text.includes('*')) {
      documents.forEach((doc, i) => {
        if (expandedSize(doc) > MAX_EXPANDED_NODES) {
          throw new DoctorError(
            `snapshot ${where}: document ${i + 1} uses YAML aliases that expand to more than ${MAX_EXPANDED_NODES} nodes; kubectl never writes aliases, so this is not a dump`,
          );
        }
      });
    }
  }
  const parsed: ParsedSnapshot = { objects: [], claims: [], complete: false, dumps: [] };
  documents.forEach((doc, i) => {
    if (depthExceeds(doc, MAX_DEPTH))
      throw new DoctorError(`snapshot ${where}: nested deeper than ${MAX_DEPTH} levels; this is not a Kubernetes dump`);
    const d = doc as Record<string, unknown> | null;
    if (typeof d === 'object' && d !== null && d.apiVersion === COVERAGE_API_VERSION && d.kind === COVERAGE_KIND) {
      if (isDumpManifest(d)) parsed.dumps.push(parseDumpManifest(d, `snapshot ${where}: document ${i + 1}`));
      else readCoverageDocument(d, `snapshot ${where}: document ${i + 1}`, parsed);
      return;
    }
    const objects = expandDocument(doc);
    pushAll(parsed.objects, objects);
    if (isList(doc)) parsed.claims.push(...listClaims(doc as Record<string, unknown>, objects));
  });
  parsed.claims.push(...layoutClaims(path, documents));
  return parsed;
}

const SUPPORT_BUNDLE_KIT = /(?:^|[/:])yamls\/(?:namespaced\/([^/]+)|cluster)\/(?:(.+)\/)?([^/]+)\.ya?ml$/;
const CLUSTER_INFO_DUMP =
  /(?:^|[/:])([^/]+)\/(events|replication-controllers|services|daemonsets|deployments|replicasets|pods)\.(?:json|ya?ml)$/;
const CLUSTER_INFO_FILES: Record<string, { resource: string; group: string; list: string }> = {
  events: { resource: 'events', group: '', list: 'EventList' },
  'replication-controllers': { resource: 'replicationcontrollers', group: '', list: 'ReplicationControllerList' },
  services: { resource: 'services', group: '', list: 'ServiceList' },
  daemonsets: { resource: 'daemonsets', group: 'apps', list: 'DaemonSetList' },
  deployments: { resource: 'deployments', group: 'apps', list: 'DeploymentList' },
  replicasets: { resource: 'replicasets', group: 'apps', list: 'ReplicaSetList' },
  pods: { resource: 'pods', group: '', list: 'PodList' },
};

/** What a file covers by where a bundle tool put it (see SnapshotCoverage), even when its list is empty. */
function layoutClaims(path: string, documents: unknown[]): CoverageClaim[] {
  const lists = documents.filter(isList) as Record<string, unknown>[];
  if (lists.length === 0) {
    // support-bundle-kit writes `items: null` for an empty list (its toObjCommon).
    const nullItems = documents.some(
      (d) =>
        typeof d === 'object' &&
        d !== null &&
        (d as Record<string, unknown>).kind === 'List' &&
        (d as Record<string, unknown>).items === null,
    );
    if (!nullItems) return [];
  }
  const bundle = SUPPORT_BUNDLE_KIT.exec(path);
  if (bundle) {
    const [, namespace, groupVersion, resource] = bundle;
    // `v1` is the core group, `<group>/<version>` any other; a single other segment is the older layout's topic.
    const group = groupVersion === 'v1' ? '' : /^[^/]+\/v\d+[a-z0-9]*$/.test(groupVersion ?? '') ? groupVersion!.split('/')[0] : undefined;
    return [
      { plural: { resource: resource!, ...(group !== undefined ? { group } : {}) }, ...(namespace !== undefined ? { namespace } : {}) },
    ];
  }
  const prov = RANCHER_PROV.exec(path);
  if (prov) return [{ resource: prov[1]! }];
  const dump = CLUSTER_INFO_DUMP.exec(path);
  const file = dump ? CLUSTER_INFO_FILES[dump[2]!] : undefined;
  if (dump && file && lists.some((l) => l.kind === file.list))
    return [{ plural: { resource: file.resource, group: file.group }, namespace: dump[1]! }];
  return [];
}

function isList(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  const d = doc as Record<string, unknown>;
  return Array.isArray(d.items) && (typeof d.kind !== 'string' || d.kind.endsWith('List'));
}

/** What a List covers: the kinds of its items, in the one namespace they share or in every one (SnapshotCoverage). */
function listClaims(list: Record<string, unknown>, objects: KubeObject[]): CoverageClaim[] {
  const claims = new Map<string, CoverageClaim>();
  const namespaces = new Set(objects.flatMap((o) => (o.metadata.namespace !== undefined ? [o.metadata.namespace] : [])));
  const onlyNamespace = namespaces.size === 1 ? [...namespaces][0] : undefined;
  for (const obj of objects) {
    const groupKind = `${groupOf(obj.apiVersion)}/${obj.kind}`;
    if (claims.has(groupKind)) continue;
    claims.set(
      groupKind,
      obj.metadata.namespace !== undefined && onlyNamespace !== undefined ? { groupKind, namespace: onlyNamespace } : { groupKind },
    );
  }
  // An empty typed list (`kind: NodeList`) still names its kind; only a cluster-scoped one is known whole.
  if (objects.length === 0 && typeof list.kind === 'string' && list.kind !== 'List' && typeof list.apiVersion === 'string') {
    const groupKind = `${groupOf(list.apiVersion)}/${list.kind.slice(0, -'List'.length)}`;
    const type = builtInTypes.find((t) => `${t.group}/${t.kind}` === groupKind);
    if (type !== undefined && !type.namespaced) claims.set(groupKind, { groupKind });
  }
  return [...claims.values()];
}

function readCoverageDocument(doc: Record<string, unknown>, where: string, parsed: ParsedSnapshot): void {
  const bad = (what: string) =>
    new DoctorError(`${where}: ${COVERAGE_KIND} ${what}; write complete: true or resources: [{resource: secrets, namespaces: [ns]}]`);
  if (doc.complete !== undefined && typeof doc.complete !== 'boolean') throw bad('complete is not true or false');
  parsed.complete ||= doc.complete === true;
  if (doc.resources === undefined) return;
  if (!Array.isArray(doc.resources)) throw bad('resources is not a list');
  for (const entry of doc.resources as unknown[]) {
    const e = entry as { resource?: unknown; namespaces?: unknown } | null;
    if (typeof e !== 'object' || e === null || typeof e.resource !== 'string' || e.resource === '')
      throw bad('has an entry without a resource name');
    if (e.namespaces === undefined) {
      parsed.claims.push({ resource: e.resource });
    } else if (Array.isArray(e.namespaces) && e.namespaces.every((n) => typeof n === 'string')) {
      for (const namespace of e.namespaces as string[]) parsed.claims.push({ resource: e.resource, namespace });
    } else {
      throw bad(`has namespaces for ${visible(e.resource)} that are not a list of names`);
    }
  }
}

function pluralName(plural: { resource: string; group?: string }, types: ResourceType[]): string | undefined {
  if (plural.group !== undefined) return resourceName({ group: plural.group, resource: plural.resource });
  const named = types.filter((t) => t.resource === plural.resource);
  return named.length === 1 ? resourceName(named[0]!) : undefined;
}

/** A list a dump holds in full: of one namespace (undefined: every one), with a label selector, or only metadata. */
interface CoveredScope {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  metadataOnly: boolean;
}

/** Whether a list of `scope` holds everything a read of `type` in `namespace` with `read`'s selector and projection asks for. */
function scopeServes(
  scope: CoveredScope,
  type: ResourceType,
  namespace: string | undefined,
  read: { metadataOnly?: boolean; labelSelector?: string },
): boolean {
  return (
    (scope.namespace === undefined || !type.namespaced || scope.namespace === namespace) &&
    (scope.labelSelector === undefined || scope.labelSelector === read.labelSelector) &&
    (!scope.metadataOnly || read.metadataOnly === true)
  );
}

function coveredTypes(claims: CoverageClaim[], typeByKind: Map<string, ResourceType>): Map<string, CoveredScope[]> {
  const covered = new Map<string, CoveredScope[]>();
  const types = [...typeByKind.values()];
  for (const claim of claims) {
    const type = claim.groupKind !== undefined ? typeByKind.get(claim.groupKind) : undefined;
    const name = claim.resource ?? (type ? resourceName(type) : undefined) ?? (claim.plural ? pluralName(claim.plural, types) : undefined);
    if (name === undefined) continue;
    pushTo(covered, name, { namespace: claim.namespace, labelSelector: undefined, metadataOnly: false });
  }
  return covered;
}

/** A document may be one object, a `List`/`*List` with `items`, or (support bundles) a bare array. */
function expandDocument(doc: unknown): KubeObject[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => expandDocument(d));
  if (typeof doc !== 'object' || doc === null) return [];
  const d = doc as Record<string, unknown>;
  if (Array.isArray(d.items) && (typeof d.kind !== 'string' || d.kind.endsWith('List'))) {
    // Typed lists from the API (PodList) leave apiVersion/kind off their items.
    const itemKind = typeof d.kind === 'string' && d.kind !== 'List' ? d.kind.slice(0, -'List'.length) : undefined;
    return d.items.flatMap((item) => {
      if (typeof item === 'object' && item !== null && itemKind !== undefined) {
        const i = item as Record<string, unknown>;
        i.apiVersion ??= d.apiVersion;
        i.kind ??= itemKind;
      }
      return expandDocument(item);
    });
  }
  return isKubeObject(doc) ? [doc] : [];
}

/**
 * A dump's discovery. A custom type it knows nothing of is not served when the dump covers CRDs; otherwise it may
 * well be served, so it is found (and its list fails as not in the snapshot).
 */
class SnapshotDiscovery extends Discovery {
  readonly #crdsCovered: boolean;

  constructor(types: ResourceType[], crdsCovered: boolean) {
    super(types);
    this.#crdsCovered = crdsCovered;
  }

  override find(name: string, version?: string): ResourceType | undefined {
    const found = super.find(name, version);
    if (found !== undefined || this.#crdsCovered) return found;
    const { group, resource } = parseResourceName(name);
    if (BUILT_IN_GROUPS.has(group)) return undefined;
    return { group, version: version ?? '', resource, kind: '', namespaced: true, verbs: [] };
  }
}

/** Built-in types count as served; a custom type counts when the dump holds its CRD or any of its objects. */
function snapshotTypes(objects: KubeObject[]): ResourceType[] {
  const types = new Map<string, ResourceType>();
  const add = (type: ResourceType) => {
    const key = resourceName(type);
    if (!types.has(key)) types.set(key, type);
  };
  for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io')) {
    const group = field(crd, 'spec', 'group');
    const names = field(crd, 'spec', 'names') as { plural?: string; kind?: string; singular?: unknown; shortNames?: unknown } | undefined;
    const versions = (field(crd, 'spec', 'versions') as { name?: string; served?: boolean; storage?: boolean }[] | undefined) ?? [];
    if (typeof group !== 'string' || !names?.plural || !names.kind) continue;
    const served = versions.filter((v) => v.served !== false && v.name);
    const preferred = served.find((v) => v.storage) ?? served[0];
    add({
      group,
      version: preferred?.name ?? 'v1',
      resource: names.plural,
      kind: names.kind,
      namespaced: field(crd, 'spec', 'scope') !== 'Cluster',
      verbs: [],
      ...(typeof names.singular === 'string' && names.singular ? { singular: names.singular } : {}),
      ...(Array.isArray(names.shortNames) ? { shortNames: names.shortNames.filter((n): n is string => typeof n === 'string') } : {}),
    });
  }
  for (const type of builtInTypes) add(type);
  const knownKinds = new Set([...types.values()].map((t) => `${t.group}/${t.kind}`));
  for (const obj of objects) {
    const group = groupOf(obj.apiVersion);
    if (knownKinds.has(`${group}/${obj.kind}`) || BUILT_IN_GROUPS.has(group)) continue;
    knownKinds.add(`${group}/${obj.kind}`);
    add({
      group,
      version: versionOf(obj.apiVersion),
      resource: guessResourceForKind(obj.kind),
      kind: obj.kind,
      namespaced: obj.metadata.namespace !== undefined,
      verbs: [],
    });
  }
  return [...types.values()];
}
