// kubectl doctor dump without an API server: redaction, the tar writer against the reader and GNU tar, the dump of a
// snapshot (the same read plan a live dump runs) read back, and what a dump manifest does and does not cover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as yaml from 'js-yaml';
import { readArchive, tarEnd, tarFileHeader, tarPadding } from '../../src/cluster/archive.ts';
import { dumpTarget, writeDump } from '../../src/cluster/dump-writer.ts';
import { manifestDocument, parseDumpManifest, type DumpManifest } from '../../src/cluster/dump-format.ts';
import { SnapshotSource } from '../../src/cluster/snapshot.ts';
import { dumpContents, dumpFiles, redactorOf } from '../../src/cli/dump.ts';
import { readCluster } from '../../src/engine/scan.ts';
import { encodeCompressedJson } from '../../rules/kubevela/compressed-json.ts';
import { parseRedacted, redactedMarker, redactSecret, redactSecrets, sameText } from '../../src/kube/redact.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { allRules } from '../../rules/index.ts';
import { ROOT, runMain } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';

const EXAMPLE = join(ROOT, 'examples', 'cluster-dump');
const NOW = '2026-11-22T12:00:00Z';
const sha16 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
/** What a dump redacts: the Kubernetes-generic fields and those the shipped rules declare. */
const REDACTOR = redactorOf(allRules);
const redactForDump = (obj: KubeObject, resource: string) => REDACTOR.redact(obj, resource);

test('a redacted Secret keeps its keys; each value becomes its length and SHA-256 prefix, last-applied too', () => {
  const password = Buffer.from('hunter2', 'utf8');
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 's',
      namespace: 'a',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}', team: 'x' },
    },
    data: { password: password.toString('base64'), empty: '' },
    stringData: { token: 'abc' },
  };
  const redacted = redactSecret(secret);
  assert.deepEqual(redacted.data, {
    password: `(redacted) 7 bytes, sha256:${sha16(password)}`,
    empty: `(redacted) 0 bytes, sha256:${sha16(Buffer.alloc(0))}`,
  });
  assert.deepEqual(redacted.stringData, { token: `(redacted) 3 bytes, sha256:${sha16(Buffer.from('abc'))}` });
  assert.match(
    redacted.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!,
    /^\(redacted\) 36 bytes, sha256:[0-9a-f]{16}$/,
  );
  assert.equal(redacted.metadata.annotations!.team, 'x');
  assert.ok(!JSON.stringify(redacted).includes('aHVudGVyMg'), 'no value survives');
  assert.equal((secret.data as Record<string, string>).password, 'aHVudGVyMg==', 'the original is not changed');
  assert.deepEqual(parseRedacted((redacted.data as Record<string, string>).password), { length: 7, sha256: sha16(password) });
  assert.equal(parseRedacted('aHVudGVyMg=='), undefined, 'a real (base64) value is never taken for a marker');
  assert.equal(redactedMarker(Buffer.from('x')), `(redacted) 1 byte, sha256:${sha16(Buffer.from('x'))}`);
  const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
  assert.equal(redactSecret(configMap), configMap);
  assert.equal(redactSecrets(configMap), configMap, 'nothing to redact: the same object');
  // A Secret manifest inside another object (a KubeVela ResourceTracker entry's raw) is redacted too.
  const tracker: KubeObject = {
    apiVersion: 'core.oam.dev/v1beta1',
    kind: 'ResourceTracker',
    metadata: { name: 'rt' },
    spec: {
      managedResources: [
        {
          cluster: 'local',
          raw: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: password.toString('base64') } },
        },
      ],
    },
  };
  const redactedTracker = redactSecrets(tracker);
  assert.ok(!JSON.stringify(redactedTracker).includes('aHVudGVyMg'));
  assert.match(JSON.stringify(redactedTracker), /"password":"\(redacted\) 7 bytes, sha256:/);
  assert.ok(JSON.stringify(tracker).includes('aHVudGVyMg'), 'the original is not changed');
});

