import { groupOf, keyOf, versionOf } from '../kube/object.ts';
import type { LabelSelector } from '../kube/selector.ts';
import type { Finding } from '../engine/finding.ts';
import type { WriteAction } from './actions.ts';

/**
 * Admission webhooks whose backend is down refuse the writes they intercept (failurePolicy Fail), our own plans'
 * writes included. The rule that finds them records what each intercepts (InterceptSpec) in its evidence; this
 * module matches a plan's writes against it the way kube-apiserver does (k8s.io/apiserver
 * pkg/admission/plugin/webhook: predicates/rules/rules.go Matcher, predicates/namespace/matcher.go
 * MatchNamespaceSelector, generic/webhook.go ShouldCallHook), so `--fix` and `-o script` can warn before a write
 * that the API server would refuse.
 */
export const DEAD_WEBHOOK_RULE = 'admission/webhook-backend-unavailable';

/** admissionregistration.k8s.io/v1 RuleWithOperations. */
export interface WebhookRule {
  operations: string[];
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  scope?: string;
}

/**
 * The namespaces whose objects the namespaceSelector sends to the webhook, among those the scan read: `all` (an
 * empty selector), the shorter of the selected (`only`) and the left-out (`allBut`) names, or why it is unknown.
 */
export type NamespaceScope = 'all' | { only: string[] } | { allBut: string[] } | { unknown: string };

export interface InterceptSpec {
  rules: WebhookRule[];
  /** v1 defaults it to Equivalent. */
  matchPolicy: string;
  namespaceSelector?: LabelSelector;
  namespaces: NamespaceScope;
  /** Present only when it selects something: the labels of a plan's target are not known here. */
  objectSelector?: LabelSelector;
  /** Names of CEL matchConditions (which can exclude requests): not evaluated here. */
  matchConditions?: string[];
}

/** One webhook of a configuration, as the rule's evidence records it. */
export interface DeadWebhookEvidence {
  name: string;
  index: number;
  service: string;
  problem: string;
  intercepts: InterceptSpec;
}

/** What kube-apiserver's admission sees of one of our writes. */
export interface AdmissionRequest {
  group: string;
  version: string;
  resource: string;
  subresource: string;
  operation: 'UPDATE' | 'DELETE';
  /** The object's namespace; for a Namespace, its own name (attr.GetNamespace() does the same). */
  namespace: string;
}

/** Webhooks are never called for these (rules.go IsExemptAdmissionConfigurationResource): no deadlock on their own fix. */
const EXEMPT = new Set([
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
]);

export function requestOf(action: WriteAction): AdmissionRequest {
  const { target } = action;
  const resource = target.resource.split('.')[0]!;
  const namespace = target.namespaced
    ? (target.namespace ?? '')
    : resource === 'namespaces' && groupOf(target.apiVersion) === ''
      ? target.name
      : '';
  const base = { group: groupOf(target.apiVersion), version: versionOf(target.apiVersion), resource, namespace };
  switch (action.type) {
    case 'json-patch':
    case 'merge-patch':
      // A PATCH is admitted as an UPDATE.
      return { ...base, subresource: action.subresource ?? '', operation: 'UPDATE' };
    case 'delete':
      return { ...base, subresource: '', operation: 'DELETE' };
    case 'finalize-namespace':
      return { ...base, subresource: 'finalize', operation: 'UPDATE' };
  }
}

const anyOf = (items: readonly string[], value: string) => items.includes('*') || items.includes(value);

function ruleMatches(rule: WebhookRule, req: AdmissionRequest, ignoreVersion: boolean): boolean {
  const isNamespace = req.group === '' && req.resource === 'namespaces';
  const scope = rule.scope ?? '*';
  if (scope === 'Namespaced' && (isNamespace || req.namespace === '')) return false;
  if (scope === 'Cluster' && !(isNamespace || req.namespace === '')) return false;
  if (!anyOf(rule.operations, req.operation) || !anyOf(rule.apiGroups, req.group)) return false;
  if (!ignoreVersion && !anyOf(rule.apiVersions, req.version)) return false;
  return rule.resources.some((r) => {
    const [res, sub = ''] = r.split('/', 2) as [string, string?];
    return (res === '*' || res === req.resource) && (sub === '*' || sub === req.subresource);
  });
}

