import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { allRules } from '../../rules/index.ts';
import { FIXTURES } from '../rule-tester.ts';
import { ROOT, runMain } from '../cli/run-cli.ts';

const HARVESTER = join(FIXTURES, 'layouts', 'harvester-support-bundle');
const CLUSTER_INFO = join(FIXTURES, 'layouts', 'cluster-info-dump');

/** `covered`: the list is all there is; otherwise the reason it is not. Items as namespace/name. */
async function read(source: SnapshotSource, resource: string, namespace?: string) {
  const type = (await source.discover()).find(resource);
  assert.ok(type, `${resource} is found`);
  const outcome = await source.list({ type, metadataOnly: false, ...(namespace !== undefined ? { namespace } : {}) });
  assert.ok(outcome.ok);
  return { covered: outcome.incomplete ?? 'covered', items: outcome.items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`) };
}

function run(...args: string[]) {
  return runMain(args, allRules);
}

test('support-bundle-kit (Harvester): a file per resource covers it in its namespace, or whole under yamls/cluster', async () => {
  const notes: string[] = [];
  const source = SnapshotSource.fromPaths([HARVESTER], { note: (m) => notes.push(m) });
  assert.deepEqual(await read(source, 'upgrades.harvesterhci.io', 'harvester-system'), {
    covered: 'covered',
    items: ['harvester-system/hvst-upgrade-7xn6v'],
  });
  assert.deepEqual(await read(source, 'configmaps', 'default'), { covered: 'covered', items: [] }, 'an empty list file: covered and empty');
  // The bundle holds only some namespaces: a read of every namespace is not complete.
  assert.deepEqual(await read(source, 'upgrades.harvesterhci.io'), {
    covered: 'not in snapshot: upgrades.harvesterhci.io',
    items: ['harvester-system/hvst-upgrade-7xn6v'],
  });
  assert.equal((await read(source, 'configmaps', 'team-a')).covered, 'not in snapshot: configmaps');
  assert.equal((await read(source, 'secrets', 'default')).covered, 'not in snapshot: secrets', 'no secrets file: unknown');
  assert.deepEqual(await read(source, 'nodes'), { covered: 'covered', items: ['/hv-example-node-1', '/hv-example-node-2'] });
  assert.deepEqual(await read(source, 'namespaces'), { covered: 'covered', items: [] });
  // Its CRDs are listed whole: a type without one is not served.
  assert.equal((await source.discover()).find('addons.harvesterhci.io'), undefined);
  // Logs and the generation log are not dump files: listed for -v, not fatal.
  assert.ok(
    notes.some((n) => n.endsWith('harvester-support-bundle/bundleGenerationError.log')),
    notes.join('\n'),
  );
  assert.ok(
    notes.some((n) => n.endsWith('x2x4z/apiserver.log')),
    notes.join('\n'),
  );
});

test('support-bundle-kit: scanned with -n, a rule gives the finding the whole cluster gives, and says which optional data it lacked', async () => {
  const args = ['-n', 'harvester-system', '--rules', 'harvester/upgrade-status-wiped', '--now', '2026-11-22T12:00:00Z', '-o', 'json'];
  const whole = JSON.parse((await run('--snapshot', join(ROOT, 'examples', 'cluster-dump'), ...args)).stdout);
  const bundle = await run('--snapshot', HARVESTER, ...args);
  const report = JSON.parse(bundle.stdout);
  assert.equal(bundle.code, 1);
  assert.deepEqual(
    report.findings.map((f: { message: string }) => f.message),
    whole.findings.map((f: { message: string }) => f.message),
  );
  assert.equal(report.rules[0].reason, 'without optional data: not in snapshot: managedcharts.management.cattle.io');
});

test('kubectl cluster-info dump: <ns>/<resource>.json covers that resource in the namespace; nodes.json covers nodes', async () => {
  const notes: string[] = [];
  const source = SnapshotSource.fromPaths([CLUSTER_INFO], { note: (m) => notes.push(m) });
  assert.deepEqual(await read(source, 'deployments.apps', 'kube-system'), { covered: 'covered', items: ['kube-system/old-dns'] });
  assert.deepEqual(await read(source, 'replicationcontrollers', 'kube-system'), { covered: 'covered', items: [] });
  assert.deepEqual(await read(source, 'events', 'kube-system'), { covered: 'covered', items: [] });
  assert.deepEqual(await read(source, 'pods', 'kube-system'), { covered: 'covered', items: ['kube-system/coredns-5d78c9869d-8q2kx'] });
  assert.deepEqual(await read(source, 'nodes'), { covered: 'covered', items: ['/cp-1'] });
  assert.equal((await read(source, 'deployments.apps')).covered, 'not in snapshot: deployments.apps');
  assert.equal(
    (await read(source, 'configmaps', 'kube-system')).covered,
    'not in snapshot: configmaps',
    'cluster-info dump never saves ConfigMaps',
  );
  assert.equal((await read(source, 'namespaces')).covered, 'not in snapshot: namespaces');
  assert.ok(
    notes.some((n) => n.endsWith('coredns-5d78c9869d-8q2kx/logs.txt')),
    notes.join('\n'),
  );
});

test('kubectl cluster-info dump: a Deployment stuck deleting is found; the types the dump never holds are gaps', async () => {
  const r = await run(
    '--snapshot',
    CLUSTER_INFO,
    '-n',
    'kube-system',
    '--rules',
    'core/stuck-deletion',
    '--now',
    '2026-11-22T12:00:00Z',
    '-o',
    'json',
  );
  const report = JSON.parse(r.stdout);
  assert.equal(r.code, 1);
  assert.deepEqual(
    report.findings.map((f: { object: { name: string } }) => f.object.name),
    ['old-dns'],
  );
  assert.equal(report.complete, false);
  const gaps = report.rules[0].gaps.map((g: { reason: string }) => g.reason);
  assert.ok(gaps.includes('not in snapshot: configmaps') && gaps.includes('not in snapshot: secrets'));
  assert.ok(!gaps.includes('not in snapshot: deployments.apps') && !gaps.includes('not in snapshot: pods'), gaps.join('; '));
});

const RANCHER = join(FIXTURES, 'layouts', 'rancher-logs-collector');

test('Rancher logs collector: kubectl/rancher-prov/<resource> (get -A -o yaml) covers the resource; errors and text are not read', async () => {
  const notes: string[] = [];
  const source = SnapshotSource.fromPaths([RANCHER], { note: (m) => notes.push(m) });
  assert.deepEqual(await read(source, 'clusters.provisioning.cattle.io'), {
    covered: 'covered',
    items: ['fleet-default/downstream-a', 'fleet-local/local'],
  });
  assert.deepEqual(await read(source, 'nodes'), { covered: 'covered', items: ['/rancher-server-1'] });
  // kubectl's error instead of a list: the type is unknown, and the file costs a -v line, not the scan.
  for (const file of ['harvestermachines.rke-machine.cattle.io', 'etcdsnapshots.rke.cattle.io'])
    assert.deepEqual(await read(source, file), { covered: `not in snapshot: ${file}`, items: [] });
  assert.ok(
    notes.some(
      (n) =>
        n ===
        `snapshot: not read (kubectl's error output, not a list): ${join(RANCHER, 'rke2/kubectl/rancher-prov/etcdsnapshots.rke.cattle.io')}`,
    ),
    notes.join('\n'),
  );
  // The collector's text output (get -o wide, describe, logs) is listed under -v.
  for (const text of [
    'rke2/kubectl/pods',
    'rke2/podlogs/kube-system-etcd-rancher-server-1',
    'collector-output.log',
    'rke2/kubectl/rancher-prov/cattle-controller-cfgmap',
  ])
    assert.ok(
      notes.some((n) => n.endsWith(text)),
      `${text}: ${notes.join('\n')}`,
    );
  assert.equal((await read(source, 'configmaps', 'kube-system')).covered, 'not in snapshot: configmaps');
});

test('Rancher logs collector: a provisioning Cluster stuck deleting is found; the types it never lists are gaps', async () => {
  const r = await run('--snapshot', RANCHER, '--rules', 'core/stuck-deletion', '--now', '2026-11-22T12:00:00Z', '-o', 'json');
  const report = JSON.parse(r.stdout);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(
    report.findings.map(
      (f: { object: { kind: string; namespace: string; name: string } }) => `${f.object.kind}/${f.object.namespace}/${f.object.name}`,
    ),
    ['Cluster/fleet-default/downstream-a'],
  );
  const gaps = report.rules[0].gaps.map((g: { reason: string }) => g.reason);
  assert.ok(gaps.includes('not in snapshot: secrets'));
  assert.ok(
    !gaps.includes('not in snapshot: clusters.provisioning.cattle.io') && !gaps.includes('not in snapshot: nodes'),
    gaps.join('; '),
  );
  assert.match(r.stderr, /hint: the dump does not hold everything these rules read .*kubectl doctor dump/);
});
