import { DoctorError } from '../errors.ts';

type Requirement = { op: 'exists' | 'notexists'; key: string } | { op: 'in' | 'notin'; key: string; values: string[] };

/**
 * Parses a Kubernetes label selector (`a=b,c!=d,e in (x,y),!f`) into a predicate, so a snapshot filters
 * exactly as the API server does for a live list.
 */
export function parseLabelSelector(selector: string): (labels: Record<string, string> | undefined) => boolean {
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
