import type { KubeObject } from '../kube/object.ts';
import type { Action, JsonPatchOp, WriteAction } from './actions.ts';

/**
 * Client-side application of the writes a plan makes. A server dry run stores nothing, so the second step on an
 * object would be checked against the unchanged live object; applying each step to the would-be object the
 * server returned lets the next step see the state the real run would (issue: dry runs refused valid plans).
 * The same functions derive what a write establishes, which the run checks afterwards (post-conditions).
 */

/** RFC 6901 JSON pointer lookup. */
export function pointer(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let cur: unknown = doc;
  for (const key of pointerKeys(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function pointerKeys(path: string): string[] {
  return path
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** `v` with object keys sorted, for comparing and keying JSON values. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export class PatchConflict extends Error {}

/** RFC 6902 add/replace/remove/test on a copy of `doc`; a failed `test` or a missing path throws PatchConflict. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let out = structuredClone(doc) as unknown;
  for (const op of ops) {
    if (op.op === 'test') {
      if (!deepEqual(pointer(out, op.path), op.value)) throw new PatchConflict(`${op.path} is not ${JSON.stringify(op.value)}`);
      continue;
    }
    const keys = pointerKeys(op.path);
    if (keys.length === 0 || op.path === '') {
      if (op.op === 'remove') throw new PatchConflict('cannot remove the whole document');
      out = structuredClone(op.value);
      continue;
    }
    const parent = pointer(out, `/${op.path.slice(1).split('/').slice(0, -1).join('/')}`.replace(/^\/$/, ''));
    const last = keys[keys.length - 1]!;
    if (parent === null || typeof parent !== 'object') throw new PatchConflict(`${op.path}: parent does not exist`);
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op !== 'add' && index >= parent.length)) {
        throw new PatchConflict(`${op.path}: no such array index`);
      }
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[index] = structuredClone(op.value);
      else parent.splice(index, 1);
      continue;
    }
    const record = parent as Record<string, unknown>;
    if (op.op !== 'add' && !(last in record)) throw new PatchConflict(`${op.path} does not exist`);
    if (op.op === 'remove') delete record[last];
    else record[last] = structuredClone(op.value);
  }
  return out as T;
}

/** RFC 7386 JSON merge patch on a copy of `doc`. */
export function applyMergePatch<T>(doc: T, patch: unknown): T {
  const merge = (target: unknown, p: unknown): unknown => {
    if (p === null || typeof p !== 'object' || Array.isArray(p)) return structuredClone(p);
    const out: Record<string, unknown> =
      target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
    for (const [key, value] of Object.entries(p)) {
      if (value === null) delete out[key];
      else out[key] = merge(out[key], value);
    }
    return out;
  };
  return merge(structuredClone(doc), patch) as T;
}

/** The object as the write would leave it (before server-side defaulting), or a PatchConflict. */
export function applyWrite(obj: KubeObject, action: WriteAction): KubeObject | undefined {
  switch (action.type) {
    case 'json-patch':
      return applyJsonPatch(
        obj,
        action.patch.filter((op) => op.path !== '/metadata/resourceVersion'),
      );
    case 'merge-patch': {
      const { resourceVersion: _rv, ...metadata } = (action.patch.metadata ?? {}) as Record<string, unknown>;
      return applyMergePatch(obj, { ...action.patch, ...(action.patch.metadata ? { metadata } : {}) });
    }
    case 'finalize-namespace':
      return applyMergePatch(obj, { spec: { finalizers: (action.body.spec as { finalizers?: unknown } | undefined)?.finalizers ?? [] } });
    case 'delete':
      return undefined;
  }
}

/** A JSON pointer as people read it: `/metadata/annotations/doctor.kubectl/poke`, not `~1`. */
function readable(path: string): string {
  return path.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** What a write establishes, checked against the object as it is afterwards. */
export interface Expectation {
  /** Human words: `/spec/paused is false`, `deleted`. */
  describe: string;
  holds(current: KubeObject | undefined): boolean;
}

/**
 * The post-condition a write establishes, derived from the write itself: the values it set are still set, what
 * it removed is still gone, a deleted object is gone or being deleted. A controller may legitimately change the
 * object after us (a status it recomputes): these say only that our own change was not undone.
 */
export function expectationsOf(action: WriteAction, uid: string | undefined): Expectation[] {
  const same = (o: KubeObject | undefined): o is KubeObject => o !== undefined && (uid === undefined || o.metadata.uid === uid);
  switch (action.type) {
    case 'delete':
      return [{ describe: 'deleted (gone or being deleted)', holds: (o) => !same(o) || o.metadata.deletionTimestamp !== undefined }];
    case 'finalize-namespace':
      return [
        {
          describe: 'spec.finalizers empty (or the namespace gone)',
          holds: (o) => !same(o) || ((o as { spec?: { finalizers?: unknown[] } }).spec?.finalizers ?? []).length === 0,
        },
      ];
    case 'merge-patch': {
      const leaves: { path: string; value: unknown }[] = [];
      const walk = (prefix: string, v: unknown) => {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
          for (const [k, child] of Object.entries(v)) walk(`${prefix}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, child);
        } else leaves.push({ path: prefix, value: v });
      };
      walk('', action.patch);
      return leaves
        .filter((l) => l.path !== '/metadata/resourceVersion')
        .map(({ path, value }) => ({
          describe: value === null ? `${readable(path)} is unset` : `${readable(path)} is ${JSON.stringify(value)}`,
          holds: (o) => same(o) && (value === null ? pointer(o, path) === undefined : deepEqual(pointer(o, path), value)),
        }));
    }
    case 'json-patch': {
      const out: Expectation[] = [];
      const tested = new Map<string, unknown>();
      for (const op of action.patch) {
        if (op.op === 'test') {
          tested.set(op.path, op.value);
          continue;
        }
        if (op.op === 'remove') {
          // What a write removed stays removed on an object that is gone. Removing the last finalizer of an object
          // being deleted is what makes the API server delete it (ShouldDeleteDuringUpdate, k8s.io/apiserver
          // pkg/registry/generic/registry/store.go), so there gone is the success, not an undone write.
          // Removing an array element by index (a finalizer): the removed value is what must stay gone.
          const parentPath = op.path.slice(0, op.path.lastIndexOf('/'));
          const removed = tested.get(op.path);
          if (/\/\d+$/.test(op.path) && removed !== undefined) {
            out.push({
              describe: `${readable(parentPath)} no longer holds ${JSON.stringify(removed)}`,
              holds: (o) => !same(o) || !asArray(pointer(o, parentPath)).some((x) => deepEqual(x, removed)),
            });
          } else if (!/\/\d+$/.test(op.path)) {
            out.push({ describe: `${readable(op.path)} is unset`, holds: (o) => !same(o) || pointer(o, op.path) === undefined });
          }
          continue;
        }
        if (op.path.endsWith('/-')) {
          const parentPath = op.path.slice(0, -2);
          out.push({
            describe: `${readable(parentPath)} holds ${JSON.stringify(op.value)}`,
            holds: (o) => same(o) && asArray(pointer(o, parentPath)).some((x) => deepEqual(x, op.value)),
          });
          continue;
        }
        out.push({
          describe: `${readable(op.path)} is ${JSON.stringify(op.value)}`,
          holds: (o) => same(o) && deepEqual(pointer(o, op.path), op.value),
        });
      }
      return out;
    }
  }
}

/** The post-conditions of a plan's writes, in words, as the Report states them. */
export function establishedBy(steps: readonly { action: Action }[]): string[] {
  return steps.flatMap(({ action }) =>
    action.type === 'manual' || action.type === 'checkpoint'
      ? []
      : expectationsOf(action, action.target.uid).map(
          (e) =>
            `${action.target.kind} ${action.target.namespace ? `${action.target.namespace}/` : ''}${action.target.name}${'subresource' in action && action.subresource === 'status' ? ' (status)' : ''}: ${e.describe}`,
        ),
  );
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