test('a dump redacts the credential fields of every type a rule reads in full, and keeps what the rules read', () => {
  const CRED = 'FAKE-CREDENTIAL-7f3a';
  const marker = (text: string) => redactedMarker(Buffer.from(text, 'utf8'));
  const applied = {
    'kubectl.kubernetes.io/last-applied-configuration': `{"spec":"${CRED}"}`,
    'objectset.rio.cattle.io/applied': CRED,
    team: 'x',
  };
  const container = {
    name: 'helm',
    image: 'rancher/klipper-helm:v0.9.3',
    env: [
      { name: 'HTTP_PROXY', value: `http://u:${CRED}@proxy` },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ],
    args: ['install', '--set-string', `password=${CRED}`],
    command: ['sh', '-c', `echo ${CRED}`],
    readinessProbe: { exec: { command: [CRED] }, httpGet: { httpHeaders: [{ name: 'Authorization', value: `Basic ${CRED}` }] } },
    lifecycle: { preStop: { exec: { command: [CRED] } } },
  };
  const podSpec = { containers: [container], initContainers: [container] };
  const entries = [
    {
      cluster: 'vc2',
      apiVersion: 'v1',
      kind: 'Secret',
      name: 'db',
      raw: { apiVersion: 'v1', kind: 'Secret', data: { p: Buffer.from(CRED).toString('base64') } },
    },
    {
      cluster: 'local',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      raw: { kind: 'Deployment', spec: { template: { spec: podSpec } } },
    },
  ];
  const objects: [string, KubeObject][] = [
    [
      'helmcharts.helm.cattle.io',
      {
        apiVersion: 'helm.cattle.io/v1',
        kind: 'HelmChart',
        metadata: { name: 'c', annotations: applied },
        spec: {
          repo: 'r',
          chart: 'c',
          valuesContent: `password: ${CRED}`,
          values: { password: CRED },
          set: { 'db.password': CRED, replicas: 3 },
          chartContent: Buffer.from(CRED).toString('base64'),
        },
      },
    ],
    [
      'addons.harvesterhci.io',
      {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Addon',
        metadata: { name: 'a', annotations: { 'harvesterhci.io/addon-defaults': Buffer.from(`key: ${CRED}`).toString('base64') } },
        spec: { enabled: true, valuesContent: `key: ${CRED}` },
      },
    ],
    [
      'settings.harvesterhci.io',
      {
        apiVersion: 'harvesterhci.io/v1beta1',
        kind: 'Setting',
        metadata: { name: 'backup-target' },
        value: `{"secretAccessKey":"${CRED}"}`,
        default: CRED,
      } as KubeObject,
    ],
    [
      'bundledeployments.fleet.cattle.io',
      {
        apiVersion: 'fleet.cattle.io/v1alpha1',
        kind: 'BundleDeployment',
        metadata: { name: 'b' },
        spec: {
          valuesHash: 'h',
          options: {
            helm: {
              releaseName: 'web',
              values: { password: CRED },
              templateValues: { t: CRED },
              valuesFrom: [{ secretKeyRef: { name: 'vals', key: 'values.yaml' } }],
            },
          },
          stagedOptions: { helm: { values: { password: CRED } } },
        },
        status: { modifiedStatus: [{ kind: 'Secret', name: 's', patch: `{"data":{"p":"${CRED}"}}` }] },
      },
    ],
    [
      'bundles.fleet.cattle.io',
      {
        apiVersion: 'fleet.cattle.io/v1alpha1',
        kind: 'Bundle',
        metadata: { name: 'b' },
        spec: {
          valuesHash: 'h',
          helm: { values: { password: CRED } },
          targets: [{ name: 't', helm: { values: { password: CRED } } }],
          resources: [{ name: 'secret.yaml', content: `stringData: {p: ${CRED}}` }],
        },
        status: { summary: { nonReadyResources: [{ name: 'x', modifiedStatus: [{ patch: CRED }] }] } },
      },
    ],
    [
      'managedcharts.management.cattle.io',
      {
        apiVersion: 'management.cattle.io/v3',
        kind: 'ManagedChart',
        metadata: { name: 'm' },
        spec: { paused: true, values: { password: CRED }, targets: [{ helm: { values: { p: CRED } } }] },
      },
    ],
    [
      'helmreleases.helm.toolkit.fluxcd.io',
      {
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'h' },
        spec: { releaseName: 'web', values: { password: CRED } },
      },
    ],
    [
      'clusters.cluster.x-k8s.io',
      {
        apiVersion: 'cluster.x-k8s.io/v1beta2',
        kind: 'Cluster',
        metadata: { name: 'k' },
        spec: {
          paused: true,
          topology: {
            classRef: { name: 'cc' },
            variables: [{ name: 'sshKey', value: CRED }],
            workers: { machineDeployments: [{ class: 'md', variables: { overrides: [{ name: 'p', value: { nested: CRED } }] } }] },
          },
        },
      },
    ],
    [
      'applications.core.oam.dev',
      {
        apiVersion: 'core.oam.dev/v1beta1',
        kind: 'Application',
        metadata: { name: 'app' },
        spec: {
          components: [
            { name: 'web', properties: { env: [{ name: 'P', value: CRED }] }, traits: [{ type: 't', properties: { p: CRED } }] },
          ],
          policies: [
            { name: 'where', type: 'topology', properties: { clusters: ['vc1', 'vc2'], namespace: 'web', extra: CRED } },
            {
              name: 'envs',
              type: 'env-binding',
              properties: { envs: [{ name: 'prod', placement: { clusterSelector: { name: 'vc2' } }, patch: { p: CRED } }] },
            },
            { name: 'o', type: 'override', properties: { components: [{ properties: { p: CRED } }] } },
          ],
          workflow: {
            steps: [
              {
                name: 's',
                type: 'deploy',
                properties: {
                  cluster: 'vc2',
                  policies: ['where'],
                  inlinePolicies: [{ type: 'topology', name: 'i', properties: { clusters: ['vc2'], x: CRED } }],
                },
              },
              {
                name: 'g',
                type: 'step-group',
                subSteps: [{ name: 'n', type: 'notification', properties: { cluster: 'vc1', slack: { url: CRED } } }],
              },
            ],
          },
        },
      },
    ],
    [
      'resourcetrackers.core.oam.dev',
      { apiVersion: 'core.oam.dev/v1beta1', kind: 'ResourceTracker', metadata: { name: 'plain' }, spec: { managedResources: entries } },
    ],
    [
      'resourcetrackers.core.oam.dev',
      {
        apiVersion: 'core.oam.dev/v1beta1',
        kind: 'ResourceTracker',
        metadata: { name: 'gz' },
        spec: { compression: { type: 'gzip', data: encodeCompressedJson(entries, 'gzip') } },
      },
    ],
    [
      'resourcetrackers.core.oam.dev',
      {
        apiVersion: 'core.oam.dev/v1beta1',
        kind: 'ResourceTracker',
        metadata: { name: 'zstd' },
        spec: { compression: { type: 'zstd', data: encodeCompressedJson(entries, 'zstd') } },
      },
    ],
    [
      'deployments.apps',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd', annotations: { 'app.oam.dev/last-applied-configuration': CRED } },
        spec: { replicas: 1, template: { metadata: { labels: { app: 'd' } }, spec: podSpec } },
      },
    ],
    ['jobs.batch', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: podSpec } } }],
    ['pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec }],
  ];
  for (const [resource, obj] of objects) {
    const before = JSON.stringify(obj);
    const redacted = redactForDump(obj, resource);
    const text = JSON.stringify(redacted);
    assert.ok(!text.includes(CRED) && !text.includes(Buffer.from(CRED).toString('base64')), `${resource} ${obj.metadata.name}: ${text}`);
    assert.equal(JSON.stringify(obj), before, 'the original is not changed');
    assert.deepEqual(redactForDump(redacted, resource), redacted, `${resource}: a dump of a dump redacts nothing twice`);
    assert.ok(REDACTOR.fieldsOf(resource).length > 0, resource);
  }
  const get = (resource: string, name?: string) =>
    redactForDump(objects.find(([r, o]) => r === resource && (!name || o.metadata.name === name))![1], resource) as any;
  // What rules read stays; the rest is a marker of the value (strings: their bytes; anything else: its JSON).
  const chart = get('helmcharts.helm.cattle.io');
  assert.deepEqual([chart.spec.repo, chart.spec.chart], ['r', 'c']);
  assert.equal(chart.spec.valuesContent, marker(`password: ${CRED}`));
  assert.deepEqual(chart.spec.set, { 'db.password': marker(CRED), replicas: marker('3') });
  assert.equal(chart.metadata.annotations.team, 'x');
  assert.equal(chart.metadata.annotations['objectset.rio.cattle.io/applied'], marker(CRED));
  // The addon defaults are marked as the text they decode to: they compare with the HelmChart's valuesContent.
  const addon = get('addons.harvesterhci.io');
  assert.equal(addon.metadata.annotations['harvesterhci.io/addon-defaults'], addon.spec.valuesContent);
  assert.ok(sameText(addon.spec.valuesContent, `key: ${CRED}`) && !sameText(addon.spec.valuesContent, 'key: other'));
  assert.ok(
    sameText('a', 'a') &&
      !sameText('a', 'b') &&
      sameText(marker('a'), marker('a')) &&
      sameText(marker(''), '') &&
      !sameText(marker('x'), ''),
  );
  const version = redactForDump(
    { apiVersion: 'harvesterhci.io/v1beta1', kind: 'Setting', metadata: { name: 'server-version' }, value: 'v1.5.0' } as KubeObject,
    'settings.harvesterhci.io',
  );
  assert.equal((version as any).value, 'v1.5.0', 'the Setting the rules read keeps its value');
  const bd = get('bundledeployments.fleet.cattle.io');
  assert.deepEqual(
    [bd.spec.valuesHash, bd.spec.options.helm.releaseName, bd.spec.options.helm.valuesFrom],
    ['h', 'web', [{ secretKeyRef: { name: 'vals', key: 'values.yaml' } }]],
  );
  const app = get('applications.core.oam.dev');
  assert.deepEqual(app.spec.policies[0].properties.clusters, ['vc1', 'vc2']);
  assert.deepEqual(app.spec.policies[1].properties.envs[0].placement, { clusterSelector: { name: 'vc2' } });
  assert.equal(app.spec.policies[1].properties.envs[0].patch, marker(JSON.stringify({ p: CRED })));
  assert.deepEqual(app.spec.workflow.steps[0].properties.inlinePolicies[0].properties.clusters, ['vc2']);
  assert.deepEqual(
    [app.spec.workflow.steps[0].properties.cluster, app.spec.workflow.steps[1].subSteps[0].properties.cluster],
    ['vc2', 'vc1'],
  );
  // A compressed tracker is written decoded (entries without their raw manifests) with its data's marker.
  for (const name of ['gz', 'zstd']) {
    const rt = get('resourcetrackers.core.oam.dev', name);
    assert.equal(rt.spec.compression.data, marker((objects.find(([, o]) => o.metadata.name === name)![1] as any).spec.compression.data));
    assert.deepEqual(
      rt.spec.managedResources.map((e: any) => [e.cluster, e.kind, e.name, parseRedacted(e.raw) !== undefined]),
      [
        ['vc2', 'Secret', 'db', true],
        ['local', 'Deployment', 'web', true],
      ],
    );
  }
  const undecodable = redactForDump(
    {
      apiVersion: 'core.oam.dev/v1beta1',
      kind: 'ResourceTracker',
      metadata: { name: 'bad' },
      spec: { compression: { type: 'gzip', data: 'bm90IGd6aXA=' } },
    },
    'resourcetrackers.core.oam.dev',
  ) as any;
  assert.deepEqual([parseRedacted(undecodable.spec.compression.data) !== undefined, undecodable.spec.managedResources], [true, undefined]);
  const pod = get('pods');
  assert.deepEqual(
    [pod.spec.containers[0].image, pod.spec.containers[0].env[0].name, pod.spec.containers[0].env[1]],
    ['rancher/klipper-helm:v0.9.3', 'HTTP_PROXY', container.env[1]],
  );
  // A type no rule reads in full only loses its applied-configuration annotations.
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
  assert.equal(redactForDump(cm, 'configmaps'), cm);
});

