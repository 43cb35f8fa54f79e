import { conditionOf, field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import type { ActionTarget } from '../../src/plan/actions.ts';
import { deleteObject, manual, type Step } from '../../src/plan/builder.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { installEvidence, type InstallEvidence, type Listed } from '../lib/installed.ts';

/**
 * What core/apiservice-unavailable and core/namespace-stuck-terminating (for its discovery failures) know about an
 * aggregated APIService. The condition is kube-aggregator's (pkg/controllers/status/remote/
 * remote_available_controller.go, `sync`): Available=False with ServiceNotFound, ServicePortError, EndpointsNotFound,
 * MissingEndpoints or FailedDiscoveryCheck; Unknown with ServiceAccessError or EndpointsAccessError. The proxy serves
 * the group-version only while Available is True (pkg/apiserver/handler_proxy.go, IsAPIServiceConditionTrue), so
 * every other status breaks its discovery.
 */
export interface ApiServiceFacts {
  name: string;
  groupVersion: string;
  /** Available's status: False, Unknown, or `missing` (no condition written yet). */
  status: string;
  reason: string;
  message?: string;
  /** Available's lastTransitionTime: kube-aggregator moves it only when the status changes (helpers.go). */
  since?: string;
  service?: string;
  serviceExists?: boolean | 'unknown';
  installed?: InstallEvidence;
  /** Why its provider is proven uninstalled, when it is. */
  uninstalled?: string;
}

/** A local APIService (no spec.service) is served by kube-apiserver itself and is never reported. */
export function isAggregated(api: KubeObject): boolean {
  return field(api, 'spec', 'service') !== undefined && field(api, 'spec', 'service') !== null;
}

export function isUnavailable(api: KubeObject): boolean {
  return isAggregated(api) && conditionOf(api, 'Available')?.status !== 'True';
}

/**
 * Unavailable as the aggregator reported it: an Available condition that is not True. Without any condition (a
 * dump with the status stripped, an APIService created a moment ago) nothing is known: not reported on its own.
 */
export function reportedUnavailable(api: KubeObject): boolean {
  const available = conditionOf(api, 'Available');
  return isAggregated(api) && available !== undefined && available.status !== 'True';
}

export function groupVersionOf(api: KubeObject): string {
  return `${field(api, 'spec', 'group') ?? ''}/${field(api, 'spec', 'version') ?? ''}`;
}

export function apiServiceFacts(
  api: KubeObject,
  services: Listed,
  install?: { namespaces: Listed; helmRecords: Listed[] },
): ApiServiceFacts {
  const available = conditionOf(api, 'Available');
  const svc = field(api, 'spec', 'service') as { namespace?: string; name?: string } | undefined;
  const facts: ApiServiceFacts = {
    name: api.metadata.name ?? '',
    groupVersion: groupVersionOf(api),
    status: available?.status ?? 'missing',
    reason: available?.reason ?? 'no Available condition',
  };
  if (available?.message) facts.message = available.message;
  if (available?.lastTransitionTime) facts.since = available.lastTransitionTime;
  if (svc?.name) {
    facts.service = keyOf({ namespace: svc.namespace, name: svc.name });
    facts.serviceExists = Array.isArray(services)
      ? services.some((s) => s.metadata.namespace === svc.namespace && s.metadata.name === svc.name)
      : 'unknown';
  }
  if (install) {
    const { evidence, uninstalled } = installEvidence(api, svc?.namespace, install);
    facts.installed = evidence;
    if (uninstalled) facts.uninstalled = uninstalled;
  }
  return facts;
}

/** The Service is gone: the aggregator says so, or the scan saw every Service and not this one. */
export function serviceGone(facts: ApiServiceFacts): boolean {
  return facts.serviceExists === false || (facts.reason === 'ServiceNotFound' && facts.serviceExists !== true);
}

/**
 * The ladder for one unavailable APIService. Its Service exists: restore the backend (by hand); nothing is deleted.
 * Its Service is gone: make sure the provider was removed on purpose (a gate, unless that is proven), then delete
 * the APIService (destructive, restorable from the backup).
 */
export function apiServiceSteps(api: KubeObject, facts: ApiServiceFacts, target: ActionTarget): Step[] {
  const svc = facts.service ?? '';
  const [svcNs = '', svcName = ''] = svc.split('/');
  const inspect =
    `kubectl get apiservice ${shellQuote(facts.name)} -o yaml` +
    (svc
      ? ` && kubectl -n ${shellQuote(svcNs)} get service ${shellQuote(svcName)} && kubectl -n ${shellQuote(svcNs)} get endpointslices -l ${shellQuote(`kubernetes.io/service-name=${svcName}`)}`
      : '');
  if (!serviceGone(facts)) {
    return [
      manual(
        `Restore the backend of APIService ${facts.name} (${facts.reason})${svc ? `: Service ${svc} and the pods behind it` : ''}`,
        inspect,
      ),
    ];
  }
  const steps: Step[] = [];
  if (!facts.uninstalled) {
    steps.push(
      manual(
        `Make sure the provider of ${facts.groupVersion} was removed on purpose (not proven: nothing says it was uninstalled); if it should still run, reinstall it instead, which recreates Service ${svc}, and stop here`,
        `kubectl get apiservice ${shellQuote(facts.name)} -o yaml  # labels and annotations name the product that installed it`,
      ),
    );
  }
  const del = deleteObject(
    `Delete the stale APIService ${facts.name}: its Service ${svc} is gone${facts.uninstalled ? ` and ${facts.uninstalled}` : ''}. The ${facts.groupVersion} API disappears (kubectl doctor restore recreates it from the backup)`,
    target,
    { risk: 'destructive', reversible: true },
  );
  if (del) steps.push(del);
  return steps;
}
