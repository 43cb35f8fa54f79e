import { performance } from 'node:perf_hooks';
import { groupOf, keyOf, refOf, type KubeObject, type ObjectRef } from '../kube/object.ts';
import { apiVersionOf, resourceName, type ResourceType } from '../cluster/resources.ts';
import type { ClusterSource, Discovery, ListOutcome, ListRequest, SourceInfo } from '../cluster/source.ts';
import type { SkippedObject } from '../cluster/validate.ts';
import { kubectlCommand } from '../plan/command.ts';
import type { ActionTarget } from '../plan/actions.ts';
import { refinesOf, type RuleRefines } from './related.ts';
import { pinAction } from '../plan/pin.ts';
import { establishedBy } from '../plan/patch.ts';
import { mapLimit } from '../util/concurrency.ts';
import { pushAll, pushTo, compareStrings } from '../util/collections.ts';
import { jsonKeyNeedles, projection, SubsetKeeper, unionOf } from './keep.ts';
import { parseLabelSelector, requiredLabel, type LabelMatcher } from '../kube/selector.ts';
import { fingerprintOf, SEVERITIES, type Finding, type Severity } from './finding.ts';
import { renderReason, type ListedType, type ResourceRead, type Rule, type RuleContext, type Subset } from './rule.ts';

/** `partial`: no findings, but the rule could not see everything it reads (never `pass` then). */
export type RuleStatus = 'pass' | 'partial' | 'fail' | 'skipped' | 'error';

export interface RuleResult {
  id: string;
  status: RuleStatus;
  /** The most severe finding the rule can report (its meta.severity): what a gap in its data could hide. */
  severity: Severity;
  /** Why the rule was skipped or errored, or what it could not read. */
  reason?: string;
  /** True when the rule could not see everything it needed: forbidden, unavailable, errored, or gaps in a `*` read. */
  incomplete: boolean;
  /** Resource types the rule could not read completely: not listable in a `*` read, or with malformed objects skipped. */
  gaps?: { resource: string; reason: string }[];
  /** Gaps accepted with --ignore-gaps: they no longer make the rule partial or the scan incomplete. */
  waivedGaps?: { resource: string; reason: string }[];
  durationMs: number;
  findings: number;
}

export interface ScanResult {
  source: SourceInfo;
  startedAt: Date;
  now: Date;
  rules: RuleResult[];
  /** Each with its own plan: which of them share a cause is decided on what a report shows (buildReport). */
  findings: Finding[];
  /** What the rules refine, for relating the findings a report shows (relateFindings). */
  refines: RuleRefines;
  /** Group-versions discovery could not describe (unavailable aggregated APIs). */
  discoveryFailures: { groupVersion: string; reason: string }[];
  /** Objects of the wrong shape that no rule saw (validate.ts). */
  skippedObjects: SkippedObject[];
  stats: Record<string, number>;
  /** Candidates younger than their rule's age threshold, not reported (ctx.heldBack). */
  heldBack: HeldBack[];
  /** Labels and annotations of the object each finding (by fingerprint) is about: for suppressions and selectors. */
  findingObjects: Map<string, KubeObject['metadata']>;
}

export interface HeldBack {
  rule: string;
  object: ObjectRef;
  reason: string;
}

export interface ScanOptions {
  rules: readonly Rule[];
  now: Date;
  minAgeMs?: number | undefined;
  namespace?: string | undefined;
  /** Lists in flight at once. */
  concurrency: number;
  /** Gaps to accept (--ignore-gaps): a group-version (`metrics.k8s.io/v1beta1`) or a resource (`pods.metrics.k8s.io`). */
  ignoreGaps?: readonly string[] | undefined;
  debug?: ((message: string) => void) | undefined;
  /** Told when the lists are known and after each one: how many of them are done, and the objects read so far. */
  progress?: ((state: ScanProgress) => void) | undefined;
  /**
   * Keep every object listed, whole (trimmed), whatever subsets and fields the reads declare, and make the reads of
   * rules that will be skipped: what a dump keeps. A scan with it must find what one without it finds (tested).
   */
  everyObject?: boolean | undefined;
}

export interface ScanProgress {
  /** Distinct lists (resource types, in their scopes) read so far, of `total`. */
  listed: number;
  total: number;
  objects: number;
}

