import { defineRule } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { field } from '../../src/kube/object.ts';
import { ageEvidence, heldBackReason, humanDuration, MINUTE_MS, parseTime, thresholdMs } from '../lib/age.ts';
import { apiServiceFacts, apiServiceSteps, reportedUnavailable, serviceGone, type ApiServiceFacts } from './apiservices.ts';

/**
 * How long an APIService must have been unavailable (since its Available condition's lastTransitionTime) before it
 * is reported: a metrics-server that restarts or rolls out is back within a minute or two.
 */
const UNAVAILABLE_MS = 10 * MINUTE_MS;

const CONSEQUENCE = 'so discovery of {{groupVersion}} fails for every client and no namespace can finish deleting{{blocked}}';

const reasons = {
  /** ServiceNotFound: the Service the APIService names does not exist (an uninstall that left the APIService). */
  'service-not-found': `APIService {{name}} has been unavailable for {{age}}: its Service {{service}} does not exist, ${CONSEQUENCE}`,
  /** EndpointsNotFound, MissingEndpoints: the Service has no ready endpoint on the APIService's port. */
  'no-endpoints': `APIService {{name}} has been unavailable for {{age}}: its Service {{service}} has no ready endpoints ({{condition}}), ${CONSEQUENCE}`,
  /** ServicePortError: the Service does not listen on the APIService's port. */
  'service-port': `APIService {{name}} has been unavailable for {{age}}: its Service {{service}} has no port {{port}} (ServicePortError), ${CONSEQUENCE}`,
  /** FailedDiscoveryCheck: the backend answers badly or not at all. */
  'discovery-check-failed': `APIService {{name}} has been unavailable for {{age}}: the API server gets no good answer from its backend (FailedDiscoveryCheck), ${CONSEQUENCE}`,
  /** Anything else: Unknown (ServiceAccessError, EndpointsAccessError), a reason we do not know. */
  unavailable: `APIService {{name}} has been unavailable for {{age}}: Available is {{status}} ({{condition}}), ${CONSEQUENCE}`,
};
type Reason = keyof typeof reasons;

const REASON_OF: Record<string, Reason> = {
  ServiceNotFound: 'service-not-found',
  EndpointsNotFound: 'no-endpoints',
  MissingEndpoints: 'no-endpoints',
  ServicePortError: 'service-port',
  FailedDiscoveryCheck: 'discovery-check-failed',
};

