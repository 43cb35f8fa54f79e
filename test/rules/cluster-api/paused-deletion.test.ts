import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import rule from '../../../rules/cluster-api/paused-deletion.ts';
import { edit, ev, findingOn, load, risks, runObjects } from '../core/deletion-helpers.ts';
import { onlyFinding } from '../../rule-tester.ts';

describe('cluster-api/paused-deletion', () => {
  it('broken: a paused Cluster that is deleting, with its objects, is one error on the Cluster', async () => {
    const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-paused-deletion.yaml', 'capi-core-controller.yaml'));
    assert.equal(result.status, 'fail');
    const f = findingOn(findings, 'Cluster', 'prod-b');
    assert.equal(findings.length, 1, 'the Machine and DockerMachine are grouped under their Cluster');
    assert.equal(f.severity, 'error');
    assert.equal(
      f.message,
      'Cluster deleting for 1h with 2 of its objects while paused (Cluster fleet/prod-b has spec.paused: true): Cluster API controllers return before their deletion branch, so the finalizers are never removed',
    );
    assert.deepEqual(ev(f, 'cluster'), {
      name: 'fleet/prod-b',
      specPaused: true,
      pausedAnnotation: false,
      pausedSince: '2026-11-22T10:50:00Z',
      deleting: true,
    });
    assert.equal(ev(f, 'deletingObjects'), 3);
    assert.deepEqual(
      (ev(f, 'objects') as { object: string }[]).map((o) => o.object),
      ['Cluster/fleet/prod-b', 'Machine/fleet/prod-b-m1', 'DockerMachine/fleet/prod-b-m1'],
    );
    assert.deepEqual(ev(f, 'objects', 1, 'pausedBy'), ['Cluster fleet/prod-b has spec.paused: true']);
  });

  it('a paused Cluster deleting with tens of thousands of objects is one finding: all counted, the oldest listed in order', async () => {
    const base = load('crds-capi.yaml', 'capi-paused-deletion.yaml', 'capi-core-controller.yaml');
    const [machine, dockerMachine] = ['Machine', 'DockerMachine'].map((k) => base.find((o) => o.kind === k)!);
    const copies = Array.from({ length: 20_000 }, (_, i) =>
      [machine!, dockerMachine!].map((o) => ({
        ...o,
        metadata: {
          ...o.metadata,
          name: `prod-b-m${i}`,
          uid: `${o.metadata.uid}-${i}`,
          // Ties on age in pairs; the oldest at the end of the list.
          deletionTimestamp: new Date(Date.parse('2026-11-22T11:00:00Z') - Math.floor(i / 2) * 1000).toISOString(),
        },
      })),
    ).flat();
    const { findings } = await runObjects(rule, [...base.filter((o) => o !== machine && o !== dockerMachine), ...copies]);
    const f = onlyFinding(findings);
    assert.match(f.message, /^Cluster deleting for 1h with 40000 of its objects while paused/);
    assert.equal(ev(f, 'deletingObjects'), 40_001);
    assert.equal(ev(f, 'notListed'), 40_001 - 50);
    // Equal ages are ordered by kind and name.
    const pair = (a: number, b: number) => ['DockerMachine', 'Machine'].flatMap((k) => [a, b].map((i) => `${k}/fleet/prod-b-m${i}`));
    assert.deepEqual(
      (ev(f, 'objects') as { object: string }[]).slice(0, 8).map((o) => o.object),
      [...pair(19998, 19999), ...pair(19996, 19997)],
    );
    assert.equal(f.remediation!.awaitsDeletion!.length, 50);
  });

  it('plans an unpause, disruptive, saying it deletes the infrastructure; never a finalizer removal', async () => {
    const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-paused-deletion.yaml'));
    const steps = findingOn(findings, 'Cluster', 'prod-b').remediation!.steps;
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.risk, 'disruptive');
    assert.match(steps[0]!.title, /^Only if the deletion is intended: unpause Cluster fleet\/prod-b .*DELETE the infrastructure/);
    assert.equal(
      steps[0]!.command,
      `kubectl patch clusters.cluster.x-k8s.io prod-b -n fleet --type=json -p '[{"op":"test","path":"/metadata/resourceVersion","value":"7001"},{"op":"test","path":"/spec/paused","value":true},{"op":"replace","path":"/spec/paused","value":false}]'`,
    );
  });

  it('the unpause only lets the controllers start: the plan is done when the deleting objects are gone', async () => {
    const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-paused-deletion.yaml'));
    const { remediation } = findingOn(findings, 'Cluster', 'prod-b');
    assert.match(remediation!.leftTo ?? '', /^the Cluster API controllers: /);
    assert.deepEqual(
      remediation!.awaitsDeletion!.map((t) => `${t.kind}/${t.name} ${t.uid ? 'uid' : 'no uid'}`),
      ['Cluster/prod-b uid', 'Machine/prod-b-m1 uid', 'DockerMachine/prod-b-m1 uid'],
    );
  });

  it('broken: the paused annotation on a deleting object pauses it even when its Cluster runs', async () => {
    let objects = edit(load('crds-capi.yaml', 'capi-paused-deletion.yaml'), 'Cluster', 'prod-b', (c) => {
      delete c.metadata.deletionTimestamp;
      c.spec = { paused: false };
      c.status = {};
    });
    objects = edit(objects, 'Machine', 'prod-b-m1', (m) => {
      m.metadata.annotations = { 'cluster.x-k8s.io/paused': '' };
    });
    const { findings } = await runObjects(rule, objects);
    const f = findingOn(findings, 'Cluster', 'prod-b');
    assert.match(
      f.message,
      /^Machine\/fleet\/prod-b-m1 deleting for 59m59s while paused \(Machine\/fleet\/prod-b-m1 has the cluster\.x-k8s\.io\/paused annotation\)/,
    );
    assert.deepEqual(
      f.remediation!.steps.map((s) => (s.action as { patch?: unknown }).patch),
      [
        [
          { op: 'test', path: '/metadata/annotations/cluster.x-k8s.io~1paused', value: '' },
          { op: 'remove', path: '/metadata/annotations/cluster.x-k8s.io~1paused' },
        ],
      ],
    );
  });

  it('an interrupted move (delete-for-move) is never unpaused: it points to cluster-api/interrupted-move', async () => {
    const { findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-interrupted-move.yaml'));
    const f = findingOn(findings, 'Cluster', 'prod-a');
    assert.match(f.message, /4 carry clusterctl\.cluster\.x-k8s\.io\/delete-for-move, an interrupted clusterctl move$/);
    assert.deepEqual(risks(f), ['safe']);
    assert.match(f.remediation!.steps[0]!.title, /^Do not unpause: .*follow cluster-api\/interrupted-move$/);
    assert.equal(f.remediation!.awaitsDeletion, undefined, 'nothing is unpaused, so nothing is awaited');
  });

  describe('healthy', () => {
    it('a paused Cluster that is not deleting, a Cluster deleting unpaused, a move in progress: silent', async () => {
      const { result, findings } = await runObjects(rule, load('crds-capi.yaml', 'capi-healthy.yaml'));
      assert.equal(result.status, 'pass');
      assert.deepEqual(findings, []);
    });

    it('a paused deletion younger than 5 minutes is silent; --min-age 0s reports it', async () => {
      const objects = load('crds-capi.yaml', 'capi-paused-deletion.yaml').map((o) =>
        o.metadata.deletionTimestamp ? { ...o, metadata: { ...o.metadata, deletionTimestamp: '2026-11-22T11:57:00Z' } } : o,
      );
      assert.deepEqual((await runObjects(rule, objects)).findings, []);
      assert.equal((await runObjects(rule, objects, { minAgeMs: 0 })).findings.length, 1);
    });

    it('without Cluster API the rule is skipped, not failed', async () => {
      const { result } = await runObjects(rule, load('builtins.yaml'));
      assert.deepEqual([result.status, result.reason, result.incomplete], ['skipped', 'api not served: clusters.cluster.x-k8s.io', false]);
    });
  });
});