/** How one read of a rule is served: one list, a list of every type, or nothing (not served, unavailable). */
export type Planned =
  | { kind: 'single'; request: ListRequest; key: string }
  | { kind: 'every'; requests: { request: ListRequest; key: string }[]; unavailable: { resource: string; reason: string }[] }
  | { kind: 'missing'; reason: string; incomplete: boolean };

class SkipSignal {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/**
 * Runs rules against a source: one discovery, each distinct list once (bounded concurrency), then every rule's
 * pure `check` over the shared results. A rule that throws is reported as `error`; the others still run.
 */
export async function runScan(source: ClusterSource, options: ScanOptions): Promise<ScanResult> {
  const startedAt = new Date();
  const findingObjects: ScanResult['findingObjects'] = new Map();
  const heldBack: HeldBack[] = [];
  const done = new Map<Rule, RuleResult & { found: Finding[] }>();
  const check = (rule: Rule, { plans, outcomeOf, discovery }: Pick<ClusterRead, 'plans' | 'outcomeOf' | 'discovery'>): void => {
    const started = performance.now();
    const result = runRule(rule, plans.get(rule)!, outcomeOf, discovery, options, findingObjects, heldBack);
    result.durationMs = Math.round((performance.now() - started) * 100) / 100;
    done.set(rule, result);
  };
  // A rule whose lists are all in is checked while the others are still listed; the rules reading every type last.
  const read = await readCluster(source, { ...options, whenRead: check });
  for (const rule of options.rules) if (!done.has(rule)) check(rule, read);

  const results: RuleResult[] = [];
  const findings: Finding[] = [];
  for (const rule of options.rules) {
    const { found, ...result } = done.get(rule)!;
    results.push(result);
    pushAll(findings, found);
  }
  findings.sort(compareFindings);

  return {
    source: source.info(),
    startedAt,
    now: options.now,
    rules: results,
    findings,
    refines: refinesOf(options.rules),
    discoveryFailures: [...read.discovery.failures],
    skippedObjects: uniqueSkipped([...read.fetched.values()].flatMap(({ outcome: o }) => (o.ok && o.skipped) || [])),
    stats: source.stats(),
    findingObjects,
    heldBack,
  };
}

/** What a scan read: what `kubectl doctor dump` writes and a scan's rules check (some while the last lists are read). */
export interface ClusterRead {
  discovery: Discovery;
  /** Each rule's reads, planned against discovery. */
  plans: Map<Rule, Record<string, Planned>>;
  /** The lists fetched, by request key; a request a broader list served has none of its own. */
  fetched: Map<string, { request: ListRequest; outcome: ListOutcome }>;
  /** The outcome of any planned request, projected from the list that served it. */
  outcomeOf(key: string): ListOutcome;
}

/**
 * Plans the selected rules' reads against one discovery and lists each distinct list once (bounded concurrency),
 * a broader list serving the narrower reads of the same type and scope.
 */
export async function readCluster(
  source: ClusterSource,
  options: Pick<ScanOptions, 'rules' | 'namespace' | 'concurrency' | 'debug' | 'progress' | 'everyObject'> & {
    /**
     * Told of each rule that reads no `*` as soon as every list it reads is in (a rule skipped for a missing API at
     * once), while other lists are still being read.
     */
    whenRead?: (rule: Rule, read: ClusterRead) => void;
  },
): Promise<ClusterRead> {
  const discovery = await source.discover();
  const requests = new Map<string, ListRequest>();
  const plans = new Map<Rule, Record<string, Planned>>();

  for (const rule of options.rules) {
    const planned: Record<string, Planned> = {};
    const ruleRequests = new Map<string, ListRequest>();
    for (const [key, read] of Object.entries(rule.meta.reads)) {
      planned[key] = planRead(read, discovery, options.namespace, ruleRequests);
    }
    // A rule without a required read is skipped: a scan lists and keeps nothing for its other reads (Fleet's
    // Secrets in a cluster without Fleet). A dump still reads them, for the scans of it to decide.
    const unmet = Object.entries(planned).find(([key, plan]) => plan.kind === 'missing' && !rule.meta.reads[key]!.optional);
    if (unmet && !options.everyObject) {
      plans.set(rule, Object.fromEntries([unmet]));
      continue;
    }
    for (const [key, request] of ruleRequests) if (!requests.has(key)) requests.set(key, request);
    plans.set(rule, planned);
  }

  const wanted = coveringLists(requests);
  const { keeper, keepingOf } = keeping(plans, requests, wanted, options.everyObject === true);
  const fetched: ClusterRead['fetched'] = new Map();
  // The namespaces list first: until it is in, the contents of every namespace are kept (SubsetKeeper).
  const unique = [...keepingOf.keys()].sort((a, b) => Number(isNamespaces(requests.get(b)!)) - Number(isNamespaces(requests.get(a)!)));
  const progress: ScanProgress = { listed: 0, total: unique.length, objects: 0 };
  options.progress?.({ ...progress });
  const read: ClusterRead = { discovery, plans, fetched, outcomeOf };
  // Every `*` read asks for the same metadata-only projection of each full list: made once, when the lists are final
  // (a rule checked while lists are still arriving sees them before the prune below).
  const projected = new Map<string, ListOutcome>();
  let listsFinal = false;
  // The lists each rule without a `*` read waits for; a rule with one is checked after the prune below.
  const waiting = new Map<Rule, Set<string>>();
  for (const [rule, planned] of plans) {
    const plansOf = Object.values(planned);
    if (plansOf.some((p) => p.kind === 'every')) continue;
    waiting.set(rule, new Set(plansOf.flatMap((p) => (p.kind === 'single' ? [wanted.get(p.key)!] : []))));
  }
  const tellReady = (): void => {
    for (const [rule, keys] of waiting) {
      if ([...keys].some((k) => !fetched.has(k))) continue;
      waiting.delete(rule);
      options.whenRead?.(rule, read);
    }
  };
  tellReady();
  const first = performance.now();
  await mapLimit(unique, options.concurrency, async (key) => {
    const request = requests.get(key)!;
    const started = performance.now();
    const keeping = keepingOf.get(key)!;
    const needles = keeping.everyOne ? undefined : keeping.needles;
    const outcome = await source.list({
      ...request,
      keep: keeping.keep,
      ...(needles ? { keepNeedles: needles, referenceNeedles: keeper.referenceNeedles() } : {}),
    });
    if (outcome.ok && isNamespaces(request)) keeper.namespacesListed();
    progress.listed++;
    const count = outcome.ok ? (outcome.count ?? outcome.items.length) : 0;
    progress.objects += count;
    options.progress?.({ ...progress });
    options.debug?.(
      `list ${describeRequest(request)}: ${outcome.ok ? `${count} items${count !== outcome.items.length ? ` (${outcome.items.length} kept)` : ''}, ${outcome.pages} pages` : outcome.reason} (${Math.round(performance.now() - started)}ms, from +${Math.round(started - first)}ms)`,
    );
    fetched.set(key, { request, outcome });
    tellReady();
  });
  for (const [key, { outcome }] of fetched) {
    const listKeeping = keepingOf.get(key)!;
    if (listKeeping.everyOne || !outcome.ok) continue;
    const count = outcome.count ?? outcome.items.length;
    outcome.items = keeper.prune(outcome.items, listKeeping.matchers);
    outcome.count = count;
  }
  listsFinal = true;
  function outcomeOf(key: string): ListOutcome {
    const served = wanted.get(key)!;
    const { outcome } = fetched.get(served)!;
    const request = requests.get(key)!;
    if (!outcome.ok || served === key) return outcome;
    // Served by a broader list: select and project as the API server would have for this request, so a
    // metadata-only read sees only metadata and a selector read only matching objects.
    const known = projected.get(key);
    if (known) return known;
    const matches = request.labelSelector && !requests.get(served)!.labelSelector ? parseLabelSelector(request.labelSelector) : () => true;
    const items = outcome.items.filter((o) => matches(o.metadata.labels));
    const projection: ListOutcome = {
      ...outcome,
      items: request.metadataOnly ? items.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata })) : items,
      ...(items.length !== outcome.items.length ? { count: items.length } : {}),
    };
    if (listsFinal) projected.set(key, projection);
    return projection;
  }
  return read;
}

