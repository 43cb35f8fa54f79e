/**
 * The shapes rules rely on, checked once where objects enter (live lists and dumps alike), so one object written
 * wrongly cannot make a rule throw and hide every other object from it. An object that fails is skipped and
 * reported (Report `skippedObjects`, a warning on stderr), and the rules that read its type are incomplete. The
 * objects of a metadata-only page a live scan counts without parsing (metadata-page.ts) are not checked: no rule
 * reads them.
 */
import type { KubeObject } from '../kube/object.ts';

/** Deeper than any real object (CRD schemas reach a few dozen levels); deeper input would overflow recursion. */
export const MAX_DEPTH = 200;

export interface SkippedObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  /** What is wrong with it, e.g. `metadata.labels is not a map of strings`. */
  reason: string;
  /** The dump file it came from. */
  file?: string;
}

/** Checked for every object of every list: a loop over the values, without the array Object.values() makes. */
function isMapOfStrings(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

function isListOfStrings(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) if (typeof item !== 'string') return false;
  return true;
}

function isListOfReferences(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const ref of value as unknown[]) {
    if (!isPlainObject(ref)) return false;
    if (typeof ref.apiVersion !== 'string' || typeof ref.kind !== 'string' || typeof ref.name !== 'string' || typeof ref.uid !== 'string')
      return false;
  }
  return true;
}

/**
 * Why `obj` cannot be handed to rules, or undefined when it can. Empty (`null`) labels, annotations, finalizers
 * and owner references, which YAML writes for an empty key, are removed rather than rejected.
 */
export function malformation(obj: KubeObject): string | undefined {
  return malformedMetadata(obj) ?? (depthExceeds(obj, MAX_DEPTH) ? TOO_DEEP : undefined);
}

export const TOO_DEEP = `nested deeper than ${MAX_DEPTH} levels`;

/**
 * malformation() without the walk to the object's depth: what must hold before anything reads its metadata. Run
 * for every object of every list, mostly before V8 has optimized it, so each field is read by name (a loop over key
 * names makes every read a slow keyed one).
 */
export function malformedMetadata(obj: KubeObject): string | undefined {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return 'apiVersion and kind must be strings';
  const meta = obj.metadata as unknown;
  if (!isPlainObject(meta)) return 'metadata is not a mapping';
  if (meta.labels === null) delete meta.labels;
  if (meta.annotations === null) delete meta.annotations;
  if (meta.finalizers === null) delete meta.finalizers;
  if (meta.ownerReferences === null) delete meta.ownerReferences;
  if (!isOptionalString(meta.name)) return 'metadata.name is not a string';
  if (!isOptionalString(meta.namespace)) return 'metadata.namespace is not a string';
  if (!isOptionalString(meta.uid)) return 'metadata.uid is not a string';
  if (!isOptionalString(meta.resourceVersion)) return 'metadata.resourceVersion is not a string';
  if (!isOptionalString(meta.creationTimestamp)) return 'metadata.creationTimestamp is not a string';
  if (!isOptionalString(meta.deletionTimestamp)) return 'metadata.deletionTimestamp is not a string';
  if (!isOptionalString(meta.generateName)) return 'metadata.generateName is not a string';
  if (meta.labels !== undefined && !isMapOfStrings(meta.labels)) return 'metadata.labels is not a map of strings';
  if (meta.annotations !== undefined && !isMapOfStrings(meta.annotations)) return 'metadata.annotations is not a map of strings';
  if (meta.finalizers !== undefined && !isListOfStrings(meta.finalizers)) return 'metadata.finalizers is not a list of strings';
  if (meta.ownerReferences !== undefined && !isListOfReferences(meta.ownerReferences)) {
    return 'metadata.ownerReferences is not a list of references with string apiVersion, kind, name and uid';
  }
  if (!isOptionalNumber(meta.generation)) return 'metadata.generation is not a number';
  if (!isOptionalNumber(meta.deletionGracePeriodSeconds)) return 'metadata.deletionGracePeriodSeconds is not a number';
  return undefined;
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function isOptionalNumber(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'number';
}

/** A report entry for a skipped object: what can be said of it, with strings only where they are strings. */
export function skippedEntry(obj: unknown, reason: string, file?: string): SkippedObject {
  const o = isPlainObject(obj) ? obj : {};
  const meta = isPlainObject(o.metadata) ? o.metadata : {};
  const entry: SkippedObject = {
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
    kind: typeof o.kind === 'string' ? o.kind : '',
    reason,
  };
  if (typeof meta.namespace === 'string') entry.namespace = meta.namespace;
  if (typeof meta.name === 'string') entry.name = meta.name;
  if (file !== undefined) entry.file = file;
  return entry;
}

/**
 * True when `value` nests deeper than `limit`. Iterative, so hostile input cannot overflow the stack here, and
 * each shared node (a YAML alias) is visited once at its deepest position seen first: linear in distinct nodes.
 */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Map<object, number>();
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    const before = seen.get(node);
    if (before !== undefined && before >= depth) continue;
    seen.set(node, depth);
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * depthExceeds for a value parsed from JSON, which is a tree (JSON.parse never shares a node, and what a scan keeps
 * of an object is built from its parts): without the bookkeeping shared YAML nodes need, so the walk over every
 * object a live scan keeps costs one visit per node.
 */
export function treeDepthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const nodes: object[] = [value];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(node)) {
      for (const child of node as unknown[]) {
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * The number of nodes `value` has once every shared node (YAML alias) is counted each time it is referenced,
 * computed without expanding anything; Infinity for a cycle. A billion-laughs document is small on disk and
 * in memory, but anything that walks or prints it (string interpolation, JSON output) pays the expanded size.
 */
export function expandedSize(value: unknown): number {
  const sizes = new Map<object, number>();
  const visiting = new Set<object>();
  const stack: { node: object; expanded: boolean }[] = [];
  if (typeof value === 'object' && value !== null) stack.push({ node: value, expanded: false });
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const children = (Array.isArray(top.node) ? top.node : Object.values(top.node)).filter(
      (c): c is object => typeof c === 'object' && c !== null,
    );
    if (!top.expanded) {
      top.expanded = true;
      visiting.add(top.node);
      for (const child of children) {
        if (visiting.has(child)) return Infinity;
        if (!sizes.has(child)) stack.push({ node: child, expanded: false });
      }
      continue;
    }
    stack.pop();
    visiting.delete(top.node);
    let size = 1;
    for (const child of children) size += sizes.get(child) ?? 0;
    sizes.set(top.node, Math.min(size, Number.MAX_SAFE_INTEGER));
  }
  return typeof value === 'object' && value !== null ? (sizes.get(value) ?? 1) : 1;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
