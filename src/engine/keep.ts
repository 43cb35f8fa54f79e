// What a scan keeps of the objects it lists: only what rules read. Applied by the sources to each object as its page
// arrives (ListRequest.keep), so a scan holds what rules use, not every page it was sent, and `kubectl doctor dump`
// writes the same.
import type { KubeObject, ObjectMeta } from '../kube/object.ts';

/** kubectl apply's copy of the object as last applied: a second copy of the object that no rule reads. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object without what no rule reads of an object that is not being deleted: `metadata.managedFields` (who set
 * which field; core/stuck-deletion reads it only to name who added a finalizer of an object being deleted) and
 * kubectl's last-applied annotation. An object being deleted is kept whole: every rule that reports one shows it as
 * it is. Copies instead of `delete`, so the objects kept stay in V8's compact (fast-properties) form.
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
  obj.metadata = kept === undefined ? rest : ({ ...rest, annotations: kept } as ObjectMeta);
  return obj;
}
