// What a scan keeps of the objects it lists: only what rules read. Applied by the sources to each object as its page
// arrives (ListRequest.keep), so a scan holds what rules use, not every page it was sent. `kubectl doctor dump` keeps
// every object (trimmed), so a dump serves any rule later; a scan keeps of a `*` read only the subset its rules
// declare (ResourceRead.subset) and counts the rest, and of a type its rules read whole only the fields they declare
// (ResourceRead.fields, projection below), so its memory follows what is broken, not the cluster's size. Which list
// keeps what is decided in src/engine/scan.ts (keeping); test/engine/keep-equivalence.test.ts proves it loses nothing.
import type { KubeObject, ObjectMeta, OwnerReference } from '../kube/object.ts';
import type { LabelMatcher } from '../kube/selector.ts';
import type { Subset } from './rule.ts';

/** kubectl apply's copy of the object as last applied: a second copy of the object that no rule reads. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const NO_REFERENCES: readonly OwnerReference[] = Object.freeze([]);

/** How an ownerReference's blockOwnerDeletion is written in JSON text. */
const BLOCK_OWNER_DELETION_NEEDLE = '"blockOwnerDeletion"';

/** The finalizer of a foreground deletion: the garbage collector deletes the dependents with blockOwnerDeletion first. */
const FOREGROUND_DELETION = 'foregroundDeletion';

/**
 * The object without what no rule reads of an object that is not being deleted: `metadata.managedFields` (who set
 * which field; core/stuck-deletion reads it only to name who added a finalizer of an object being deleted) and
 * kubectl's last-applied annotation. An object being deleted is kept whole: every rule that reports one shows it as
 * it is. Returns a new object when it trims (never changes `obj`, which a dump source still holds), built with
 * literals rather than `delete`, so the objects kept stay in V8's compact (fast-properties) form.
 */
export function trimUnread(obj: KubeObject): KubeObject {
  const metadata = obj.metadata;
  if (metadata.deletionTimestamp !== undefined) return obj;
  const annotations = metadata.annotations;
  const lastApplied = annotations !== undefined && annotations !== null && Object.hasOwn(annotations, LAST_APPLIED);
  if (metadata.managedFields === undefined && !lastApplied) return obj;
  const { managedFields: _managed, annotations: _annotations, ...rest } = metadata;
  let kept = annotations;
  if (lastApplied) {
    const { [LAST_APPLIED]: _lastApplied, ...others } = annotations!;
    kept = Object.keys(others).length > 0 ? others : undefined;
  }
  return { ...obj, metadata: kept === undefined ? rest : ({ ...rest, annotations: kept } as ObjectMeta) };
}

/**
 * How a map key (with one of `values`) is written in JSON text: `"key":` (`"key":"value"`), also with `/` escaped
 * (`\/`), which JSON allows and kube-apiserver does not do (metadata-page.ts looks for those only where a page has one).
 */
export function jsonKeyNeedles(key: string, values?: readonly string[]): string[] {
  const written = values === undefined ? [`${JSON.stringify(key)}:`] : values.map((v) => `${JSON.stringify(key)}:${JSON.stringify(v)}`);
  return written.flatMap((w) => (w.includes('/') ? [w, w.replaceAll('/', '\\/')] : [w]));
}

/** The subsets of several `*` reads sharing the same lists: an object any of them looks at is kept. */
export function unionOf(subsets: readonly Subset[]): Subset {
  const annotated = [...new Set(subsets.flatMap((s) => s.annotated ?? []))];
  return {
    deleting: subsets.some((s) => s.deleting === true),
    inDeletingNamespaces: subsets.some((s) => s.inDeletingNamespaces === true),
    blockingDependents: subsets.some((s) => s.blockingDependents === true),
    ...(annotated.length > 0 ? { annotated } : {}),
  };
}

/**
 * Keeps the subset of a scan's `*` lists (ListRequest.keep) that its rules declare, deciding each object as its
 * page arrives and finishing once every list is in (prune). Two parts of a subset depend on other lists: which
 * namespaces are being deleted (the namespaces list) and which objects a foreground deletion waits for (their
 * owners may be in any list). Until the namespaces list is in (and for good when it cannot be listed), an object of
 * any namespace is kept; an object with an ownerReference that blocks its owner's deletion is kept as a reference
 * (kind, namespace, name and those ownerReferences) until all lists are in; prune then drops what turned out not to
 * be needed, by the same tests (#looksAt, #blocksForegroundDeletion). Lists every object of which a rule reads are
 * kept whole (trimUnread), but seen here too, for the owners and namespaces being deleted.
 */
