import rule from '../../../rules/cluster-api/paused-deletion.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['core/stuck-deletion/crds-capi.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    { name: 'a healthy Cluster', fixtures: [...base, 'core/stuck-deletion/capi-healthy.yaml'] },
    { name: 'a paused ClusterClass, nothing deleting', fixtures: [...base, 'core/stuck-deletion/capi-paused-class.yaml'] },
    { name: 'stuck objects that are not paused', fixtures: [...base, 'core/stuck-deletion/orphaned-finalizers.yaml'] },
  ],
  invalid: [
    {
      name: 'a paused Cluster deleting with its objects',
      fixtures: [...base, 'core/stuck-deletion/capi-paused-deletion.yaml'],
      findings: [{ reason: 'deleting-while-paused', object: 'Cluster/fleet/prod-b', severity: 'error' }],
    },
    {
      name: 'paused and deleting for a clusterctl move',
      fixtures: [...base, 'core/stuck-deletion/capi-interrupted-move.yaml'],
      findings: [{ reason: 'deleting-for-move', object: 'Cluster/fleet/prod-a', severity: 'error' }],
    },
  ],
});
