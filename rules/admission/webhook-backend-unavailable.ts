import { defineRule, type RuleContext } from '../../src/engine/rule.ts';
import type { Finding } from '../../src/engine/finding.ts';
import { field, keyOf, type KubeObject } from '../../src/kube/object.ts';
import { isEmptySelector, labelSelectorMatches, type LabelSelector } from '../../src/kube/selector.ts';
import type { JsonPatchOp } from '../../src/plan/actions.ts';
import { DEAD_WEBHOOK_RULE, type InterceptSpec, type NamespaceScope, type WebhookRule } from '../../src/plan/admission.ts';
import { deleteObject, jsonPatch, manual, type Step } from '../../src/plan/builder.ts';
import { shellQuote } from '../../src/plan/command.ts';
import { ageEvidence, heldBackReason, humanDuration, MINUTE_MS, parseTime, thresholdMs } from '../lib/age.ts';
import { installEvidence, type Listed } from '../lib/installed.ts';

/**
 * How long a configuration must have existed and its backend been down (the newest of the configuration's and
 * the Service's creation and the EndpointSlices' last change) before it is reported: an install that is still
 * creating its Service, or a webhook pod that restarts, is back well within it.
 */
const DEAD_MS = 10 * MINUTE_MS;
/** The EndpointSlice controller stamps each slice with the time of the pod or Service change it reflects. */
const LAST_CHANGE = 'endpoints.kubernetes.io/last-change-trigger-time';

const REFUSED = 'so the API server refuses every write it intercepts ({{intercepts}})';
const reasons = {
  /** The Service does not exist: "failed calling webhook ...: service \"x\" not found". */
  'service-not-found': `{{kind}} {{name}}: {{webhooks}} with failurePolicy Fail {{call}} Service {{service}}, which does not exist, ${REFUSED}`,
  /** The Service exists but no EndpointSlice has a ready endpoint for its port: "no endpoints available for service". */
  'no-ready-endpoints': `{{kind}} {{name}}: {{webhooks}} with failurePolicy Fail {{call}} Service {{service}}, which has no ready endpoint, ${REFUSED}`,
  /** The Service has no port the webhook calls: "no service port 443 found for service". */
  'service-port-missing': `{{kind}} {{name}}: {{webhooks}} with failurePolicy Fail {{call}} port {{port}} of Service {{service}}, which has no such port, ${REFUSED}`,
};
type Reason = keyof typeof reasons;
/** When one configuration's webhooks fail in several ways, the finding names the most definite. */
const PRIORITY: Reason[] = ['service-not-found', 'service-port-missing', 'no-ready-endpoints'];

