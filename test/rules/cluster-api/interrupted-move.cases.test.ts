import rule from '../../../rules/cluster-api/interrupted-move.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['core/stuck-deletion/crds-capi.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    { name: 'a healthy Cluster', fixtures: [...base, 'core/stuck-deletion/capi-healthy.yaml'] },
    { name: 'a paused Cluster deleting, no move', fixtures: [...base, 'core/stuck-deletion/capi-paused-deletion.yaml'] },
    { name: 'stuck objects that are not moved', fixtures: [...base, 'core/stuck-deletion/orphaned-finalizers.yaml'] },
  ],
  invalid: [
    {
      name: 'interrupted in its delete phase',
      fixtures: [...base, 'core/stuck-deletion/capi-interrupted-move.yaml'],
      findings: [{ reason: 'delete-phase', object: 'Cluster/fleet/prod-a', severity: 'error' }],
    },
    {
      name: 'interrupted waiting for block-move',
      fixtures: [...base, 'core/stuck-deletion/capi-block-move.yaml'],
      findings: [{ reason: 'left-by-move', object: 'Cluster/fleet/prod-c', severity: 'warning' }],
    },
    {
      name: 'paused together with its ClusterClass',
      fixtures: [...base, 'core/stuck-deletion/capi-paused-class.yaml'],
      findings: [{ reason: 'paused-with-class', object: 'Cluster/fleet/prod-d', severity: 'warning' }],
    },
  ],
});
