import rule from '../../../rules/core/namespace-stuck-terminating.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['core/stuck-deletion/crds-capi.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    { name: 'stuck objects, no namespace deleting', fixtures: [...base, 'core/stuck-deletion/orphaned-finalizers.yaml'] },
    { name: 'built-in finalizers in active namespaces', fixtures: [...base, 'core/stuck-deletion/builtins.yaml'] },
    { name: 'a deleting CRD', fixtures: [...base, 'core/stuck-deletion/crd-terminating.yaml'] },
  ],
  invalid: [
    {
      name: 'an unavailable APIService blocks every namespace deletion',
      fixtures: [...base, 'core/stuck-deletion/namespace-discovery.yaml'],
      findings: [
        { reason: 'discovery-failure', object: 'Namespace/monitoring', severity: 'critical' },
        { reason: 'discovery-failure', object: 'Namespace/old-team', severity: 'critical' },
      ],
    },
    {
      name: 'content held by finalizers',
      fixtures: [...base, 'core/stuck-deletion/namespace-children.yaml'],
      findings: [{ reason: 'content-held-by-finalizers', object: 'Namespace/team-a', severity: 'error' }],
    },
    {
      name: 'content held by an orphaned provider finalizer',
      fixtures: [...base, 'core/stuck-deletion/namespace-content.yaml'],
      findings: [{ reason: 'content-held-by-finalizers', object: 'Namespace/capi-aws', severity: 'error' }],
    },
    {
      name: 'what the namespace conditions say, or their silence',
      fixtures: ['core/namespace-stuck-terminating/conditions.yaml'],
      findings: [
        { reason: 'group-version-parsing', object: 'Namespace/parse-failure', severity: 'error' },
        { reason: 'content-remaining', object: 'Namespace/finalizers-remaining', severity: 'error' },
        { reason: 'content-remaining-unexplained', object: 'Namespace/unexplained', severity: 'error' },
        { reason: 'no-content', object: 'Namespace/empty', severity: 'error' },
      ],
    },
  ],
  shownElsewhere: {
    'content-delete-failed': 'NamespaceDeletionContentFailure: error, with the deletes that failed',
    'content-unknown': 'nothing seen in a namespace, but a type could not be listed: unknown, not "no content"',
  },
});