test('the tar writer is read back by our reader and by GNU tar, long names included', () => {
  const long = `dump/resources/${'x'.repeat(120)}.example.com.json`;
  const files = [
    { name: 'dump/kubectl-doctor-dump.yaml', data: Buffer.from('kind: SnapshotCoverage\n') },
    { name: long, data: Buffer.from('{"items":[]}\n') },
    { name: 'dump/resources/empty.json', data: Buffer.alloc(0) },
    { name: 'dump/resources/block.json', data: Buffer.alloc(512, 0x61) },
  ];
  const tar = Buffer.concat([
    ...files.flatMap((f) => [tarFileHeader(f.name, f.data.length, new Date(0)), f.data, tarPadding(f.data.length)]),
    tarEnd(),
  ]);
  const read = readArchive('x.tgz', gzipSync(tar), { maxTotalSize: 1 << 20, maxEntries: 10, wanted: () => true });
  assert.deepEqual(
    read.map((e) => [e.name, e.data.toString('utf8')]),
    files.map((f) => [f.name, f.data.toString('utf8')]),
  );
  const dir = tempDir('tar');
  writeFileSync(join(dir, 'x.tar'), tar);
  assert.deepEqual(
    execFileSync('tar', ['tf', join(dir, 'x.tar')], { encoding: 'utf8' })
      .trim()
      .split('\n'),
    files.map((f) => f.name),
  );
  execFileSync('tar', ['xf', join(dir, 'x.tar'), '-C', dir]);
  assert.equal(readFileSync(join(dir, long), 'utf8'), '{"items":[]}\n');
  const mode = execFileSync('tar', ['tvf', join(dir, 'x.tar')], { encoding: 'utf8' })
    .split('\n')[0]!
    .slice(0, 10);
  assert.equal(mode, '-rw-------');
});

