import type { Rule } from '../src/engine/rule.ts';
import fleetMissingValuesSecret from './fleet/missing-values-secret.ts';
import harvesterAddonStuckEnabling from './harvester/addon-stuck-enabling.ts';
import harvesterUpgradeStatusWiped from './harvester/upgrade-status-wiped.ts';
import kubevelaOrphanedClusterReference from './kubevela/orphaned-cluster-reference.ts';

/**
 * Every rule, in the order `kubectl doctor rules` lists them. A new rule file is added here too;
 * test/rules/registry.test.ts fails if one is forgotten.
 */
export const allRules: readonly Rule[] = [
  kubevelaOrphanedClusterReference,
  fleetMissingValuesSecret,
  harvesterAddonStuckEnabling,
  harvesterUpgradeStatusWiped,
] as Rule[];
