import { keyOf } from '../kube/object.ts';
import type { Action, ActionTarget } from './actions.ts';
import { canonical } from './patch.ts';

/** Identifies an object a step writes to: its uid, or its resource and name when the scan saw no uid. */
export function targetKey(target: ActionTarget): string {
  return target.uid ?? `${target.resource}/${keyOf(target)}`;
}

/**
 * What a write changes, without its resourceVersion precondition: two findings whose plans carry the same write
 * (a Fleet BundleDeployment and its Bundle both bump one GitRepo's forceSyncGeneration) make it once, and the
 * second refers to the first instead of being refused because of the tool's own first write.
 */
export function stepKey(action: Action): string {
  switch (action.type) {
    case 'manual':
    case 'checkpoint':
      return `${action.type}|${action.instructions}`;
    case 'json-patch':
      return JSON.stringify([
        'json-patch',
        targetKey(action.target),
        action.subresource ?? '',
        canonical(action.patch.filter((op) => op.path !== '/metadata/resourceVersion')),
      ]);
    case 'merge-patch': {
      const { resourceVersion: _rv, ...metadata } = (action.patch.metadata ?? {}) as Record<string, unknown>;
      const patch = action.patch.metadata ? { ...action.patch, metadata } : action.patch;
      return JSON.stringify(['merge-patch', targetKey(action.target), action.subresource ?? '', canonical(patch)]);
    }
    case 'delete':
      return JSON.stringify(['delete', targetKey(action.target)]);
    case 'finalize-namespace':
      return JSON.stringify(['finalize-namespace', targetKey(action.target)]);
  }
}
