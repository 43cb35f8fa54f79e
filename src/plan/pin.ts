import type { WriteAction } from './actions.ts';

/**
 * The action with its resourceVersion precondition set to `rv` (or removed, when undefined): a `test` op first in a
 * JSON patch, `metadata.resourceVersion` in a merge patch or a finalize body. The API server refuses the write with a
 * conflict if the object moved. Deletes carry theirs in DeleteOptions (see `requestOf`).
 */
export function pinAction<A extends WriteAction>(action: A, rv: string | undefined): A {
  const withRv = (metadata: unknown) => {
    const { resourceVersion: _drop, ...rest } = (metadata ?? {}) as Record<string, unknown>;
    return rv === undefined ? rest : { ...rest, resourceVersion: rv };
  };
  switch (action.type) {
    case 'json-patch': {
      const ops = action.patch.filter((op) => op.path !== '/metadata/resourceVersion');
      return { ...action, patch: rv === undefined ? ops : [{ op: 'test', path: '/metadata/resourceVersion', value: rv }, ...ops] };
    }
    case 'merge-patch':
      return { ...action, patch: { ...action.patch, metadata: withRv(action.patch.metadata) } };
    case 'finalize-namespace':
      return { ...action, body: { ...action.body, metadata: withRv(action.body.metadata) } };
    case 'delete':
      return action;
  }
  return action;
}