/** A dump of the example dump, as `kubectl doctor dump` writes it, through the engine's own read plan. */
async function dumpOf(source: SnapshotSource, target: string, rules = allRules, namespace?: string): Promise<DumpManifest> {
  const read = await readCluster(source, { rules, namespace, concurrency: 4, everyObject: true });
  const { manifest, lists } = dumpContents(
    read,
    {
      capturedAt: '2026-11-22T11:00:00.000Z',
      doctorVersion: '0.0.0-test',
      rules: rules.map((r) => r.meta.id),
      ...(namespace !== undefined ? { namespace } : {}),
    },
    REDACTOR,
  );
  await writeDump(dumpTarget(target, false), dumpFiles(manifest, lists), new Date(manifest.capturedAt));
  return manifest;
}

const scan = async (...args: string[]) => {
  const r = await runMain([...args, '-o', 'json'], allRules);
  return { ...r, report: JSON.parse(r.stdout || '{}') };
};
const messages = (report: { findings: { rule: string; message: string }[] }) => report.findings.map((f) => `${f.rule}: ${f.message}`);

test('a dump of the example dump, as a directory and a .tgz, gives its findings; KubeVela addon args are unknown (redacted)', async () => {
  const work = tempDir('dump-roundtrip');
  const source = SnapshotSource.fromPaths([EXAMPLE]);
  await dumpOf(source, join(work, 'dir'));
  await dumpOf(source, join(work, 'dump.tgz'));
  const expected = await scan('--snapshot', EXAMPLE, '--now', NOW);
  assert.ok(expected.report.findings.length >= 9);
  for (const path of [join(work, 'dir'), join(work, 'dump.tgz')]) {
    const got = await scan('--snapshot', path, '--now', NOW);
    assert.deepEqual(messages(got.report), messages(expected.report), path);
    assert.equal(got.code, expected.code);
    const vela = got.report.rules.find((r: { id: string }) => r.id === 'kubevela/orphaned-cluster-reference');
    assert.equal(vela.incomplete, true);
    assert.match(
      vela.reason,
      /could not decide: vela-system\/addon-secret-fluxcd: data\.addonParameterDataKey is unknown \(redacted in the dump, 26 bytes\)/,
    );
    // The plan cannot carry the args' value: it rewrites them in place instead of patching a value it never saw.
    const finding = got.report.findings.find((f: { rule: string }) => f.rule === 'kubevela/orphaned-cluster-reference');
    assert.ok(!JSON.stringify(finding).includes('eyJjbHVzdGVycyI6WyJ2YzEiLCJ2YzIiXX0'));
  }
  assert.ok(!readFileSync(join(work, 'dir', 'resources', 'secrets.json'), 'utf8').includes('eyJjbHVzdGVycyI6WyJ2YzEiLCJ2YzIiXX0'));
  // The example's helm install Job and its pod carry a proxy password in their env, as helm-controller writes it:
  // no file of either dump holds it; the Job keeps the variable's name.
  assert.ok(readFileSync(join(EXAMPLE, 'harvester-addon-stuck-enabling.yaml'), 'utf8').includes('example-proxy-password'));
  const archived = readArchive('dump.tgz', readFileSync(join(work, 'dump.tgz')), {
    maxTotalSize: 1 << 26,
    maxEntries: 100,
    wanted: () => true,
  });
  assert.ok(archived.some((e) => e.name.endsWith('/resources/jobs.batch.json')));
  for (const [name, data] of [
    ...readdirSync(join(work, 'dir'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name))] as const),
    ...archived.map((e) => [e.name, e.data] as const),
  ])
    assert.ok(!data.includes('example-proxy-password'), name);
  assert.match(
    readFileSync(join(work, 'dir', 'resources', 'jobs.batch.json'), 'utf8'),
    /"name":"HTTPS_PROXY","value":"\(redacted\) 62 bytes/,
  );
  // Without --now, a dump is scanned by its capture time.
  const byClock = await scan('--snapshot', join(work, 'dir'));
  assert.equal(byClock.report.metadata.now, '2026-11-22T11:00:00.000Z');
});