export class SubsetKeeper {
  readonly #subset: Subset;
  readonly #annotated: readonly string[];
  /** Undefined until the namespaces list is in (and forever when it could not be listed). */
  #deletingNamespaces: Set<string> | undefined;
  readonly #seenDeletingNamespaces = new Set<string>();
  /** UIDs of objects being deleted in the foreground, seen in any list so far. */
  readonly #foregroundOwners = new Set<string>();

  constructor(subset: Subset) {
    this.#subset = subset;
    this.#annotated = subset.annotated ?? [];
  }

  /** Keeps every object of a list a rule reads whole (trimmed), noting the deletions the subset depends on. */
  readonly whole = (obj: KubeObject): KubeObject => {
    if (obj.metadata.deletionTimestamp !== undefined) this.#noteDeleting(obj);
    return trimUnread(obj);
  };

  /**
   * What the `*` reads keep of one object of a list no read of its type keeps whole: the object, a reference, or
   * nothing. A reference whatever the order the lists come in (the owner's list before or after), so what is kept of
   * a dependent is decided by its name, namespace and ownerReferences alone (referenceNeedles).
   */
  readonly subset = (obj: KubeObject): KubeObject | undefined => {
    const metadata = obj.metadata;
    if (metadata.deletionTimestamp !== undefined) this.#noteDeleting(obj);
    // An object being deleted comes back as it is (trimUnread keeps it whole).
    if (this.#looksAt(metadata)) return trimUnread(obj);
    const blocking = this.#blocking(metadata);
    if (blocking.length === 0) return undefined;
    const namespace = metadata.namespace !== undefined ? { namespace: metadata.namespace } : {};
    return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: metadata.name, ...namespace, ownerReferences: [...blocking] } };
  };

  /**
   * Strings one of which the JSON text of an object `subset` keeps must contain, as far as the lists read so far tell
   * (ListRequest.keepNeedles): its deletionTimestamp key (an object being deleted is always looked at: it may be a
   * namespace or a foreground owner the subset depends on), its blockOwnerDeletion key, one of the annotation keys, or
   * the namespace of a namespace being deleted. Undefined while that last cannot be told (the namespaces list is not
   * in). kube-apiserver writes keys and names (DNS labels) as they are.
   */
  needles(): readonly string[] | undefined {
    const needles = ['"deletionTimestamp"'];
    if (this.#subset.blockingDependents) needles.push(BLOCK_OWNER_DELETION_NEEDLE);
    for (const key of this.#annotated) needles.push(...jsonKeyNeedles(key));
    if (this.#subset.inDeletingNamespaces) {
      if (this.#deletingNamespaces === undefined) return undefined;
      for (const namespace of this.#deletingNamespaces) needles.push(`"namespace":${JSON.stringify(namespace)}`);
    }
    return needles;
  }

  /**
   * Of needles(), those that alone mean `subset` reads no more of an object than its name, namespace and
   * ownerReferences (ListRequest.referenceNeedles): an object holding no other needle is not being deleted, carries
   * none of the annotations and is in no namespace being deleted, so it is a reference or nothing.
   */
  referenceNeedles(): readonly string[] {
    return this.#subset.blockingDependents ? [BLOCK_OWNER_DELETION_NEEDLE] : [];
  }

  /** The namespaces list is in: from now on only the contents of namespaces being deleted are kept. */
  namespacesListed(): void {
    this.#deletingNamespaces = new Set(this.#seenDeletingNamespaces);
  }

  /** What a list only `*` reads use keeps once every list is in: what the subset really covers. */
  prune(items: readonly KubeObject[], selected: readonly LabelMatcher[] = []): KubeObject[] {
    return items.filter(
      ({ metadata }) =>
        selected.some((matches) => matches(metadata.labels)) ||
        this.#looksAt(metadata) ||
        this.#blocksForegroundDeletion(this.#blocking(metadata)),
    );
  }

  /**
   * Whether the subset keeps an object whole, as far as the lists read so far tell. What it looks at, needles() must
   * name: a live scan parses no object without one (test/engine/subset.test.ts checks).
   */
  #looksAt(metadata: ObjectMeta): boolean {
    return (
      (metadata.deletionTimestamp !== undefined && this.#subset.deleting === true) ||
      this.#isAnnotated(metadata) ||
      this.#inDeletingNamespace(metadata)
    );
  }

  #blocksForegroundDeletion(blocking: readonly OwnerReference[]): boolean {
    for (const ref of blocking) if (this.#foregroundOwners.has(ref.uid)) return true;
    return false;
  }

  /** The ownerReferences that block their owner's deletion, when the subset keeps such dependents. */
  #blocking(metadata: ObjectMeta): readonly OwnerReference[] {
    const refs = metadata.ownerReferences;
    return this.#subset.blockingDependents && refs !== undefined ? refs.filter((ref) => ref.blockOwnerDeletion === true) : NO_REFERENCES;
  }

  #noteDeleting(obj: KubeObject): void {
    const { metadata } = obj;
    if (obj.kind === 'Namespace' && obj.apiVersion === 'v1' && typeof metadata.name === 'string')
      this.#seenDeletingNamespaces.add(metadata.name);
    if (typeof metadata.uid === 'string' && (metadata.finalizers ?? []).includes(FOREGROUND_DELETION))
      this.#foregroundOwners.add(metadata.uid);
  }

  #isAnnotated(metadata: ObjectMeta): boolean {
    const annotations = metadata.annotations;
    if (annotations === undefined) return false;
    for (const key of this.#annotated) if (Object.hasOwn(annotations, key)) return true;
    return false;
  }

  /** True for an object in a namespace being deleted, and for any namespaced object while that is not known. */
  #inDeletingNamespace(metadata: ObjectMeta): boolean {
    if (!this.#subset.inDeletingNamespaces || metadata.namespace === undefined) return false;
    return this.#deletingNamespaces === undefined || this.#deletingNamespaces.has(metadata.namespace);
  }
}

/** A tree of the paths to keep: `true` keeps the value whole; `[]` applies its tree to every element of a list. */
interface FieldTree {
  [key: string]: FieldTree | true;
}

/** A FieldTree as arrays, made once per read: picking runs for every object, mostly before V8 optimizes it. */
interface PickNode {
  keys: string[];
  subs: (PickNode | true)[];
  /** For a list: what to keep of each element (`[]`). */
  each: PickNode | true | undefined;
}

/**
 * Keeps of an object its apiVersion, kind, metadata and the fields `paths` name (ResourceRead.fields), copying
 * nothing else; a path through a value of another shape (a string where a map was expected) keeps that value as it
 * is, so a rule sees what the API server sent, never a made-up shape.
 */
export function projection(paths: readonly string[]): (obj: KubeObject) => KubeObject {
  const tree: FieldTree = {};
  for (const path of paths) {
    let node = tree;
    const parts = fieldPathParts(path);
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) node[part] = true;
      else if (node[part] !== true) node = (node[part] ??= {}) as FieldTree;
      else break;
    }
  }
  const root = compile(tree);
  return (obj) => {
    const kept = pick(obj, root) as Record<string, unknown>;
    kept.apiVersion = obj.apiVersion;
    kept.kind = obj.kind;
    kept.metadata = obj.metadata;
    return kept as unknown as KubeObject;
  };
}

/** The steps of a declared field's path: `spec.containers[].image` -> spec, containers, [], image. */
export function fieldPathParts(path: string): string[] {
  return path.replace(/\[\]/g, '.[]').split('.');
}

function compile(tree: FieldTree): PickNode {
  const keys = Object.keys(tree).filter((key) => key !== '[]');
  const each = tree['[]'];
  return {
    keys,
    subs: keys.map((key) => (tree[key] === true ? true : compile(tree[key] as FieldTree))),
    each: each === undefined || each === true ? each : compile(each),
  };
}

function pick(value: unknown, node: PickNode): unknown {
  if (Array.isArray(value)) {
    const each = node.each;
    if (each === undefined || each === true) return value;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = pick(value[i], each);
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  const { keys, subs } = node;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!Object.hasOwn(value, key)) continue;
    const sub = subs[i]!;
    const v = (value as Record<string, unknown>)[key];
    out[key] = sub === true ? v : pick(v, sub);
  }
  return out;
}
