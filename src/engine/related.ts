import { groupOf, keyOf, type ObjectRef } from '../kube/object.ts';
import type { Finding } from './finding.ts';
import { SEVERITIES } from './finding.ts';
import type { Rule } from './rule.ts';
import { pushTo } from '../util/collections.ts';

/** Each rule's meta.refines, by rule id: what relateFindings needs of the rules. */
export type RuleRefines = Readonly<Record<string, readonly string[]>>;

export function refinesOf(rules: readonly Rule[]): RuleRefines {
  return Object.fromEntries(rules.map((r) => [r.meta.id, r.meta.refines ?? []]));
}

const objectKey = (o: ObjectRef) => [groupOf(o.apiVersion), o.kind, keyOf(o)].join('|');

/**
 * Findings of different rules that share a root cause are presented as one: the most specific rule (the one that
 * `refines` the others, transitively) leads with its plan, the others say "see also" and drop theirs, so one
 * object never gets two contradicting ladders ("the owner runs, read its logs" against "the Cluster is paused,
 * nothing will remove them"). A finding leads another of a rule it refines when both are about the same object,
 * or when its plan writes to the other's object: an interrupted move's plan removes the Machine's finalizer behind
 * its own check, so core/stuck-deletion's finding on that Machine must not offer the same removal unguarded.
 * A finding also leads one of a rule it refines that names its object as the cause (`causedBy`): the unavailable
 * APIService's finding leads every namespace stuck on its discovery failure, whose plans would repeat its own.
 * Findings whose rules do not refine each other are left apart: their causes differ.
 *
 * Related after suppression (buildReport calls this on the findings a report shows): a finding whose leader was
 * suppressed is not left pointing at a finding that is not shown, and gets its own plan back.
 */
export function relateFindings(findings: readonly Finding[], declared: RuleRefines): Finding[] {
  const refines = new Map<string, Set<string>>();
  const closure = (id: string, seen = new Set<string>()): Set<string> => {
    for (const r of declared[id] ?? []) {
      if (!seen.has(r)) {
        seen.add(r);
        closure(r, seen);
      }
    }
    return seen;
  };
  for (const id of Object.keys(declared)) refines.set(id, closure(id));
  const specificity = (f: Finding) => refines.get(f.rule)?.size ?? 0;

  // Who could lead whom, found through indexes rather than by comparing every pair (a scan of thousands of stuck
  // objects relates its findings in linear time): the findings covering each object (their own, and every object
  // their plan writes to), and the findings about each object.
  const coveredBy = new Map<string, Finding[]>();
  const aboutObject = new Map<string, Finding[]>();
  for (const f of findings) {
    const keys = new Set([objectKey(f.object)]);
    for (const s of f.remediation?.steps ?? [])
      if (s.action.type !== 'manual' && s.action.type !== 'checkpoint') keys.add(objectKey(s.action.target));
    for (const key of keys) pushTo(coveredBy, key, f);
    pushTo(aboutObject, objectKey(f.object), f);
  }
  const order = new Map(findings.map((f, i) => [f, i]));
  const leaderOf = new Map<Finding, Finding>();
  for (const f of findings) {
    const possible = new Set(coveredBy.get(objectKey(f.object)));
    for (const cause of f.causedBy ?? []) for (const l of aboutObject.get(objectKey(cause)) ?? []) possible.add(l);
    // The most specific leads; between equals, the more severe, then the first found.
    const candidates = [...possible]
      .filter((l) => l !== f && refines.get(l.rule)?.has(f.rule))
      .sort(
        (a, b) =>
          specificity(b) - specificity(a) ||
          SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
          order.get(a)! - order.get(b)!,
      );
    if (candidates[0]) leaderOf.set(f, candidates[0]);
  }
  // A leader that is itself led hands its followers on to its own leader.
  const top = (f: Finding): Finding => {
    let l = f;
    for (let i = 0; leaderOf.has(l) && i < findings.length; i++) l = leaderOf.get(l)!;
    return l;
  };
  const seeAlso = new Map<Finding, string[]>();
  for (const f of leaderOf.keys()) pushTo(seeAlso, top(f), f.fingerprint);
  return findings.map((f) => {
    if (leaderOf.has(f)) {
      const { remediation: _dropped, ...rest } = f;
      return { ...rest, related: { ledBy: top(f).fingerprint } };
    }
    const also = seeAlso.get(f);
    return also ? { ...f, related: { seeAlso: also } } : f;
  });
}