/**
 * How each list keeps its objects: whole (trimmed) when it serves a read of its type or a `*` read without a subset
 * (or everyObject); else the union of the `*` reads' subsets and of the objects that label-selected reads it serves
 * select (`owner=helm` of the Secrets a `*` read lists).
 */
function keeping(
  plans: Map<Rule, Record<string, Planned>>,
  requests: Map<string, ListRequest>,
  wanted: Map<string, string>,
  everyObject: boolean,
): { keeper: SubsetKeeper; keepingOf: Map<string, ListKeeping> } {
  /** The reads of a type each list serves, other than `*` reads with a subset: what of its objects they read. */
  const readers = new Map<string, ListReader[]>();
  const subsets: Subset[] = [];
  const add = (served: string, reader: ListReader) => pushTo(readers, served, reader);
  for (const [rule, planned] of plans) {
    for (const [key, plan] of Object.entries(planned)) {
      const read = rule.meta.reads[key]!;
      if (plan.kind === 'single') {
        const served = wanted.get(plan.key)!;
        const selector = requests.get(plan.key)!.labelSelector;
        // A selected read served by an unselected list of the same type sees (and keeps) the objects it selects.
        const selects = served !== plan.key && selector !== undefined && requests.get(served)!.labelSelector === undefined;
        add(served, {
          matches: selects ? parseLabelSelector(selector) : undefined,
          label: selects ? requiredLabel(selector) : undefined,
          fields: everyObject ? undefined : read.fields,
        });
      } else if (plan.kind === 'every' && read.subset !== undefined && !everyObject) subsets.push(read.subset);
      else if (plan.kind === 'every')
        for (const r of plan.requests) add(wanted.get(r.key)!, { matches: undefined, label: undefined, fields: undefined });
    }
  }
  const keeper = new SubsetKeeper(unionOf(subsets));
  const keepingOf = (key: string): ListKeeping => {
    const listReaders = readers.get(key) ?? [];
    const everyOne = listReaders.some((r) => r.matches === undefined);
    const fields = listReaders.every((r) => r.fields !== undefined) ? listReaders.flatMap((r) => r.fields!) : undefined;
    const project = fields && fields.length > 0 ? projection(fields) : undefined;
    const matchers = listReaders.flatMap((r) => r.matches ?? []);
    // What a read of the type keeps: the object (trimmed), or only the fields its readers declare when every one does.
    const forReaders = (obj: KubeObject): KubeObject => {
      const whole = keeper.whole(obj);
      return project === undefined ? whole : project(whole);
    };
    if (everyOne) return { keep: forReaders, everyOne };
    if (matchers.length === 0) return { everyOne, matchers, keep: keeper.subset, needles: () => keeper.needles() };
    // An object a selected read keeps has the label its selector requires: that label, as JSON writes it, is a needle too.
    const labels = listReaders.map((r) => r.label);
    const labelNeedles = labels.every((l) => l !== undefined) ? labels.flatMap((l) => jsonKeyNeedles(l.key, l.values)) : undefined;
    return {
      everyOne,
      matchers,
      ...(labelNeedles ? { needles: () => withNeedles(keeper.needles(), labelNeedles) } : {}),
      // Run for every object of the list, mostly before V8 optimizes it: no closure per object.
      keep: (obj) => {
        for (const matches of matchers) if (matches(obj.metadata.labels)) return forReaders(obj);
        return keeper.subset(obj);
      },
    };
  };
  return { keeper, keepingOf: new Map([...new Set(wanted.values())].map((key) => [key, keepingOf(key)])) };
}