/** Asserts that every value `part` holds is the value `whole` holds at the same place (`part` may hold less). */
function assertWithin(part: unknown, whole: unknown, where: string): void {
  if (typeof part === 'object' && part !== null && !Array.isArray(part)) {
    assert.ok(typeof whole === 'object' && whole !== null && !Array.isArray(whole), `${where}: not in the dump of every rule`);
    for (const [key, value] of Object.entries(part)) assertWithin(value, (whole as Record<string, unknown>)[key], `${where}.${key}`);
  } else assert.deepEqual(part, whole, where);
}

test('a dump made for fewer rules holds nothing a dump of every rule redacts: it redacts what every shipped rule declares', async () => {
  const source = SnapshotSource.fromPaths([EXAMPLE]);
  const contents = async (rules: typeof allRules, redactor = REDACTOR) =>
    dumpContents(
      await readCluster(source, { rules, concurrency: 4, everyObject: true }),
      { capturedAt: '2026-11-22T11:00:00.000Z', doctorVersion: '0.0.0-test', rules: rules.map((r) => r.meta.id) },
      redactor,
    );
  const every = await contents(allRules);
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  // wrangler's applied annotation on helm-controller's install Job: declared by the Harvester, Fleet and Helm rules. A
  // dump for core/* lists Jobs metadata-only, annotations and all.
  const applied = 'H4sIAAAAAAAA/6pWKkktLlGyUlAqzkgsKsnMzysuyS9KVaoFAAAA//8BAAD//w==';
  assert.ok(readFileSync(join(EXAMPLE, 'harvester-addon-stuck-enabling.yaml'), 'utf8').includes(applied));
  const subsets = [allRules.filter((r) => r.meta.id.startsWith('core/')), ...allRules.map((r) => [r])];
  for (const rules of subsets) {
    const name = rules.map((r) => r.meta.id).join(',');
    const { manifest, lists } = await contents(rules);
    assert.ok(lists.size > 0, name);
    for (const [resource, objects] of lists) {
      const all = new Map(every.lists.get(resource)!.map((o) => [keyOf(o), o]));
      for (const obj of objects) assertWithin(obj, all.get(keyOf(obj)), `${name}: ${resource} ${keyOf(obj)}`);
      assert.deepEqual(manifest.redactedFields[resource], every.manifest.redactedFields[resource], `${name}: ${resource}`);
      assert.ok(!JSON.stringify(objects).includes(applied), `${name}: ${resource}`);
    }
    assert.deepEqual(manifest.redactedFields['*'], every.manifest.redactedFields['*']);
  }
  // Why every shipped rule's: redacting only what the core rules declare (nothing of wrangler's), a dump for them would
  // hold the annotation (kubectl doctor dump --rules 'core/*' of a real API server: test/e2e/dump.test.ts).
  const core = allRules.filter((r) => r.meta.id.startsWith('core/'));
  assert.ok(JSON.stringify([...(await contents(core, redactorOf(core))).lists.values()]).includes(applied));
});