export default defineRule({
  meta: {
    id: 'core/apiservice-unavailable',
    summary: 'An aggregated APIService is unavailable: discovery and namespace deletion fail',
    severity: 'critical',
    ecosystem: 'core',
    fixable: 'destructive',
    thresholds: {
      unavailable: {
        ms: UNAVAILABLE_MS,
        minAge: true,
        describe: 'an APIService unavailable for less (since its Available condition last changed) is held back: a restarting backend',
      },
    },
    // A namespace stuck on the discovery failure this APIService causes names it (causedBy): this finding leads.
    refines: ['core/namespace-stuck-terminating'],
    reasons,
    reads: {
      apiservices: { resource: 'apiservices.apiregistration.k8s.io' },
      services: { resource: 'services', metadataOnly: true, optional: true, allNamespaces: true },
      namespaces: { resource: 'namespaces', metadataOnly: true, optional: true },
      /** Metadata only, as helm/release-stuck-pending reads them: whether the release that made the APIService is installed. */
      helmSecrets: { resource: 'secrets', metadataOnly: true, labelSelector: 'owner=helm', optional: true, allNamespaces: true },
      helmConfigMaps: { resource: 'configmaps', metadataOnly: true, labelSelector: 'owner=helm', optional: true, allNamespaces: true },
    },
    explain: {
      detects:
        'An APIService (apiregistration.k8s.io/v1) served by an aggregated API server (spec.service set) whose ' +
        'Available condition has not been True for more than 10 minutes (since its lastTransitionTime, else its ' +
        'creation; --min-age overrides): reasons ServiceNotFound, ' +
        'EndpointsNotFound, MissingEndpoints, ServicePortError, FailedDiscoveryCheck (status False), ' +
        'ServiceAccessError and EndpointsAccessError (status Unknown). An APIService without any Available condition ' +
        '(status stripped from a dump) is unknown, not reported. Under -n, only APIServices whose Service lives in ' +
        'that namespace are in scope. Local APIServices (no spec.service: the ' +
        "built-in groups and CRDs) are served by kube-apiserver itself and never reported. 10 minutes: a backend's " +
        'restart or rollout (metrics-server, a cluster-gateway) is back well within it.',
      why:
        "kube-aggregator's available controller checks every aggregated APIService: the Service exists, listens on " +
        'the port, has EndpointSlices with a ready endpoint, and answers GET /apis/<group>/<version> (5 tries, 5 s ' +
        'each); otherwise it sets Available=False with the reason (pkg/controllers/status/remote/' +
        'remote_available_controller.go, sync). The proxy then answers 503 for that group-version ' +
        '(pkg/apiserver/handler_proxy.go: served only while Available is True), so discovery is incomplete for every ' +
        'client: kubectl prints "couldn\'t get resource list for metrics.k8s.io/v1beta1: the server is currently ' +
        'unable to handle the request", and client-go callers that need the full list fail. The namespace ' +
        'controller treats the discovery error as a failure of the whole deletion (pkg/controller/namespace/deletion/' +
        'namespaced_resources_deleter.go deleteAllContent: NamespaceDeletionDiscoveryFailure), so no namespace in the ' +
        'cluster can finish deleting (kubernetes/kubernetes#84109); the garbage collector keeps the monitors it had ' +
        'but logs "failed to discover some groups" and cannot watch types of that group it did not know ' +
        "(pkg/controller/garbagecollector/garbagecollector.go Sync). Typical cause: a product's uninstall (or " +
        'a disabled add-on: metrics-server, a KubeVela cluster-gateway) removed the Service and left its APIService.',
      evidence:
        'The APIService (full object: spec.group/version/service, the Available condition with its reason, message ' +
        'and lastTransitionTime); whether its Service exists (Services of every namespace, metadata only, even under ' +
        '-n: a Service the scan could not read is unknown, never missing); namespaces that are Terminating, which ' +
        'this blocks; whether its provider is proven uninstalled: the Helm release named by its ' +
        'meta.helm.sh/release-name and release-namespace annotations has no revision record left (Secrets and ' +
        'ConfigMaps labelled owner=helm, metadata only), or the namespace its Service lived in is gone or being ' +
        'deleted.',
      remediation: [
        'Its Service exists (no endpoints, a failing discovery check, a wrong port): restore the backend by hand ' +
          '(the Service, the pods behind it, their logs); nothing is deleted.',
        'Its Service is gone: make sure the provider was removed on purpose (a gate --fix asks about, unless the ' +
          'uninstall is proven as above), then delete the APIService (destructive, behind --allow=destructive and its ' +
          'own confirmation; backed up, `kubectl doctor restore` recreates it). Discovery is whole again at once, and ' +
          'namespaces stuck on it finish by themselves.',
        'A namespace stuck Terminating because of it (core/namespace-stuck-terminating) is led by this finding: one ' + 'plan, here.',
      ],
      references: [
        'https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kube-aggregator/pkg/controllers/status/remote/remote_available_controller.go',
        'https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kube-aggregator/pkg/apiserver/handler_proxy.go',
        'https://github.com/kubernetes/kubernetes/blob/master/pkg/controller/namespace/deletion/namespaced_resources_deleter.go',
        'https://github.com/kubernetes/kubernetes/issues/84109',
        'https://github.com/kubernetes-sigs/metrics-server/issues/157',
        'https://github.com/kubernetes/minikube/issues/3571',
        'https://kubernetes.io/docs/tasks/extend-kubernetes/configure-aggregation-layer/',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, UNAVAILABLE_MS);
    const services = ctx.optional('services');
    const namespaces = ctx.optional('namespaces');
    const install = { namespaces, helmRecords: [ctx.optional('helmSecrets'), ctx.optional('helmConfigMaps')] };
    const terminating = Array.isArray(namespaces) ? namespaces.filter((n) => n.metadata.deletionTimestamp !== undefined) : [];
    const findings: Finding[] = [];
    for (const api of ctx.list('apiservices').filter(reportedUnavailable)) {
      // Cluster-scoped: under -n only an APIService whose backend lives in that namespace is in scope.
      if (ctx.namespace !== undefined && field(api, 'spec', 'service', 'namespace') !== ctx.namespace) continue;
      const facts = apiServiceFacts(api, services, install);
      const since = parseTime(facts.since) ?? parseTime(api.metadata.creationTimestamp);
      const ageMs = since === undefined ? undefined : ctx.now.getTime() - since;
      if (ageMs !== undefined && ageMs < threshold) {
        ctx.heldBack(api, heldBackReason(`Available ${facts.status} (${facts.reason}) for ${humanDuration(ageMs)}`, threshold));
        continue;
      }
      const reason: Reason = serviceGone(facts) ? 'service-not-found' : (REASON_OF[facts.reason] ?? 'unavailable');
      const blocked = terminating.map((n) => n.metadata.name ?? '');
      const port = (api as { spec?: { service?: { port?: number } } }).spec?.service?.port ?? 443;
      findings.push(
        ctx.finding(api, {
          reason,
          data: {
            name: facts.name,
            age: ageMs === undefined ? 'an unknown time' : humanDuration(ageMs),
            service: facts.service ?? '',
            groupVersion: facts.groupVersion,
            condition: facts.reason,
            status: facts.status,
            port,
            blocked:
              blocked.length === 0
                ? ''
                : `; ${blocked.length} namespace${blocked.length === 1 ? ' is' : 's are'} Terminating behind it (${blocked.slice(0, 3).join(', ')}${blocked.length > 3 ? ', ...' : ''})`,
          },
          // Every namespace deletion in the cluster waits on it; once one is waiting, it is as bad as it gets.
          severity: blocked.length > 0 ? 'critical' : 'error',
          evidence: evidenceOf(facts, ageMs, threshold, blocked, namespaces),
          remediation: {
            summary: serviceGone(facts)
              ? `Its Service ${facts.service} is gone: once its provider is known to be removed on purpose, delete the stale APIService; discovery is then whole again`
              : `Restore the backend of ${facts.groupVersion}: Service ${facts.service} and the pods behind it`,
            steps: apiServiceSteps(api, facts, ctx.targetOf(api)),
          },
        }),
      );
    }
    return findings;
  },
});

function evidenceOf(
  facts: ApiServiceFacts,
  ageMs: number | undefined,
  threshold: number,
  blocked: string[],
  namespaces: unknown[] | { unavailable: string },
): Record<string, unknown> {
  const { installed, uninstalled, ...api } = facts;
  return {
    ...api,
    unavailableFor: ageMs === undefined ? 'unknown (no lastTransitionTime, no creationTimestamp)' : ageEvidence(ageMs),
    threshold: ageEvidence(threshold),
    terminatingNamespaces: Array.isArray(namespaces) ? blocked.slice(0, 20) : `unknown: ${namespaces.unavailable}`,
    ...(installed && Object.keys(installed).length > 0 ? { installed } : {}),
    provenUninstalled: uninstalled ?? false,
  };
}
