import type { ResourceRead, Rule } from '../../src/engine/rule.ts';
import { pushTo } from '../../src/util/collections.ts';

/** The reads of one type (`*` reads aside), by the resource they name, across every rule. */
export function readsByResource(rules: readonly Rule[]): Map<string, { rule: Rule; key: string; read: ResourceRead }[]> {
  const byResource = new Map<string, { rule: Rule; key: string; read: ResourceRead }[]>();
  for (const rule of rules)
    for (const [key, read] of Object.entries(rule.meta.reads))
      if (read.resource !== '*') pushTo(byResource, read.resource, { rule, key, read });
  return byResource;
}