/** A read a list serves: the objects it selects (a selected read served by an unselected list) and the fields it reads. */
interface ListReader {
  matches: LabelMatcher | undefined;
  /** A label every object `matches` selects has (selector.ts requiredLabel). */
  label: ReturnType<typeof requiredLabel>;
  fields: readonly string[] | undefined;
}

function withNeedles(needles: readonly string[] | undefined, more: readonly string[]): readonly string[] | undefined {
  return needles === undefined ? undefined : [...needles, ...more];
}

/** How one list keeps its objects: every one of them (projected or whole), or a subset decided as pages arrive. */
type ListKeeping =
  | { everyOne: true; keep: (obj: KubeObject) => KubeObject }
  | {
      everyOne: false;
      matchers: LabelMatcher[];
      keep: (obj: KubeObject) => KubeObject | undefined;
      /** ListRequest.keepNeedles, when only the `*` reads' subset keeps (no label-selected read to match). */
      needles?: () => readonly string[] | undefined;
    };

function isNamespaces(request: ListRequest): boolean {
  return request.type.group === '' && request.type.resource === 'namespaces';
}

function planRead(read: ResourceRead, discovery: Discovery, namespace: string | undefined, requests: Map<string, ListRequest>): Planned {
  const add = (type: ResourceType): { request: ListRequest; key: string } => {
    const request: ListRequest = { type, metadataOnly: read.metadataOnly === true };
    if (type.namespaced && read.namespace !== undefined) request.namespace = read.namespace;
    else if (type.namespaced && namespace !== undefined && !read.allNamespaces) request.namespace = namespace;
    if (read.labelSelector) request.labelSelector = read.labelSelector;
    const key = requestKey(request);
    if (!requests.has(key)) requests.set(key, request);
    return { request, key };
  };
  if (read.resource === '*') {
    const listable = discovery.preferredTypes().filter((t) => t.verbs.length === 0 || t.verbs.includes('list'));
    // A group-version discovery could not describe is a gap too: its objects exist but cannot be seen.
    const unavailable = discovery.failures.map((f) => ({
      resource: f.groupVersion,
      reason: `api unavailable: ${f.groupVersion} (${f.reason})`,
    }));
    return { kind: 'every', requests: listable.map(add), unavailable };
  }
  const type = discovery.find(read.resource, read.version);
  if (!type) {
    const name = read.version ? `${read.resource}/${read.version}` : read.resource;
    const failure = discovery.failureFor(read.resource);
    return failure
      ? { kind: 'missing', reason: `api unavailable: ${name} (${failure.reason})`, incomplete: true }
      : { kind: 'missing', reason: `api not served: ${name}`, incomplete: false };
  }
  return { kind: 'single', ...add(type) };
}

