import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { DoctorError } from '../errors.ts';
import { field, groupOf, isKubeObject, versionOf, type KubeObject } from '../kube/object.ts';
import { parseLabelSelector } from '../kube/selector.ts';
import { BUILT_IN_GROUPS, builtInTypes, guessResourceForKind, resourceName, type ResourceType } from './resources.ts';
import { Discovery, type ClusterSource, type ListOutcome, type ListRequest, type SourceInfo } from './source.ts';

const SNAPSHOT_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Reads a saved dump: `kubectl get -o yaml|json` output, multi-document YAML, `List` objects and support-bundle
 * trees. Every rule runs on it exactly as on a live cluster, which is also how rule tests feed fixtures.
 */
export class SnapshotSource implements ClusterSource {
  readonly #paths: string[];
  readonly #namespace: string | undefined;
  readonly #objects: KubeObject[];
  readonly #discovery: Discovery;
  readonly #byType = new Map<string, KubeObject[]>();
  #lists = 0;

  constructor(objects: KubeObject[], options: { paths?: string[]; namespace?: string } = {}) {
    this.#paths = options.paths ?? [];
    this.#namespace = options.namespace;
    this.#objects = objects;
    this.#discovery = snapshotDiscovery(objects);
    const typeByKind = new Map(this.#discovery.types.map((t) => [`${t.group}/${t.kind}`, t]));
    for (const obj of objects) {
      const type = typeByKind.get(`${groupOf(obj.apiVersion)}/${obj.kind}`);
      if (!type) continue;
      const key = resourceName(type);
      const list = this.#byType.get(key) ?? [];
      list.push(obj);
      this.#byType.set(key, list);
    }
  }

  /** Reads files and directories (recursively); a dump with no objects at all is an error, not a clean scan. */
  static fromPaths(paths: string[], options: { namespace?: string } = {}): SnapshotSource {
    const resolved = paths.map((p) => resolve(p));
    const objects = resolved.flatMap(readSnapshotPath);
    if (objects.length === 0) {
      throw new DoctorError(`snapshot ${paths.join(', ')}: no Kubernetes objects found; pass files or directories holding kubectl get -o yaml|json output`);
    }
    return new SnapshotSource(objects, { ...options, paths: resolved });
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
    const matches = request.labelSelector ? parseLabelSelector(request.labelSelector) : () => true;
    const namespace = request.type.namespaced ? request.namespace : undefined;
    const items = (this.#byType.get(resourceName(request.type)) ?? [])
      .filter((obj) => namespace === undefined || obj.metadata.namespace === namespace)
      .filter((obj) => matches(obj.metadata.labels))
      .map((obj) => request.metadataOnly ? { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata } : obj);
    return { ok: true, items: structuredClone(items), pages: 1 };
  }

  stats(): Record<string, number> {
    return { objects: this.#objects.length, lists: this.#lists };
  }
}

function readSnapshotPath(path: string): KubeObject[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new DoctorError(`snapshot ${path}: no such file or directory; pass a dump file or directory to --snapshot`);
  }
  if (stat.isDirectory()) {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith('.'))
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((entry) => {
        const child = join(path, entry.name);
        if (entry.isDirectory()) return readSnapshotPath(child);
        return SNAPSHOT_EXTENSIONS.has(extname(entry.name).toLowerCase()) ? readSnapshotFile(child) : [];
      });
  }
  return readSnapshotFile(path);
}

/** Parses one file into objects; any syntax error names the file and the line. */
export function readSnapshotFile(path: string): KubeObject[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DoctorError(`snapshot ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseSnapshotText(text, path);
}

export function parseSnapshotText(text: string, path: string): KubeObject[] {
  let documents: unknown[];
  if (extname(path).toLowerCase() === '.json') {
    try {
      documents = [JSON.parse(text)];
    } catch (err) {
      throw new DoctorError(`snapshot ${path}: invalid JSON: ${(err as Error).message}`);
    }
  } else {
    try {
      documents = yaml.loadAll(text);
    } catch (err) {
      const e = err as { reason?: string; mark?: { line: number; column: number } };
      const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
      throw new DoctorError(`snapshot ${path}: invalid YAML${where}: ${e.reason ?? (err as Error).message}`);
    }
  }
  return documents.flatMap((doc) => expandDocument(doc));
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

/** Built-in types count as served; a custom type counts when the dump holds its CRD or any of its objects. */
function snapshotDiscovery(objects: KubeObject[]): Discovery {
  const types = new Map<string, ResourceType>();
  const add = (type: ResourceType) => {
    const key = resourceName(type);
    if (!types.has(key)) types.set(key, type);
  };
  for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io')) {
    const group = field(crd, 'spec', 'group');
    const names = field(crd, 'spec', 'names') as { plural?: string; kind?: string } | undefined;
    const versions = (field(crd, 'spec', 'versions') as { name?: string; served?: boolean; storage?: boolean }[] | undefined) ?? [];
    if (typeof group !== 'string' || !names?.plural || !names.kind) continue;
    const served = versions.filter((v) => v.served !== false && v.name);
    const preferred = served.find((v) => v.storage) ?? served[0];
    add({
      group, version: preferred?.name ?? 'v1', resource: names.plural, kind: names.kind,
      namespaced: field(crd, 'spec', 'scope') !== 'Cluster', verbs: [],
    });
  }
  for (const type of builtInTypes) add(type);
  const knownKinds = new Set([...types.values()].map((t) => `${t.group}/${t.kind}`));
  for (const obj of objects) {
    const group = groupOf(obj.apiVersion);
    if (knownKinds.has(`${group}/${obj.kind}`) || BUILT_IN_GROUPS.has(group)) continue;
    knownKinds.add(`${group}/${obj.kind}`);
    add({
      group, version: versionOf(obj.apiVersion), resource: guessResourceForKind(obj.kind), kind: obj.kind,
      namespaced: obj.metadata.namespace !== undefined, verbs: [],
    });
  }
  return new Discovery([...types.values()]);
}
