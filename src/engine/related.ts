import { groupOf, keyOf } from '../kube/object.ts';
import type { Finding } from './finding.ts';
import { SEVERITIES } from './finding.ts';
import type { Rule } from './rule.ts';

/**
 * Findings of different rules on one object that share a root cause are presented as one: the most specific rule
 * (the one that `refines` the others, transitively) leads with its plan, the others say "see also" and drop
 * theirs, so one object never gets two contradicting ladders ("the owner runs, read its logs" against "the
 * Cluster is paused, nothing will remove them"). Findings on one object whose rules do not refine each other are
 * left apart: their causes differ.
 */
export function relateFindings(findings: Finding[], rules: readonly Rule[]): Finding[] {
  const refines = new Map<string, Set<string>>();
  const closure = (id: string, seen = new Set<string>()): Set<string> => {
    for (const r of rules.find((x) => x.meta.id === id)?.meta.refines ?? []) {
      if (!seen.has(r)) { seen.add(r); closure(r, seen); }
    }
    return seen;
  };
  for (const r of rules) refines.set(r.meta.id, closure(r.meta.id));

  const byObject = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = [groupOf(f.object.apiVersion), f.object.kind, keyOf(f.object)].join('|');
    byObject.set(key, [...(byObject.get(key) ?? []), f]);
  }
  const out = new Map<Finding, Finding>();
  for (const group of byObject.values()) {
    if (group.length < 2) continue;
    // Most specific first: a finding whose rule refines more of the others, then the more severe.
    const ranked = [...group].sort((a, b) => specificity(b) - specificity(a) || SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
    const leader = ranked[0]!;
    const led = group.filter((f) => f !== leader && refines.get(leader.rule)?.has(f.rule));
    if (led.length === 0) continue;
    out.set(leader, { ...leader, related: { seeAlso: led.map((f) => f.fingerprint) } });
    for (const f of led) {
      const { remediation: _dropped, ...rest } = f;
      out.set(f, { ...rest, related: { ledBy: leader.fingerprint } });
    }
    function specificity(f: Finding): number {
      return group.filter((g) => g !== f && refines.get(f.rule)?.has(g.rule)).length;
    }
  }
  return findings.map((f) => out.get(f) ?? f);
}
