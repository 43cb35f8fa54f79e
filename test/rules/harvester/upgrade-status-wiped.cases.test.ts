import rule from '../../../rules/harvester/upgrade-status-wiped.ts';
import { ruleTester } from '../../rule-tester.ts';

const base = ['harvester/upgrade-status-wiped/crds.yaml', 'harvester/upgrade-status-wiped/cluster-v1.4.2.yaml'];

ruleTester(rule, {
  now: '2026-01-20T12:00:00Z',
  valid: [
    { name: 'completed Upgrade', fixtures: [...base, 'harvester/upgrade-status-wiped/completed.yaml'] },
    { name: 'an Upgrade created seconds ago', fixtures: [...base, 'harvester/upgrade-status-wiped/fresh.yaml'] },
    { name: 'an Upgrade in progress', fixtures: [...base, 'harvester/upgrade-status-wiped/in-progress.yaml'] },
    { name: 'Harvester not installed', fixtures: ['harvester/upgrade-status-wiped/no-harvester.yaml'], status: 'skipped' },
  ],
  invalid: [
    {
      name: 'status wiped while nodes are upgrading',
      fixtures: [...base, 'harvester/upgrade-status-wiped/nodes-upgrading.yaml'],
      findings: [{ reason: 'completed-then-wiped', object: 'Upgrade/harvester-system/hvst-upgrade-7xn6v', severity: 'error' }],
    },
    {
      name: 'wiped and re-initialised by the controller',
      fixtures: [...base, 'harvester/upgrade-status-wiped/reinitialised.yaml'],
      findings: [{ reason: 'completed-then-wiped', object: 'Upgrade/harvester-system/hvst-upgrade-7xn6v', severity: 'error' }],
    },
    {
      name: 'wiped to an empty status',
      fixtures: [...base, 'harvester/upgrade-status-wiped/wiped-empty.yaml'],
      findings: [{ reason: 'completed-then-wiped', object: 'Upgrade/harvester-system/hvst-upgrade-7xn6v', severity: 'error' }],
    },
    {
      name: 'a same-version re-run',
      fixtures: [...base, 'harvester/upgrade-status-wiped/same-version-rerun.yaml'],
      findings: [{ reason: 'same-version-rerun', object: 'Upgrade/harvester-system/hvst-upgrade-r5t8z', severity: 'warning' }],
    },
    {
      name: 'an empty status, shown with --min-age 0s',
      fixtures: [...base, 'harvester/upgrade-status-wiped/fresh.yaml'],
      minAgeMs: 0,
      findings: [{ reason: 'status-empty', object: 'Upgrade/harvester-system/hvst-upgrade-k2p9w', severity: 'warning' }],
    },
  ],
});
