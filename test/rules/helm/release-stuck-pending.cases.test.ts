import rule from '../../../rules/helm/release-stuck-pending.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['helm/release-stuck-pending/crds.yaml'];

ruleTester(rule, {
  now: '2026-11-22T12:00:00Z',
  valid: [
    {
      name: 'deployed, superseded and failed revisions; a pending one younger than 15 minutes',
      fixtures: [...base, 'helm/release-stuck-pending/healthy.yaml'],
    },
  ],
  invalid: [
    {
      name: 'pending-upgrade over a deployed revision (Flux, configmap driver)',
      fixtures: [...base, 'helm/release-stuck-pending/broken-flux-configmap.yaml'],
      findings: [{ reason: 'pending-over-deployed', object: 'ConfigMap/prod/sh.helm.release.v1.prod-podinfo.v5', severity: 'error' }],
    },
    {
      name: 'pending-upgrade of a HelmChart release',
      fixtures: [...base, 'helm/release-stuck-pending/broken-helmchart.yaml'],
      findings: [
        {
          reason: 'pending-over-deployed',
          object: 'Secret/cattle-monitoring-system/sh.helm.release.v1.rancher-monitoring.v3',
          severity: 'error',
        },
      ],
    },
    {
      name: 'pending-install, never deployed',
      fixtures: [...base, 'helm/release-stuck-pending/broken-pending-install.yaml'],
      findings: [{ reason: 'never-deployed', object: 'Secret/data/sh.helm.release.v1.db.v1', severity: 'error' }],
    },
    {
      name: 'pending-upgrade interrupted',
      fixtures: [...base, 'helm/release-stuck-pending/broken-pending-upgrade.yaml'],
      findings: [{ reason: 'pending-over-deployed', object: 'Secret/apps/sh.helm.release.v1.web.v3', severity: 'error' }],
    },
  ],
});
