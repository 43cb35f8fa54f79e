/**
 * rancher/wrangler, the controller framework of helm-controller, Fleet, Rancher and Harvester: what it leaves on the
 * objects it applies. Not a rule: it has no default export.
 */
import type { DumpRedaction } from '../../src/kube/redact.ts';

/**
 * wrangler apply's copy of an object as applied, on every object it applies (rancher/wrangler v3
 * pkg/apply/desiredset_compare.go serializeApplied: the object as JSON, strings cut to 64 characters, gzip+base64):
 * helm-controller's install Jobs carry it, their args holding `--set` values. No rule reads it.
 */
export const WRANGLER_APPLIED: DumpRedaction = {
  resource: '*',
  fields: [{ path: 'metadata.annotations["objectset.rio.cattle.io/applied"]' }],
};
