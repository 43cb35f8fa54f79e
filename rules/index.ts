import type { Rule } from '../src/engine/rule.ts';

/**
 * Every rule, in the order `kubectl doctor rules` lists them. A new rule file is added here too;
 * test/rules/registry.test.ts fails if one is forgotten.
 */
export const allRules: readonly Rule[] = [
] as Rule[];
