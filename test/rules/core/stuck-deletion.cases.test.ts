import rule from '../../../rules/core/stuck-deletion.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['core/stuck-deletion/crds-capi.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    { name: 'a Cluster API block-move annotation, nothing deleting', fixtures: [...base, 'core/stuck-deletion/capi-block-move.yaml'] },
    { name: 'a running Cluster API controller, nothing deleting', fixtures: [...base, 'core/stuck-deletion/capi-core-controller.yaml'] },
    { name: 'a paused ClusterClass, nothing deleting', fixtures: [...base, 'core/stuck-deletion/capi-paused-class.yaml'] },
    {
      name: 'a namespace blocked by discovery: core/namespace-stuck-terminating reports it',
      fixtures: [...base, 'core/stuck-deletion/namespace-discovery.yaml'],
    },
  ],
  invalid: [
    {
      name: 'built-in finalizers held longer than the threshold',
      fixtures: [...base, 'core/stuck-deletion/builtins.yaml'],
      findings: [
        { reason: 'finalizer-not-removed', object: 'PersistentVolumeClaim/apps/data-0', severity: 'warning' },
        { reason: 'finalizer-not-removed', object: 'Deployment/apps/frontend', severity: 'warning' },
      ],
    },
    {
      name: 'deleting Cluster API objects whose controller is gone',
      fixtures: [...base, 'core/stuck-deletion/capi-paused-deletion.yaml'],
      findings: [
        { reason: 'orphaned-finalizer', object: 'Cluster/fleet/prod-b', severity: 'error' },
        { reason: 'orphaned-finalizer', object: 'DockerMachine/fleet/prod-b-m1', severity: 'error' },
        { reason: 'orphaned-finalizer', object: 'Machine/fleet/prod-b-m1', severity: 'error' },
      ],
    },
    {
      name: 'orphaned provider finalizers',
      fixtures: [...base, 'core/stuck-deletion/orphaned-finalizers.yaml'],
      findings: [
        { reason: 'orphaned-finalizer', object: 'DockerMachine/fleet/prod-a-md-0-abc', severity: 'error' },
        { reason: 'orphaned-finalizer', object: 'Machine/fleet/prod-a-md-0-abc', severity: 'error' },
      ],
    },
    {
      name: 'a CRD whose instances are still deleting',
      fixtures: [...base, 'core/stuck-deletion/crd-terminating.yaml'],
      findings: [
        { reason: 'crd-instances-remain', object: 'CustomResourceDefinition/gadgets.example.com', severity: 'error' },
        { reason: 'finalizer-not-removed', object: 'Gadget/lab/g1', severity: 'error' },
      ],
    },
    {
      name: 'a deleting namespace with stuck content, and a stuck object elsewhere',
      fixtures: [...base, 'core/stuck-deletion/namespace-children.yaml'],
      findings: [
        { reason: 'finalizer-not-removed', object: 'ConfigMap/other/stuck', severity: 'error' },
        { reason: 'namespace-content-stuck', object: 'Namespace/team-a', severity: 'error' },
      ],
    },
  ],
});
