import type { ActionTarget, JsonPatchOp } from '../../src/plan/actions.ts';
import { conditionsOf, field, groupOf, keyOf, type Condition, type KubeObject } from '../../src/kube/object.ts';
import { MINUTE_MS } from '../lib/age.ts';
import { objectLabel, type Step } from '../core/stuck-objects.ts';

/** Pauses reconciliation of the object that carries it (any value; `annotations.HasPaused`). */
export const PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';
/** Set by CAPI on the objects of a Cluster. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
/** Added by `clusterctl move` to each source object right before deleting it (v1.5.0+, PR #8322). */
export const DELETE_FOR_MOVE = 'clusterctl.cluster.x-k8s.io/delete-for-move';
/** Added by providers until they have paused their own resources; `clusterctl move` waits for it to go (~2 min). */
export const BLOCK_MOVE = 'clusterctl.cluster.x-k8s.io/block-move';
// `clusterctl.cluster.x-k8s.io/move` is a *label* that adds an object to a move; it says nothing about a move
// having run, so the rules never look at it.

export const CAPI_GROUP = 'cluster.x-k8s.io';
/** CAPI deletions younger than this are a move or a reconcile in progress (`--min-age` overrides). */
export const CAPI_MIN_AGE_MS = 5 * MINUTE_MS;

/** Objects of Cluster API and its providers: groups `cluster.x-k8s.io` and `*.cluster.x-k8s.io`, or the cluster-name label. */
export function isCapiObject(obj: KubeObject): boolean {
  const group = groupOf(obj.apiVersion);
  return group === CAPI_GROUP || group.endsWith(`.${CAPI_GROUP}`) || obj.metadata.labels?.[CLUSTER_NAME_LABEL] !== undefined;
}

export function isCluster(obj: KubeObject): boolean {
  return obj.kind === 'Cluster' && groupOf(obj.apiVersion) === CAPI_GROUP;
}

/** The name of the Cluster an object belongs to: itself, its cluster-name label, or an ownerReference to a Cluster. */
export function clusterNameOf(obj: KubeObject): string | undefined {
  if (isCluster(obj)) return obj.metadata.name;
  const label = obj.metadata.labels?.[CLUSTER_NAME_LABEL];
  if (label) return label;
  return obj.metadata.ownerReferences?.find((r) => r.kind === 'Cluster' && groupOf(r.apiVersion) === CAPI_GROUP)?.name;
}

/** Clusters (full objects: spec.paused and conditions) by namespace/name. */
export class Clusters {
  readonly #byKey: Map<string, KubeObject>;
  constructor(clusters: readonly KubeObject[]) {
    this.#byKey = new Map(clusters.map((c) => [keyOf({ namespace: c.metadata.namespace, name: c.metadata.name ?? '' }), c]));
  }

  /** `namespace/cluster` for an object whose Cluster is known by name, else undefined. */
  keyOf(obj: KubeObject): string | undefined {
    const name = clusterNameOf(obj);
    return name && obj.metadata.namespace ? `${obj.metadata.namespace}/${name}` : undefined;
  }

  /** The Cluster an object belongs to, when it exists. */
  of(obj: KubeObject): KubeObject | undefined {
    const key = this.keyOf(obj);
    return key ? this.#byKey.get(key) : undefined;
  }

  get(key: string): KubeObject | undefined {
    return this.#byKey.get(key);
  }

  all(): KubeObject[] {
    return [...this.#byKey.values()];
  }
}

/** What specPaused() and pausedSince() read of a Cluster: a read of Clusters for them declares these (and what else it reads). */
export const CLUSTER_PAUSE_FIELDS = ['spec.paused', 'status.conditions', 'status.v1beta2.conditions'];

export function specPaused(cluster: KubeObject | undefined): boolean {
  return field(cluster, 'spec', 'paused') === true;
}

export function hasPausedAnnotation(obj: KubeObject | undefined): boolean {
  return obj?.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined;
}

/**
 * When the Cluster was paused: the lastTransitionTime of its `Paused` condition (status True), under
 * status.conditions (v1beta2 API, CAPI v1.11+) or status.v1beta2.conditions (v1beta1 API, CAPI v1.9/v1.10).
 * CAPI before v1.9 has no Paused condition: undefined.
 */
export function pausedSince(cluster: KubeObject | undefined): string | undefined {
  if (!cluster) return undefined;
  const v1beta2 = field(cluster, 'status', 'v1beta2', 'conditions');
  const candidates: Condition[] = [
    ...conditionsOf(cluster),
    ...(Array.isArray(v1beta2) ? v1beta2.filter((c): c is Condition => typeof c?.type === 'string') : []),
  ];
  const paused = candidates.find((c) => c.type === 'Paused' && c.status === 'True');
  return typeof paused?.lastTransitionTime === 'string' ? paused.lastTransitionTime : undefined;
}

/**
 * Why Cluster API controllers skip `obj` (`paused.EnsurePausedCondition`: Cluster spec.paused, or the paused
 * annotation on the object itself). Empty when they do not.
 */
export function pauseReasons(obj: KubeObject, cluster: KubeObject | undefined): string[] {
  const reasons: string[] = [];
  if (specPaused(cluster))
    reasons.push(`Cluster ${keyOf({ namespace: cluster!.metadata.namespace, name: cluster!.metadata.name ?? '' })} has spec.paused: true`);
  if (hasPausedAnnotation(obj)) reasons.push(`${objectLabel(obj)} has the ${PAUSED_ANNOTATION} annotation`);
  return reasons;
}

/** RFC 6901: `cluster.x-k8s.io/paused` -> `cluster.x-k8s.io~1paused`. */
export function pointerEscape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** JSON patch ops for an object the scan saw a resourceVersion of (--fix pins it); undefined otherwise. */
function guarded(obj: KubeObject, ops: JsonPatchOp[]): JsonPatchOp[] | undefined {
  return obj.metadata.resourceVersion ? ops : undefined;
}

/** `spec.paused: true` -> `false` on a Cluster, guarded by its resourceVersion and the current value. */
export function unpauseClusterStep(target: ActionTarget, cluster: KubeObject, title: string): Step | undefined {
  const patch = guarded(cluster, [
    { op: 'test', path: '/spec/paused', value: true },
    { op: 'replace', path: '/spec/paused', value: false },
  ]);
  return patch && { title, risk: 'disruptive', reversible: true, action: { type: 'json-patch', target, patch } };
}

/** Removes one annotation, guarded by the resourceVersion and the annotation's current value. */
export function removeAnnotationStep(target: ActionTarget, obj: KubeObject, annotation: string, title: string): Step | undefined {
  const value = obj.metadata.annotations?.[annotation];
  if (value === undefined) return undefined;
  const path = `/metadata/annotations/${pointerEscape(annotation)}`;
  const patch = guarded(obj, [
    { op: 'test', path, value },
    { op: 'remove', path },
  ]);
  return patch && { title, risk: 'disruptive', reversible: true, action: { type: 'json-patch', target, patch } };
}