function requestKey(r: ListRequest): string {
  return [resourceName(r.type), r.type.version, r.namespace ?? '', r.labelSelector ?? '', r.metadataOnly ? 'meta' : 'full'].join('|');
}

/**
 * Maps each request key to the key actually fetched. A list already fetched in full serves the metadata-only
 * and label-selected reads of the same type and scope, so those cost no request of their own.
 */
function coveringLists(requests: Map<string, ListRequest>): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const [key, request] of requests) {
    const candidates = [
      { ...request, metadataOnly: false },
      ...(request.labelSelector
        ? [
            { ...request, labelSelector: undefined, metadataOnly: false },
            { ...request, labelSelector: undefined },
          ]
        : []),
    ]
      .map(requestKey)
      .filter((k) => k !== key && requests.has(k));
    const broader = candidates.find((k) => !requests.get(k)!.metadataOnly || request.metadataOnly);
    wanted.set(key, broader ?? key);
  }
  // A covering list may itself be covered (metadata-only unselected by full unselected): follow to the fetched one.
  for (const [key, served] of wanted) {
    let target = served;
    while (wanted.get(target) !== target) target = wanted.get(target)!;
    wanted.set(key, target);
  }
  return wanted;
}

function runRule(
  rule: Rule,
  planned: Record<string, Planned>,
  outcomeOf: (key: string) => ListOutcome,
  discovery: Discovery,
  options: ScanOptions,
  findingObjects: ScanResult['findingObjects'],
  heldBack: HeldBack[],
): RuleResult & { found: Finding[] } {
  const base = { id: rule.meta.id, severity: rule.meta.severity, durationMs: 0, findings: 0, found: [] as Finding[] };
  const lists = new Map<string, KubeObject[] | { unavailable: string; incomplete: boolean }>();
  const every = new Map<string, { listed: ListedType[]; gaps: { resource: string; reason: string }[] }>();
  let gaps: { resource: string; reason: string }[] = [];
  let incompleteOptional = false;
  const optionalGaps: string[] = [];
  const unknowns: string[] = [];

  for (const [key, plan] of Object.entries(planned)) {
    const read = rule.meta.reads[key]!;
    if (plan.kind === 'every') {
      const listed: ListedType[] = [];
      const readGaps: { resource: string; reason: string }[] = [...plan.unavailable];
      for (const { request, key: requestKey } of plan.requests) {
        const outcome = outcomeOf(requestKey);
        if (outcome.ok) {
          listed.push({ type: request.type, items: outcome.items, count: outcome.count ?? outcome.items.length });
          if (outcome.skipped) readGaps.push(skippedGap(request, outcome.skipped));
          if (outcome.incomplete !== undefined) readGaps.push({ resource: resourceName(request.type), reason: outcome.incomplete });
        } else if (outcome.failure !== 'not-served') readGaps.push({ resource: resourceName(request.type), reason: outcome.reason });
      }
      every.set(key, { listed, gaps: readGaps });
      gaps.push(...readGaps);
      continue;
    }
    let missing: { reason: string; incomplete: boolean; failure?: string };
    if (plan.kind === 'missing') {
      missing = plan;
    } else {
      const outcome = outcomeOf(plan.key);
      if (outcome.ok && outcome.incomplete === undefined) {
        lists.set(key, outcome.items);
        if (outcome.skipped) gaps.push(skippedGap(plan.request, outcome.skipped));
        continue;
      }
      // Some objects but not all there is: nothing can be concluded from what is absent.
      missing = outcome.ok
        ? { reason: outcome.incomplete!, incomplete: true, failure: 'unavailable' }
        : { reason: outcome.reason, incomplete: outcome.failure !== 'not-served', failure: outcome.failure };
    }
    if (read.optional) {
      lists.set(key, { unavailable: missing.reason, incomplete: missing.incomplete });
      if (missing.incomplete) optionalGaps.push(missing.reason);
      continue;
    }
    if (missing.failure === 'error') return { ...base, status: 'error', reason: missing.reason, incomplete: true };
    return { ...base, status: 'skipped', reason: missing.reason, incomplete: missing.incomplete };
  }

  let typeOfKind: Map<string, Map<string, ResourceType>> | undefined;
  const ctx: RuleContext = {
    now: options.now,
    minAgeMs: options.minAgeMs,
    namespace: options.namespace,
    list(key) {
      const value = lists.get(key);
      if (!Array.isArray(value))
        throw new Error(
          `rule ${rule.meta.id} read "${key}" ${value ? 'is optional: use ctx.optional()' : 'is not declared in meta.reads'}`,
        );
      return value;
    },
    optional(key) {
      const value = lists.get(key);
      if (value === undefined) throw new Error(`rule ${rule.meta.id} read "${key}" is not declared in meta.reads`);
      if (!Array.isArray(value)) {
        incompleteOptional ||= value.incomplete;
        return { unavailable: value.unavailable };
      }
      return value;
    },
    everyType(key) {
      const value = every.get(key);
      if (!value) throw new Error(`rule ${rule.meta.id} read "${key}" is not a "*" read`);
      return value;
    },
    targetOf(obj) {
      const type = (typeOfKind ??= firstTypeOfKind(discovery.types)).get(groupOf(obj.apiVersion))?.get(obj.kind);
      const target: ActionTarget = {
        ...refOf(obj),
        resource: type ? resourceName(type) : obj.kind.toLowerCase(),
        namespaced: type ? type.namespaced : obj.metadata.namespace !== undefined,
      };
      if (obj.metadata.resourceVersion) target.resourceVersion = obj.metadata.resourceVersion;
      return target;
    },
    heldBack(obj, reason) {
      heldBack.push({ rule: rule.meta.id, object: refOf(obj), reason });
    },
    skip(reason) {
      throw new SkipSignal(reason);
    },
    unknown(reason) {
      if (!unknowns.includes(reason)) unknowns.push(reason);
    },
    finding(obj, details) {
      const object = refOf(obj);
      const finding: Finding = {
        rule: rule.meta.id,
        severity: details.severity ?? rule.meta.severity,
        object,
        reason: details.reason,
        message: renderReason(rule.meta.id, rule.meta.reasons, details.reason, details.data),
        evidence: details.evidence,
        fingerprint: fingerprintOf(rule.meta.id, object),
      };
      if (details.causedBy && details.causedBy.length > 0) finding.causedBy = details.causedBy.map(refOf);
      findingObjects.set(finding.fingerprint, obj.metadata);
      if (details.remediation) {
        const established = establishedBy(details.remediation.steps);
        finding.remediation = {
          summary: details.remediation.summary,
          // The command a person would type carries the precondition --fix sends: the resourceVersion the scan saw.
          steps: details.remediation.steps.map((s) => ({
            ...s,
            command:
              s.command ??
              kubectlCommand(
                s.action.type === 'manual' || s.action.type === 'checkpoint'
                  ? s.action
                  : pinAction(s.action, s.action.target.resourceVersion),
              ),
          })),
          ...(details.remediation.leftTo ? { leftTo: details.remediation.leftTo } : {}),
          ...(established.length > 0 ? { establishes: established } : {}),
          ...(details.remediation.awaitsDeletion?.length ? { awaitsDeletion: details.remediation.awaitsDeletion } : {}),
        };
      }
      return finding;
    },
  };

  try {
    const found = rule.check(ctx);
    const waivedGaps = gaps.filter((g) => options.ignoreGaps?.includes(g.resource));
    gaps = gaps.filter((g) => !waivedGaps.includes(g));
    const incomplete = gaps.length > 0 || incompleteOptional || unknowns.length > 0;
    // Nothing found in part of the data is not a pass: a consumer reading `status` alone must not take it for one.
    const result: RuleResult & { found: Finding[] } = {
      ...base,
      status: found.length > 0 ? 'fail' : incomplete ? 'partial' : 'pass',
      incomplete,
      findings: found.length,
      found,
    };
    const reasons: string[] = [];
    if (waivedGaps.length > 0) result.waivedGaps = waivedGaps;
    if (gaps.length > 0) {
      result.gaps = gaps;
      reasons.push(
        `could not read ${gaps.length} resource type${gaps.length === 1 ? '' : 's'} completely: ${gaps
          .slice(0, 3)
          .map((g) => g.reason)
          .join('; ')}${gaps.length > 3 ? '; ...' : ''}`,
      );
    }
    if (incompleteOptional) reasons.push(`without optional data: ${optionalGaps.join('; ')}`);
    if (unknowns.length > 0)
      reasons.push(`could not decide: ${unknowns.slice(0, 3).join('; ')}${unknowns.length > 3 ? `; and ${unknowns.length - 3} more` : ''}`);
    if (reasons.length > 0) result.reason = reasons.join('; ');
    return result;
  } catch (err) {
    if (err instanceof SkipSignal) return { ...base, status: 'skipped', reason: err.reason, incomplete: false };
    const message = (err as Error)?.message ?? String(err);
    return { ...base, status: 'error', reason: `rule failed: ${message.split('\n')[0]}`, incomplete: true };
  }
}

