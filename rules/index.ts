import type { Rule } from '../src/engine/rule.ts';
import admissionWebhookBackendUnavailable from './admission/webhook-backend-unavailable.ts';
import clusterApiInterruptedMove from './cluster-api/interrupted-move.ts';
import clusterApiMachineDrainBlocked from './cluster-api/machine-drain-blocked.ts';
import clusterApiPausedDeletion from './cluster-api/paused-deletion.ts';
import coreApiServiceUnavailable from './core/apiservice-unavailable.ts';
import coreCrdStoredVersionNotServed from './core/crd-stored-version-not-served.ts';
import coreNamespaceStuckTerminating from './core/namespace-stuck-terminating.ts';
import coreStuckDeletion from './core/stuck-deletion.ts';
import fleetMissingValuesSecret from './fleet/missing-values-secret.ts';
import harvesterAddonStuckEnabling from './harvester/addon-stuck-enabling.ts';
import harvesterUpgradeStatusWiped from './harvester/upgrade-status-wiped.ts';
import helmReleaseStuckPending from './helm/release-stuck-pending.ts';
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
  coreStuckDeletion,
  coreNamespaceStuckTerminating,
  coreApiServiceUnavailable,
  admissionWebhookBackendUnavailable,
  clusterApiPausedDeletion,
  clusterApiInterruptedMove,
  helmReleaseStuckPending,
  coreCrdStoredVersionNotServed,
  clusterApiMachineDrainBlocked,
] as Rule[];
