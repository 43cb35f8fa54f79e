import rule from '../../../rules/kubevela/orphaned-cluster-reference.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['kubevela/orphaned-cluster-reference/crds.yaml', 'kubevela/orphaned-cluster-reference/registry.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    { name: 'OCM ManagedCluster registered', fixtures: [...base, 'kubevela/orphaned-cluster-reference/healthy-ocm.yaml'] },
    { name: 'every referenced cluster registered', fixtures: [...base, 'kubevela/orphaned-cluster-reference/healthy-registered.yaml'] },
    { name: 'clusters chosen by label selector', fixtures: [...base, 'kubevela/orphaned-cluster-reference/healthy-selector.yaml'] },
    {
      name: 'registry in a custom gateway namespace',
      fixtures: [...base, 'kubevela/orphaned-cluster-reference/registry-custom-namespace.yaml'],
    },
  ],
  invalid: [
    {
      name: 'addon args name a gone cluster (kubevela#6727)',
      fixtures: [...base, 'kubevela/orphaned-cluster-reference/broken-addon.yaml'],
      findings: [{ reason: 'addon-args', object: 'Application/vela-system/addon-fluxcd', severity: 'error' }],
    },
    {
      name: 'only a compressed ResourceTracker remembers the cluster',
      fixtures: [...base, 'kubevela/orphaned-cluster-reference/broken-compressed-tracker.yaml'],
      findings: [{ reason: 'stale-reference', object: 'Application/team-a/web', severity: 'warning' }],
    },
    {
      name: 'only a compressed ResourceTracker remembers the cluster, in a kubectl doctor dump (entries decoded, data redacted)',
      fixtures: [...base, 'kubevela/orphaned-cluster-reference/dumped-compressed-tracker.yaml'],
      findings: [{ reason: 'stale-reference', object: 'Application/team-a/web', severity: 'warning' }],
    },
    {
      name: 'the last cluster of a topology is gone',
      fixtures: [...base, 'kubevela/orphaned-cluster-reference/broken-last-cluster.yaml'],
      findings: [{ reason: 'active-reference', object: 'Application/team-d/solo', severity: 'error' }],
    },
  ],
  shownElsewhere: {
    'orphaned-tracker': 'with -n, ignores trackers of Applications in other namespaces',
  },
});
