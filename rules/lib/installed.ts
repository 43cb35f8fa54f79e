import type { KubeObject } from '../../src/kube/object.ts';

/** An optional read: its objects, or why it could not be read. */
export type Listed = KubeObject[] | { unavailable: string };

/** Helm 3 (>= 3.2) annotates every object it creates with the release that owns it (pkg/action/validate.go). */
export const HELM_RELEASE_NAME = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE = 'meta.helm.sh/release-namespace';

/**
 * Whether the product behind a cluster-scoped leftover (an APIService, a webhook configuration) is still installed,
 * from what can be proven without asking a person:
 * - the Helm release named by its meta.helm.sh annotations has no revision record left in its namespace (Secrets or
 *   ConfigMaps labelled owner=helm, name=<release>; `helm uninstall` deletes them, `--keep-history` leaves them
 *   `uninstalled`), or
 * - the namespace its backend Service lived in no longer exists, or is being deleted.
 * Anything else (the release installed, a read that failed, no annotation) proves nothing; `uninstalled` is set only
 * with one of the proofs above, worded for the plan.
 */
export interface InstallEvidence {
  helmRelease?: { release: string; namespace: string; installed: boolean | 'unknown'; note?: string };
  backendNamespace?: { name: string; exists: boolean | 'terminating' | 'unknown' };
}

export function installEvidence(
  obj: KubeObject,
  backendNamespace: string | undefined,
  reads: { namespaces: Listed; helmRecords: Listed[] },
): { evidence: InstallEvidence; uninstalled?: string } {
  const evidence: InstallEvidence = {};
  const proofs: string[] = [];
  const annotations = obj.metadata.annotations ?? {};
  const release = annotations[HELM_RELEASE_NAME];
  const releaseNamespace = annotations[HELM_RELEASE_NAMESPACE];
  if (release && releaseNamespace) {
    const listed = reads.helmRecords.filter((r): r is KubeObject[] => Array.isArray(r));
    const records = listed
      .flat()
      .filter(
        (r) =>
          r.metadata.namespace === releaseNamespace && r.metadata.labels?.name === release && r.metadata.labels?.status !== 'uninstalled',
      );
    const unread = reads.helmRecords.filter((r): r is { unavailable: string } => !Array.isArray(r));
    const installed = records.length > 0 ? true : unread.length === 0 && listed.length > 0 ? false : 'unknown';
    const note =
      unread.length > 0 ? `Helm records could not be read: ${unread.map((u) => u.unavailable).join('; ')}` : 'Helm records not read';
    evidence.helmRelease = { release, namespace: releaseNamespace, installed, ...(installed === 'unknown' ? { note } : {}) };
    if (installed === false)
      proofs.push(`the Helm release ${releaseNamespace}/${release} that created it has no revision left (uninstalled)`);
  }
  if (backendNamespace) {
    const exists = Array.isArray(reads.namespaces)
      ? namespaceState(reads.namespaces.find((n) => n.metadata.name === backendNamespace))
      : ('unknown' as const);
    evidence.backendNamespace = { name: backendNamespace, exists };
    if (exists === false) proofs.push(`its backend's namespace ${backendNamespace} no longer exists`);
    if (exists === 'terminating') proofs.push(`its backend's namespace ${backendNamespace} is being deleted`);
  }
  return proofs.length > 0 ? { evidence, uninstalled: proofs.join(', and ') } : { evidence };
}

function namespaceState(ns: KubeObject | undefined): boolean | 'terminating' {
  if (!ns) return false;
  return ns.metadata.deletionTimestamp ? 'terminating' : true;
}