test("a dump's manifest is the whole truth: metadata-only lists serve no full read, a selector's list no other read, failures stay failures", async () => {
  const work = tempDir('dump-scope');
  const source = SnapshotSource.fromPaths([EXAMPLE]);
  // core/* reads every type metadata-only: the Fleet rule needs BundleDeployments in full.
  const manifest = await dumpOf(
    source,
    join(work, 'core'),
    allRules.filter((r) => r.meta.id.startsWith('core/')),
  );
  assert.ok(manifest.covered.some((c) => c.resource === 'bundledeployments.fleet.cattle.io' && c.metadataOnly));
  const core = await scan('--snapshot', join(work, 'core'), '--now', NOW, '--rules', 'fleet/*,helm/*,core/*');
  const status = (id: string) => core.report.rules.find((r: { id: string }) => r.id === id);
  assert.deepEqual(
    [status('fleet/missing-values-secret').status, status('fleet/missing-values-secret').reason],
    ['skipped', 'not in snapshot: bundledeployments.fleet.cattle.io'],
  );
  // Helm reads Secrets' metadata with a selector: the metadata of every Secret serves it.
  assert.equal(status('helm/release-stuck-pending').status, 'fail');
  const expected = await scan('--snapshot', EXAMPLE, '--now', NOW, '--rules', 'helm/*,core/*');
  assert.deepEqual(messages(core.report), messages(expected.report));

  // Failures recorded in the manifest come back as they were: a forbidden list, and objects skipped as malformed.
  const doc = yaml.load(readFileSync(join(work, 'core', 'kubectl-doctor-dump.yaml'), 'utf8')) as Record<string, any>;
  doc.resources = doc.resources.filter((r: { resource: string }) => r.resource !== 'secrets');
  doc.notCovered.push({ resource: 'secrets', metadataOnly: true, failure: 'forbidden', reason: 'forbidden: list secrets' });
  const configmaps = doc.resources.find((r: { resource: string }) => r.resource === 'configmaps');
  configmaps.skipped = [
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'odd', reason: 'metadata.labels is not a map of strings' },
  ];
  writeFileSync(join(work, 'core', 'kubectl-doctor-dump.yaml'), yaml.dump(doc));
  const forbidden = await scan('--snapshot', join(work, 'core'), '--now', NOW, '--rules', 'helm/*,core/stuck-deletion');
  const helm = forbidden.report.rules.find((r: { id: string }) => r.id === 'helm/release-stuck-pending');
  assert.deepEqual([helm.status, helm.reason], ['skipped', 'forbidden: list secrets (when the dump was taken)']);
  const stuck = forbidden.report.rules.find((r: { id: string }) => r.id === 'core/stuck-deletion');
  assert.ok(stuck.gaps.some((g: { reason: string }) => g.reason === 'forbidden: list secrets (when the dump was taken)'));
  assert.ok(stuck.gaps.some((g: { reason: string }) => g.reason.startsWith('skipped 1 malformed configmaps: ConfigMap team-a/odd')));
  assert.equal(forbidden.code, 1);
});