export type Verdict = { intercepted: 'yes' | 'maybe'; why?: string } | { intercepted: 'no' };

/** Whether the API server would send `req` to a webhook that intercepts `spec`. */
export function intercepts(spec: InterceptSpec, req: AdmissionRequest): Verdict {
  if (req.group === 'admissionregistration.k8s.io' && EXEMPT.has(req.resource)) return { intercepted: 'no' };
  const maybe: string[] = [];
  const exact = spec.rules.some((r) => ruleMatches(r, req, false));
  if (!exact) {
    // matchPolicy Equivalent also matches the same resource through another served version (ShouldCallHook).
    if (spec.matchPolicy === 'Equivalent' && spec.rules.some((r) => ruleMatches(r, req, true)))
      maybe.push(`its rules name another version of ${req.resource}, which matchPolicy Equivalent also sends to it`);
    else return { intercepted: 'no' };
  }
  // A cluster-scoped object other than a Namespace is never exempted by the namespaceSelector.
  if (req.namespace !== '') {
    const ns = spec.namespaces;
    if (typeof ns === 'object' && 'only' in ns && !ns.only.includes(req.namespace)) return { intercepted: 'no' };
    if (typeof ns === 'object' && 'allBut' in ns && ns.allBut.includes(req.namespace)) return { intercepted: 'no' };
    if (typeof ns === 'object' && 'unknown' in ns) maybe.push(`its namespaceSelector could not be evaluated (${ns.unknown})`);
  }
  if (spec.objectSelector) maybe.push('its objectSelector depends on the labels of the object');
  if (spec.matchConditions?.length) maybe.push(`its matchConditions (${spec.matchConditions.join(', ')}) are not evaluated here`);
  return maybe.length > 0 ? { intercepted: 'maybe', why: maybe.join('; ') } : { intercepted: 'yes' };
}

function deadWebhooksOf(finding: Finding): DeadWebhookEvidence[] {
  const webhooks = finding.evidence.webhooks;
  return finding.rule === DEAD_WEBHOOK_RULE && Array.isArray(webhooks) ? (webhooks as DeadWebhookEvidence[]) : [];
}

/**
 * For each finding (by fingerprint), one line per write of its plan that a dead webhook with failurePolicy Fail
 * (a finding of admission/webhook-backend-unavailable in the same report) would refuse, naming the webhook and
 * the finding whose plan unblocks it.
 */
export function interceptedWrites(findings: readonly Finding[]): Map<string, string[]> {
  const dead = findings.flatMap((f) => deadWebhooksOf(f).map((w) => ({ finding: f, webhook: w })));
  const warnings = new Map<string, string[]>();
  if (dead.length === 0) return warnings;
  for (const finding of findings) {
    const lines: string[] = [];
    for (const [i, step] of (finding.remediation?.steps ?? []).entries()) {
      const { action } = step;
      if (action.type === 'manual' || action.type === 'checkpoint') continue;
      const req = requestOf(action);
      for (const { finding: by, webhook } of dead) {
        const verdict = intercepts(webhook.intercepts, req);
        if (verdict.intercepted === 'no') continue;
        const what = `${req.operation} ${req.resource}${req.subresource ? `/${req.subresource}` : ''}${req.group ? `.${req.group}` : ''} ${keyOf(action.target)}`;
        lines.push(
          `step ${i + 1} (${what}) ${verdict.intercepted === 'yes' ? 'will be refused' : `may be refused (${verdict.why})`}: webhook ${webhook.name} of ${by.object.kind} ${by.object.name} intercepts it with failurePolicy Fail and its backend is down (${webhook.problem}); fix that finding (${DEAD_WEBHOOK_RULE}) first`,
        );
      }
    }
    if (lines.length > 0) warnings.set(finding.fingerprint, lines);
  }
  return warnings;
}

/** Dead webhooks' findings first, so that a run fixes them before the writes they would refuse. Stable otherwise. */
export function webhooksFirst<T extends Pick<Finding, 'rule'>>(findings: readonly T[]): T[] {
  return [...findings.filter((f) => f.rule === DEAD_WEBHOOK_RULE), ...findings.filter((f) => f.rule !== DEAD_WEBHOOK_RULE)];
}
