import rule from '../../../rules/fleet/missing-values-secret.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['fleet/missing-values-secret/crds.yaml', 'fleet/missing-values-secret/controller-v0.13.yaml'];

ruleTester(rule, {
  now: '2026-01-14T12:00:00Z',
  valid: [
    { name: 'empty valuesHash: no Secret expected', fixtures: [...base, 'fleet/missing-values-secret/healthy-empty-hash.yaml'] },
    { name: 'the options Secret exists', fixtures: [...base, 'fleet/missing-values-secret/healthy-with-secret.yaml'] },
    { name: 'Fleet v0.15 controller alone', fixtures: [...base, 'fleet/missing-values-secret/controller-v0.15.yaml'] },
  ],
  invalid: [
    {
      name: 'a Bundle whose values Secret is missing',
      fixtures: [...base, 'fleet/missing-values-secret/broken-bundle-values.yaml'],
      findings: [{ reason: 'values-secret-missing', object: 'Bundle/fleet-default/monitoring', severity: 'error' }],
    },
    {
      name: 'a BundleDeployment whose options Secret is gone',
      fixtures: [...base, 'fleet/missing-values-secret/broken-missing-secret.yaml'],
      findings: [
        {
          reason: 'options-secret-missing',
          object: 'BundleDeployment/cluster-fleet-default-c-abcde-0f1e2d3c4b5a/myrepo-apps-nginx',
          severity: 'error',
        },
      ],
    },
    {
      name: 'the options Secret owned by another BundleDeployment uid',
      fixtures: [...base, 'fleet/missing-values-secret/broken-stale-owner.yaml'],
      findings: [
        {
          reason: 'options-secret-stale-owner',
          object: 'BundleDeployment/cluster-fleet-default-c-fghij-5a6b7c8d9e0f/api',
          severity: 'warning',
        },
      ],
    },
    {
      name: 'the options Secret is being deleted',
      fixtures: [...base, 'fleet/missing-values-secret/broken-secret-deleting.yaml'],
      findings: [
        { reason: 'options-secret-deleting', object: 'BundleDeployment/cluster-fleet-local-local-1a3d67d0a899/api', severity: 'warning' },
      ],
    },
    {
      name: 'waiting for values although the Secret exists',
      fixtures: [
        'fleet/missing-values-secret/crds.yaml',
        'fleet/missing-values-secret/controller-v0.15.yaml',
        'fleet/missing-values-secret/broken-waiting-with-secret.yaml',
      ],
      findings: [
        { reason: 'waiting-with-secret', object: 'BundleDeployment/cluster-fleet-local-local-1a3d67d0a899/db', severity: 'warning' },
      ],
    },
  ],
  shownElsewhere: {
    'ready-reports-missing-secret': 'reports the Bundle condition alone when its BundleDeployment is not there (both capitalisations)',
  },
});