test('a dump made with -n is scanned in that namespace unless -n or -A say otherwise', async () => {
  const work = tempDir('dump-ns');
  const source = SnapshotSource.fromPaths([EXAMPLE]);
  await dumpOf(source, join(work, 'one'), allRules, 'capi-clusters');
  const own = await scan('--snapshot', join(work, 'one'), '--now', NOW, '--rules', 'core/stuck-deletion');
  const live = await scan('--snapshot', EXAMPLE, '--now', NOW, '--rules', 'core/stuck-deletion', '-n', 'capi-clusters');
  assert.equal(own.report.source.namespace, 'capi-clusters');
  assert.deepEqual(messages(own.report), messages(live.report));
  const all = await scan('--snapshot', join(work, 'one'), '--now', NOW, '--rules', 'core/stuck-deletion,fleet/*', '-A');
  assert.equal(all.report.complete, false);
  for (const m of messages(all.report)) assert.ok(messages(live.report).includes(m), `a finding the namespace's own scan lacks: ${m}`);
  assert.match(all.stderr, /^hint: this dump was made for other rules or another namespace/m);
});

test('a dump manifest of the wrong shape, or two dumps at once, is one line and exit 2', async () => {
  const work = tempDir('dump-bad');
  const source = SnapshotSource.fromPaths([EXAMPLE]);
  await dumpOf(
    source,
    join(work, 'a'),
    allRules.filter((r) => r.meta.id === 'helm/release-stuck-pending'),
  );
  await dumpOf(
    source,
    join(work, 'b'),
    allRules.filter((r) => r.meta.id === 'helm/release-stuck-pending'),
  );
  const two = await runMain(['--snapshot', join(work, 'a'), '--snapshot', join(work, 'b')], allRules);
  assert.equal(two.code, 2);
  assert.match(
    two.stderr,
    /^error: snapshot: .*a\/kubectl-doctor-dump\.yaml and .*b\/kubectl-doctor-dump\.yaml are two kubectl doctor dumps; scan one at a time\n$/,
  );
  const file = join(work, 'a', 'kubectl-doctor-dump.yaml');
  const doc = yaml.load(readFileSync(file, 'utf8')) as Record<string, any>;
  for (const [breakIt, message] of [
    [(d: Record<string, any>) => (d.discovery.types[0].namespaced = 'yes'), /discovery\.types\[0\]\.namespaced is not true or false/],
    [
      (d: Record<string, any>) => (d.notCovered = [{ resource: 'x', failure: 'gone', reason: 'r' }]),
      /notCovered\[0\]\.failure is not one of forbidden/,
    ],
    [(d: Record<string, any>) => (d.capturedAt = 'yesterday'), /capturedAt "yesterday" is not a time/],
  ] as const) {
    const broken = structuredClone(doc);
    breakIt(broken);
    writeFileSync(file, yaml.dump(broken));
    const r = await runMain(['--snapshot', join(work, 'a')], allRules);
    assert.equal(r.code, 2);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /; write the dump again with kubectl doctor dump\n$/);
    assert.equal(r.stderr.split('\n').length, 2);
  }
});