const reads = {
  validating: { resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io' },
  mutating: { resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io' },
  /** Every namespace even under -n: a webhook's Service lives where its product does. */
  services: { resource: 'services', optional: true, allNamespaces: true },
  endpointSlices: { resource: 'endpointslices.discovery.k8s.io', optional: true, allNamespaces: true },
  /** Labels, for namespaceSelectors; existence, for proving an uninstall. */
  namespaces: { resource: 'namespaces', metadataOnly: true, optional: true },
  /** Which Deployments run the pods a webhook's Service selects, and whether they are ready. */
  deployments: {
    resource: 'deployments.apps',
    optional: true,
    allNamespaces: true,
    fields: ['spec.replicas', 'status.readyReplicas', 'spec.template.metadata.labels'],
  },
  helmSecrets: { resource: 'secrets', metadataOnly: true, labelSelector: 'owner=helm', optional: true, allNamespaces: true },
  helmConfigMaps: { resource: 'configmaps', metadataOnly: true, labelSelector: 'owner=helm', optional: true, allNamespaces: true },
} as const;
type Ctx = RuleContext<typeof reads, typeof reasons>;

interface Webhook {
  name: string;
  index: number;
  failurePolicy?: string;
  clientConfig?: { service?: { namespace?: string; name?: string; port?: number; path?: string }; url?: string };
  rules?: WebhookRule[];
  matchPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  matchConditions?: { name: string }[];
}

interface DeadWebhook {
  webhook: Webhook;
  reason: Reason;
  service: { namespace: string; name: string; port: number };
  since: number | undefined;
  slices: { name: string; endpoints: number; ready: number }[];
}

export default defineRule({
  meta: {
    id: DEAD_WEBHOOK_RULE,
    summary: 'A failurePolicy Fail admission webhook whose Service is gone or has no endpoints',
    severity: 'critical',
    ecosystem: 'admission',
    fixable: 'destructive',
    thresholds: {
      dead: {
        ms: DEAD_MS,
        minAge: true,
        describe:
          "a dead backend seen for less (counted from the configuration's creation or the latest sign of its loss) may be an install or a rollout in progress: held back",
      },
    },
    // A namespace whose content deletion fails on this webhook names it (causedBy): this finding leads.
    refines: ['core/namespace-stuck-terminating'],
    reasons,
    reads,
    explain: {
      detects:
        'A webhook of a ValidatingWebhookConfiguration or MutatingWebhookConfiguration (admissionregistration.k8s.io/v1) ' +
        'with failurePolicy Fail (the v1 default when unset) whose clientConfig.service names a Service that does not ' +
        'exist, has no port the webhook calls (clientConfig.service.port, default 443), or has no EndpointSlice ' +
        '(discovery.k8s.io/v1, label kubernetes.io/service-name) with a ready endpoint for that port, for more than 10 ' +
        "minutes (the newest of the configuration's creation, the Service's creation and the slices' " +
        'endpoints.kubernetes.io/last-change-trigger-time; --min-age overrides). Critical when a dead webhook intercepts ' +
        'namespaces (their creation, update or deletion is blocked cluster-wide), error otherwise. Not reported: ' +
        'failurePolicy Ignore; webhooks with clientConfig.url (nothing in the cluster says whether the URL answers); ' +
        'ExternalName Services (resolved by DNS); a Service or its EndpointSlices the scan could not read (unknown, ' +
        'never missing: Services and slices are read in every namespace even under -n). Under -n, a configuration is ' +
        "in scope when a dead webhook's Service lives in that namespace or its namespaceSelector selects it.",
      why:
        'For every write, kube-apiserver calls each webhook whose rules, namespaceSelector, objectSelector and ' +
        'matchConditions match (k8s.io/apiserver pkg/admission/plugin/webhook/generic/webhook.go ShouldCallHook). It ' +
        'resolves the Service itself: with --enable-aggregator-routing (k3s, RKE2 and others) through its EndpointSlices ' +
        '("no endpoints available for service \\"x\\"", k8s.io/apiserver pkg/util/proxy/proxy.go ResolveEndpoint), else ' +
        'through its ClusterIP ("service \\"x\\" not found", or a connection refused or timed out). When the call fails ' +
        'and failurePolicy is Fail, the write is refused: "Internal error occurred: failed calling webhook \\"<name>\\": ' +
        'failed to call webhook: ..." (validating/dispatcher.go, pkg/util/webhook/error.go). Uninstalling a product often ' +
        'removes its namespace, Deployment and Service but not the cluster-scoped configuration (rancher-webhook after ' +
        'Rancher is removed, cert-manager, Kyverno, VictoriaMetrics, KServe): from then on every matching create, update ' +
        "or delete fails, including the namespace controller's deletes (the namespace stays Terminating with " +
        'NamespaceDeletionContentFailure, whose message core/namespace-stuck-terminating follows to this configuration: ' +
        'this finding then leads it, with the one plan) and the writes of --fix. Webhook configurations themselves are never sent to ' +
        'webhooks (predicates/rules/rules.go IsExemptAdmissionConfigurationResource), so they can always be patched or ' +
        'deleted.',
      evidence:
        'The configuration (full object) and, per dead webhook: its index and name, failurePolicy, the Service and port, ' +
        'what is wrong with it, its EndpointSlices (endpoints, ready endpoints), and what it intercepts: its rules ' +
        '(operations, apiGroups, apiVersions, resources, scope), matchPolicy, namespaceSelector with the namespaces it ' +
        'selects among those read (metadata only), objectSelector and matchConditions. The backend: Deployments in the ' +
        "Service's namespace whose pod labels match its selector, with their replicas. Whether its owner is proven " +
        'uninstalled: the Helm release of its meta.helm.sh/release-name and release-namespace annotations has no ' +
        'revision record left (Secrets and ConfigMaps labelled owner=helm, metadata only), or the namespace of its ' +
        'Service is gone or being deleted. Its ownerReferences are listed as hints, not proof.',
      remediation: [
        'Restore the backend (by hand, instead of the rest): the Service and the pods behind it, e.g. scale its ' +
          'Deployment back up, or reinstall the product.',
        'Set failurePolicy: Ignore on the dead webhooks (disruptive, reversible): one JSON patch that tests the ' +
          "configuration's resourceVersion and each webhook's index and name; the writes it intercepts are then " +
          'admitted without it (its checks and mutations are skipped) until its backend is back. `kubectl doctor ' +
          'restore` sets Fail again.',
        'Only when its owner is proven uninstalled and every webhook of the configuration calls a dead backend: delete ' +
          'the configuration (destructive, behind --allow=destructive and its own confirmation; backed up, restorable).',
        '--fix and -o script warn when a write of another plan would be refused by such a webhook, and fix these ' + 'findings first.',
      ],
      references: [
        'https://github.com/kubernetes/kubernetes/tree/master/staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook',
        'https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/util/proxy/proxy.go',
        'https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/',
        'https://github.com/rancher/rancher/issues/40164',
        'https://github.com/rancher/rancher/issues/42699',
        'https://github.com/VictoriaMetrics/helm-charts/issues/2726',
        'https://github.com/kyverno/kyverno/issues/9551',
        'https://github.com/opendatahub-io/opendatahub-operator/issues/3808',
      ],
    },
  },

  check(ctx) {
    const threshold = thresholdMs(ctx.minAgeMs, DEAD_MS);
    const services = ctx.optional('services');
    const slices = ctx.optional('endpointSlices');
    const namespaces = ctx.optional('namespaces');
    const findings: Finding[] = [];
    for (const config of [...ctx.list('validating'), ...ctx.list('mutating')]) {
      const webhooks = webhooksOf(config);
      const dead = webhooks.flatMap((w) => {
        const d = deadBackend(w, services, slices);
        return d ? [d] : [];
      });
      const failing = dead.filter((d) => (d.webhook.failurePolicy ?? 'Fail') === 'Fail');
      if (failing.length === 0 || !inScope(failing, ctx.namespace, namespaces)) continue;
      const created = parseTime(config.metadata.creationTimestamp);
      const since = Math.max(created ?? 0, ...failing.map((d) => d.since ?? 0));
      const ageMs = since > 0 ? ctx.now.getTime() - since : undefined;
      if (ageMs !== undefined && ageMs < threshold) {
        ctx.heldBack(config, heldBackReason(`${failing.length} webhook(s) calling a dead backend for ${humanDuration(ageMs)}`, threshold));
        continue;
      }
      findings.push(report(ctx, config, failing, dead.length === webhooks.length, ageMs, threshold, namespaces));
    }
    return findings;
  },
});

/**
 * Cluster-scoped configurations are in scope under -n when a dead webhook's Service lives in that namespace, or its
 * namespaceSelector sends that namespace's writes to it.
 */
function inScope(failing: DeadWebhook[], namespace: string | undefined, namespaces: Listed): boolean {
  if (namespace === undefined) return true;
  return failing.some((d) => {
    if (d.service.namespace === namespace) return true;
    const scope = namespaceScope(d.webhook.namespaceSelector, namespaces);
    if (scope === 'all') return true;
    return 'only' in scope ? scope.only.includes(namespace) : 'allBut' in scope ? !scope.allBut.includes(namespace) : false;
  });
}

function webhooksOf(config: KubeObject): Webhook[] {
  const list = field(config, 'webhooks');
  return Array.isArray(list) ? (list as Omit<Webhook, 'index'>[]).map((w, index) => ({ ...w, index })) : [];
}

/** Why a webhook's Service cannot answer, when that can be told from what was read; undefined otherwise. */
function deadBackend(webhook: Webhook, services: Listed, slices: Listed): DeadWebhook | undefined {
  const ref = webhook.clientConfig?.service;
  if (!ref?.name || !ref.namespace || !Array.isArray(services)) return undefined;
  const service = { namespace: ref.namespace, name: ref.name, port: ref.port ?? 443 };
  const svc = services.find((s) => s.metadata.namespace === service.namespace && s.metadata.name === service.name);
  if (!svc) return { webhook, reason: 'service-not-found', service, since: undefined, slices: [] };
  if (field(svc, 'spec', 'type') === 'ExternalName') return undefined;
  const ports = (field(svc, 'spec', 'ports') as { name?: string; port?: number }[] | undefined) ?? [];
  const port = ports.find((p) => p.port === service.port);
  const svcCreated = parseTime(svc.metadata.creationTimestamp);
  if (!port) return { webhook, reason: 'service-port-missing', service, since: svcCreated, slices: [] };
  if (!Array.isArray(slices)) return undefined;
  const own = slices.filter(
    (s) => s.metadata.namespace === service.namespace && s.metadata.labels?.['kubernetes.io/service-name'] === service.name,
  );
  // The aggregator's and the proxy's test (hasAvailableEndpoint, RandomEndpoint): a slice port named like the
  // Service port, and an endpoint whose ready condition is not false.
  const portName = port.name ?? '';
  const described = own.map((s) => {
    const endpoints = (field(s, 'endpoints') as { conditions?: { ready?: boolean } }[] | undefined) ?? [];
    const hasPort = ((field(s, 'ports') as { name?: string; port?: number }[] | undefined) ?? []).some(
      (p) => (p.name ?? '') === portName && p.port !== undefined,
    );
    const ready = hasPort ? endpoints.filter((e) => e.conditions?.ready !== false).length : 0;
    return { name: s.metadata.name ?? '', endpoints: endpoints.length, ready };
  });
  if (described.some((s) => s.ready > 0)) return undefined;
  const changed = own.map((s) => parseTime(s.metadata.annotations?.[LAST_CHANGE]) ?? 0);
  return { webhook, reason: 'no-ready-endpoints', service, since: Math.max(svcCreated ?? 0, ...changed) || undefined, slices: described };
}

function report(
  ctx: Ctx,
  config: KubeObject,
  failing: DeadWebhook[],
  allDead: boolean,
  ageMs: number | undefined,
  threshold: number,
  namespaces: Listed,
): Finding {
  const name = config.metadata.name ?? '';
  const reason = PRIORITY.find((r) => failing.some((d) => d.reason === r))!;
  const lead = failing.find((d) => d.reason === reason)!;
  const service = keyOf(lead.service);
  const services = [...new Set(failing.map((d) => keyOf(d.service)))];
  const { evidence: installed, uninstalled } = installEvidence(config, lead.service.namespace, {
    namespaces,
    helmRecords: [ctx.optional('helmSecrets'), ctx.optional('helmConfigMaps')],
  });
  const blocksNamespaces = failing.some((d) => (d.webhook.rules ?? []).some(touchesNamespaces));
  const webhookNames = failing.map((d) => d.webhook.name);

  const evidence: Record<string, unknown> = {
    kind: config.kind,
    webhooksTotal: webhooksOf(config).length,
    webhooks: failing.map((d) => ({
      name: d.webhook.name,
      index: d.webhook.index,
      failurePolicy: d.webhook.failurePolicy ?? 'Fail (default)',
      service: keyOf(d.service),
      port: d.service.port,
      problem: problemOf(d),
      ...(d.reason === 'no-ready-endpoints' ? { endpointSlices: d.slices } : {}),
      intercepts: interceptSpec(d.webhook, namespaces),
    })),
    deadFor: ageMs === undefined ? 'unknown (no timestamps)' : ageEvidence(ageMs),
    threshold: ageEvidence(threshold),
    backend: backendOf(ctx, lead),
    installed,
    provenUninstalled: uninstalled ?? false,
    ...(config.metadata.ownerReferences?.length
      ? { ownerReferences: config.metadata.ownerReferences.map((o) => `${o.kind} ${o.name}`) }
      : {}),
  };

  const resource = ctx.targetOf(config);
  const [svcNs, svcName] = [lead.service.namespace, lead.service.name];
  const steps: Step[] = [
    manual(
      `Or restore the backend instead: Service ${services.join(', ')} and the pods behind it (scale its Deployment back up, or reinstall the product)`,
      `kubectl -n ${shellQuote(svcNs)} get service ${shellQuote(svcName)} && kubectl -n ${shellQuote(svcNs)} get endpointslices -l ${shellQuote(`kubernetes.io/service-name=${svcName}`)} && kubectl -n ${shellQuote(svcNs)} get deployments,pods`,
      { role: 'alternative' },
    ),
    jsonPatch(
      `Set failurePolicy: Ignore on ${plural(webhookNames.length, 'webhook')} ${webhookNames.join(', ')} of ${config.kind} ${name}: the writes ${webhookNames.length === 1 ? 'it intercepts' : 'they intercept'} are admitted without ${webhookNames.length === 1 ? 'it' : 'them'} (${webhookNames.length === 1 ? 'its' : 'their'} checks and mutations are skipped) until the backend is back; kubectl doctor restore sets Fail again`,
      resource,
      failing.flatMap((d) => ignoreOps(d.webhook)),
      { risk: 'disruptive', reversible: true },
    ),
  ];
  if (uninstalled && allDead) {
    const del = deleteObject(
      `Delete ${config.kind} ${name}: ${uninstalled}, and every webhook of it calls a dead backend; kubectl doctor restore recreates it from the backup`,
      resource,
      { risk: 'destructive', reversible: true },
    );
    if (del) steps.push(del);
  }

  return ctx.finding(config, {
    reason,
    data: {
      kind: config.kind,
      name,
      webhooks: failing.length === 1 ? `webhook ${lead.webhook.name}` : `${failing.length} webhooks`,
      call: failing.length === 1 ? 'calls' : 'call',
      service,
      port: lead.service.port,
      intercepts: describeIntercepts(failing.flatMap((d) => d.webhook.rules ?? [])),
    },
    severity: blocksNamespaces ? 'critical' : 'error',
    evidence,
    remediation: {
      summary:
        uninstalled && allDead
          ? `Its owner is uninstalled (${uninstalled}): set the dead webhooks to Ignore, then delete the leftover configuration; or restore the backend`
          : `Restore the backend (Service ${service}), or set the dead webhooks to failurePolicy Ignore until it is back`,
      steps,
    },
  });
}

/** One test of the webhook's index and name, then the change: the patch cannot hit a reordered list. */
function ignoreOps(webhook: Webhook): JsonPatchOp[] {
  const at = `/webhooks/${webhook.index}`;
  const ops: JsonPatchOp[] = [{ op: 'test', path: `${at}/name`, value: webhook.name }];
  if (webhook.failurePolicy === undefined) ops.push({ op: 'add', path: `${at}/failurePolicy`, value: 'Ignore' });
  else
    ops.push(
      { op: 'test', path: `${at}/failurePolicy`, value: webhook.failurePolicy },
      { op: 'replace', path: `${at}/failurePolicy`, value: 'Ignore' },
    );
  return ops;
}

function problemOf(d: DeadWebhook): string {
  const svc = keyOf(d.service);
  switch (d.reason) {
    case 'service-not-found':
      return `Service ${svc} not found`;
    case 'service-port-missing':
      return `Service ${svc} has no port ${d.service.port}`;
    case 'no-ready-endpoints':
      return d.slices.length === 0 ? `Service ${svc} has no EndpointSlices` : `Service ${svc} has no ready endpoint`;
  }
}

/** What each webhook intercepts, and which of the namespaces read its namespaceSelector selects. */
function interceptSpec(webhook: Webhook, namespaces: Listed): InterceptSpec {
  const spec: InterceptSpec = {
    rules: webhook.rules ?? [],
    matchPolicy: webhook.matchPolicy ?? 'Equivalent',
    namespaces: namespaceScope(webhook.namespaceSelector, namespaces),
  };
  if (!isEmptySelector(webhook.namespaceSelector)) spec.namespaceSelector = webhook.namespaceSelector!;
  if (!isEmptySelector(webhook.objectSelector)) spec.objectSelector = webhook.objectSelector!;
  if (webhook.matchConditions?.length) spec.matchConditions = webhook.matchConditions.map((c) => c.name);
  return spec;
}

function namespaceScope(selector: LabelSelector | undefined, namespaces: Listed): NamespaceScope {
  if (isEmptySelector(selector)) return 'all';
  if (!Array.isArray(namespaces)) return { unknown: `namespaces not read: ${namespaces.unavailable}` };
  const selected: string[] = [];
  const left: string[] = [];
  for (const ns of namespaces) {
    const matches = labelSelectorMatches(selector, ns.metadata.labels);
    if (matches === undefined) return { unknown: 'the namespaceSelector has an operator the API server does not know' };
    (matches ? selected : left).push(ns.metadata.name ?? '');
  }
  return selected.length <= left.length ? { only: selected } : { allBut: left };
}

function touchesNamespaces(rule: WebhookRule): boolean {
  return (
    (rule.apiGroups.includes('') || rule.apiGroups.includes('*')) &&
    rule.resources.some((r) => r === '*' || r === 'namespaces' || r === '*/*') &&
    rule.operations.some((o) => ['*', 'CREATE', 'UPDATE', 'DELETE'].includes(o))
  );
}

/** `CREATE/UPDATE namespaces; * pods`: at most three rules, then how many more. */
function describeIntercepts(rules: WebhookRule[]): string {
  const texts = [
    ...new Set(
      rules.map((r) => {
        const ops = r.operations.includes('*') ? 'any write of' : r.operations.join('/');
        const resources = r.apiGroups.flatMap((g) =>
          r.resources.map((res) => (g === '' ? res : g === '*' ? `${res} (any group)` : `${res}.${g}`)),
        );
        return `${ops} ${resources.join(', ')}`;
      }),
    ),
  ];
  return texts.length <= 3 ? texts.join('; ') : `${texts.slice(0, 3).join('; ')}; and ${texts.length - 3} more`;
}

/** Deployments whose pods the Service selects: who to scale back up or reinstall. */
function backendOf(ctx: Ctx, d: DeadWebhook): unknown {
  const deployments = ctx.optional('deployments');
  if (!Array.isArray(deployments)) return `unknown: ${deployments.unavailable}`;
  const services = ctx.optional('services');
  const svc = Array.isArray(services)
    ? services.find((s) => s.metadata.namespace === d.service.namespace && s.metadata.name === d.service.name)
    : undefined;
  const selector = field(svc, 'spec', 'selector') as Record<string, string> | undefined;
  if (!svc) return `none: Service ${keyOf(d.service)} does not exist`;
  if (!selector || Object.keys(selector).length === 0) return `unknown: Service ${keyOf(d.service)} has no selector`;
  const found = deployments
    .filter((dep) => dep.metadata.namespace === d.service.namespace)
    .filter((dep) =>
      labelSelectorMatches({ matchLabels: selector }, field(dep, 'spec', 'template', 'metadata', 'labels') as Record<string, string>),
    )
    .map((dep) => ({
      deployment: keyOf({ namespace: dep.metadata.namespace, name: dep.metadata.name ?? '' }),
      replicas: (field(dep, 'spec', 'replicas') as number | undefined) ?? 1,
      readyReplicas: (field(dep, 'status', 'readyReplicas') as number | undefined) ?? 0,
    }));
  return found.length > 0 ? found : `none: no Deployment in ${d.service.namespace} runs pods the Service selects`;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
