import rule from '../../../rules/harvester/addon-stuck-enabling.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['harvester/addon-stuck-enabling/crds.yaml', 'harvester/addon-stuck-enabling/settings-v1.4.yaml'];

ruleTester(rule, {
  now: '2026-01-20T12:00:00Z',
  valid: [
    { name: 'a failed install Job the controller already saw', fixtures: [...base, 'harvester/addon-stuck-enabling/failed.yaml'] },
    { name: 'installing, younger than the threshold', fixtures: [...base, 'harvester/addon-stuck-enabling/installing.yaml'] },
    { name: 'a stale-looking Job on a healthy addon', fixtures: [...base, 'harvester/addon-stuck-enabling/stale-job-healthy.yaml'] },
    { name: 'an upgrade upgrading system services', fixtures: [...base, 'harvester/addon-stuck-enabling/upgrade-system-services.yaml'] },
    { name: 'Harvester not installed', fixtures: ['harvester/addon-stuck-enabling/no-harvester.yaml'], status: 'skipped' },
  ],
  invalid: [
    {
      name: 'HelmChart missing',
      fixtures: [...base, 'harvester/addon-stuck-enabling/helmchart-missing.yaml'],
      findings: [{ reason: 'helmchart-missing', object: 'Addon/harvester-system/harvester-seeder', severity: 'warning' }],
    },
    {
      name: 'HelmChart owned by another Addon',
      fixtures: [...base, 'harvester/addon-stuck-enabling/helmchart-not-owned.yaml'],
      findings: [{ reason: 'helmchart-not-owned', object: 'Addon/rancher-vcluster/rancher-vcluster', severity: 'warning' }],
    },
    {
      name: 'install Job still running, image pull failing',
      fixtures: [...base, 'harvester/addon-stuck-enabling/image-pull.yaml'],
      findings: [{ reason: 'job-running', object: 'Addon/cattle-logging-system/rancher-logging', severity: 'warning' }],
    },
    {
      name: 'install Job gone',
      fixtures: [...base, 'harvester/addon-stuck-enabling/job-missing.yaml'],
      findings: [{ reason: 'job-missing', object: 'Addon/harvester-system/pcidevices-controller', severity: 'warning' }],
    },
    {
      name: 'stale Job timestamp, Job succeeded',
      fixtures: [...base, 'harvester/addon-stuck-enabling/stale-job.yaml'],
      findings: [{ reason: 'stale-job-timestamp', object: 'Addon/harvester-system/harvester-vm-dhcp-controller', severity: 'error' }],
    },
    {
      name: 'stale Job timestamp, in a kubectl doctor dump (values redacted)',
      fixtures: [...base, 'harvester/addon-stuck-enabling/dumped-stale-job.yaml'],
      findings: [{ reason: 'stale-job-timestamp', object: 'Addon/harvester-system/harvester-vm-dhcp-controller', severity: 'error' }],
    },
    {
      name: 'stale Job timestamp, Job failed',
      fixtures: [...base, 'harvester/addon-stuck-enabling/stale-job-failed.yaml'],
      findings: [{ reason: 'stale-job-timestamp', object: 'Addon/harvester-system/vm-import-controller', severity: 'error' }],
    },
    {
      name: 'stale Job timestamp, HelmChart differs from the Addon',
      fixtures: [...base, 'harvester/addon-stuck-enabling/stale-version-mismatch.yaml'],
      findings: [{ reason: 'stale-job-timestamp', object: 'Addon/harvester-system/harvester-vm-dhcp-controller', severity: 'error' }],
    },
  ],
  shownElsewhere: {
    'job-name-empty': 'reports an empty status.jobName: check helm-controller, then a checkpoint before the re-enable plan',
    'job-current-not-advanced': 'stays silent even if InProgress were still True, and is reported once OperationFailed is False',
  },
});