test('dump targets: .zip and .tar refused, existing files kept without --force, --force replaces only a dump', async () => {
  const work = tempDir('dump-target');
  assert.throws(() => dumpTarget(join(work, 'x.zip'), false), /write a directory, FILE\.tgz or FILE\.tar\.gz/);
  assert.throws(
    () => dumpTarget(join(work, 'missing', 'x.tgz'), false),
    /cannot write into .*missing: no such file; create that directory first/,
  );
  writeFileSync(join(work, 'old.tgz'), 'old');
  assert.throws(() => dumpTarget(join(work, 'old.tgz'), false), /already exists; pass --force/);
  assert.equal(dumpTarget(join(work, 'old.tgz'), true).replaces, 'file');
  mkdirSync(join(work, 'empty'));
  assert.equal(dumpTarget(join(work, 'empty'), false).replaces, 'directory');
  mkdirSync(join(work, 'notes'));
  writeFileSync(join(work, 'notes', 'keep.txt'), 'mine');
  assert.throws(() => dumpTarget(join(work, 'notes'), true), /holds no kubectl-doctor-dump\.yaml, so it is not a dump/);
  // The writer replaces the empty directory, and leaves nothing else behind.
  await writeDump(dumpTarget(join(work, 'empty'), false), [{ name: 'kubectl-doctor-dump.yaml', data: Buffer.from('x') }], new Date());
  assert.deepEqual(readdirSync(work).sort(), ['empty', 'notes', 'old.tgz']);
  // A write that fails part-way leaves the target as it was and no temporary file.
  const failing = (function* () {
    yield { name: 'a.json', data: Buffer.from('{}') };
    throw new Error('interrupted');
  })();
  await assert.rejects(
    writeDump(dumpTarget(join(work, 'old.tgz'), true), failing, new Date()),
    /writing failed, nothing was written: interrupted/,
  );
  assert.equal(readFileSync(join(work, 'old.tgz'), 'utf8'), 'old');
  assert.deepEqual(readdirSync(work).sort(), ['empty', 'notes', 'old.tgz']);
  const usage = await runMain(['dump'], allRules);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^error: dump needs where to write: kubectl doctor dump DIR\|FILE\.tgz\n/);
});

test('manifestDocument and the snapshot source agree on every field', async () => {
  const manifest: DumpManifest = {
    capturedAt: '2026-11-22T11:00:00.000Z',
    doctorVersion: '1.2.3',
    clusterVersion: 'v1.31.0',
    namespace: 'team-a',
    rules: ['core/stuck-deletion'],
    redacted: ['secrets'],
    redactedFields: { '*': ['metadata.annotations["objectset.rio.cattle.io/applied"]'], secrets: ['data.*', 'stringData.*'] },
    unread: ['api unavailable: metrics.k8s.io/v1beta1 (503)'],
    covered: [{ resource: 'namespaces', metadataOnly: false }],
    notCovered: [
      {
        resource: 'secrets',
        namespace: 'team-a',
        metadataOnly: true,
        failure: 'forbidden',
        reason: 'forbidden: list secrets in namespace team-a',
      },
    ],
    discovery: {
      types: [{ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ['list'] }],
      failures: [{ groupVersion: 'metrics.k8s.io/v1beta1', reason: '503' }],
    },
  };
  const dir = tempDir('manifest');
  writeFileSync(join(dir, 'kubectl-doctor-dump.yaml'), yaml.dump(manifestDocument(manifest)));
  const document = yaml.load(yaml.dump(manifestDocument(manifest))) as Record<string, unknown>;
  assert.deepEqual(parseDumpManifest(document, 'm'), manifest);
  // A manifest written before redactedFields existed reads as one that lists none.
  const { redactedFields: _fields, ...older } = document;
  assert.deepEqual(parseDumpManifest(older, 'm').redactedFields, {});
  writeFileSync(
    join(dir, 'ns.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }] }),
  );
  const source = SnapshotSource.fromPaths([dir]);
  assert.deepEqual(source.dump(), { capturedAt: manifest.capturedAt, namespace: 'team-a' });
  // A dump of nothing (the namespace was empty) is a dump, not "no Kubernetes objects found".
  const empty = tempDir('manifest-empty');
  writeFileSync(join(empty, 'kubectl-doctor-dump.yaml'), yaml.dump(manifestDocument({ ...manifest, covered: [], notCovered: [] })));
  const none = await runMain(['--snapshot', empty, '--rules', 'core/stuck-deletion', '-o', 'json'], allRules);
  assert.equal(none.code, 3, none.stderr);
  assert.equal(JSON.parse(none.stdout).rules[0].status, 'partial');
  const discovery = await source.discover();
  assert.deepEqual(discovery.failures, manifest.discovery.failures);
  assert.equal(discovery.find('secrets'), undefined, "only the cluster's discovery: nothing guessed");
});
