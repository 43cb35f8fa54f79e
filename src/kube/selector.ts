import { DoctorError } from '../errors.ts';

type Requirement = { op: 'exists' | 'notexists'; key: string } | { op: 'in' | 'notin'; key: string; values: string[] };

/** Whether an object's labels match a selector. */
export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/**
 * Parses a Kubernetes label selector (`a=b,c!=d,e in (x,y),!f`) into a predicate, so a snapshot filters
 * exactly as the API server does for a live list.
 */
export function parseLabelSelector(selector: string): LabelMatcher {
  const requirements = requirementsOf(selector);
  return (labels) =>
    requirements.every((r) => {
      const has = labels !== undefined && Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key]!);
        case 'notin':
          return !has || !r.values.includes(labels[r.key]!);
      }
    });
}

/**
 * A label every object the selector matches has: the key of its first `key=v` or `key in (...)` with those values, or
 * of its first `key`; undefined when it requires none (`!key`, `key!=v`, `key notin (...)` alone).
 */
export function requiredLabel(selector: string): { key: string; values?: readonly string[] } | undefined {
  const requirements = requirementsOf(selector);
  const valued = requirements.find((r) => r.op === 'in');
  if (valued?.op === 'in') return { key: valued.key, values: valued.values };
  const key = requirements.find((r) => r.op === 'exists')?.key;
  return key === undefined ? undefined : { key };
}

function requirementsOf(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(selector)) {
    const term = part.trim();
    if (!term) continue;
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^!\s*([^\s=!(),]+)$/))) requirements.push({ op: 'notexists', key: m[1]! });
    else if ((m = term.match(/^([^\s=!(),]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      requirements.push({ op: m[2] as 'in' | 'notin', key: m[1]!, values });
    } else if ((m = term.match(/^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      requirements.push({ op: m[2] === '!=' ? 'notin' : 'in', key: m[1]!, values: [m[3]!] });
    } else if ((m = term.match(/^([^\s=!(),]+)$/))) requirements.push({ op: 'exists', key: m[1]! });
    else throw new DoctorError(`invalid label selector "${selector}": cannot parse "${term}"`);
  }
  return requirements;
}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

/** A metav1.LabelSelector as objects carry it (webhooks' namespaceSelector and objectSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** True when the selector selects everything: absent, or with no requirement (metav1.LabelSelectorAsSelector). */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
}

/**
 * Whether a metav1.LabelSelector selects `labels`, as apimachinery's LabelSelectorAsSelector evaluates it:
 * matchLabels and every matchExpression (In, NotIn, Exists, DoesNotExist) must hold. Undefined for an operator
 * the API server would have refused, so a caller can say "unknown" instead of guessing.
 */
export function labelSelectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean | undefined {
  const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (!has(key) || labels![key] !== value) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has(e.key) || !values.includes(labels![e.key]!)) return false;
        break;
      case 'NotIn':
        if (has(e.key) && values.includes(labels![e.key]!)) return false;
        break;
      case 'Exists':
        if (!has(e.key)) return false;
        break;
      case 'DoesNotExist':
        if (has(e.key)) return false;
        break;
      default:
        return undefined;
    }
  }
  return true;
}