/**
 * The first served type of each `group/Kind`, as a search of discovery's types in order finds it: what a rule's
 * targetOf looks up for every finding and plan step (a cluster with a thousand CRDs has as many types).
 */
function firstTypeOfKind(types: readonly ResourceType[]): Map<string, Map<string, ResourceType>> {
  const byGroup = new Map<string, Map<string, ResourceType>>();
  for (const t of types) {
    let byKind = byGroup.get(t.group);
    if (!byKind) byGroup.set(t.group, (byKind = new Map()));
    if (!byKind.has(t.kind)) byKind.set(t.kind, t);
  }
  return byGroup;
}

/** The same object reaches several lists (one namespace and all of them): report it once. */
function uniqueSkipped(skipped: SkippedObject[]): SkippedObject[] {
  const seen = new Map<string, SkippedObject>();
  for (const s of skipped) seen.set(JSON.stringify([s.apiVersion, s.kind, s.namespace, s.name, s.reason, s.file]), s);
  return [...seen.values()];
}

function skippedGap(request: ListRequest, skipped: SkippedObject[]): { resource: string; reason: string } {
  const first = skipped[0]!;
  const name = first.name !== undefined ? ` ${first.namespace ? `${first.namespace}/` : ''}${first.name}` : '';
  const more = skipped.length > 1 ? ` and ${skipped.length - 1} more` : '';
  return {
    resource: resourceName(request.type),
    reason: `skipped ${skipped.length} malformed ${resourceName(request.type)}: ${first.kind}${name}: ${first.reason}${more}`,
  };
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
    compareStrings(a.rule, b.rule) ||
    compareStrings(keyOf(a.object), keyOf(b.object)) ||
    compareStrings(a.object.kind, b.object.kind)
  );
}

function describeRequest(r: ListRequest): string {
  return `${resourceName(r.type)} (${apiVersionOf(r.type)}${r.namespace ? `, ns ${r.namespace}` : ''}${r.labelSelector ? `, -l ${r.labelSelector}` : ''}${r.metadataOnly ? ', metadata' : ''})`;
}
