// End to end: `kubectl doctor dump` of the real API server, scanned with --snapshot, against the live scan of the same
// cluster (issue 13). Broken states from test/e2e/scenarios.ts; other files' objects share the cluster, so findings
// are compared for this file's objects only, by rule, object and message, at one --now.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import * as yaml from 'js-yaml';
import { e2e } from '../harness/env.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';
import { tempDir } from '../temp.ts';
import { doctor, parseReport, type JsonReport } from './kube.ts';
import { createScenarios, ours, removeSharedScenarios, type Scenarios } from './scenarios.ts';

const VELA_RULE = 'kubevela/orphaned-cluster-reference';

function keys(report: JsonReport, s: Scenarios): string[] {
  return report.findings
    .filter((f) => ours(s, f.object))
    .map((f) => `${f.rule} ${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}: ${f.message}`)
    .sort();
}

function snapshot(path: string, args: string[]): Promise<CliResult> {
  return runCli(['--snapshot', path, '-o', 'json', ...args]);
}

/** Every file of a directory tree, by path relative to it. */
function filesOf(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) for (const [k, v] of filesOf(dir, rel)) out.set(k, v);
    else out.set(rel, readFileSync(join(dir, rel)));
  }
  return out;
}

/** The regular files of an uncompressed tar, by name (ustar and pax names, as src/cluster/archive.ts writes them). */
function tarFiles(tar: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let offset = 0;
  let paxName: string | undefined;
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const header = tar.subarray(offset, offset + 512);
    const size = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/, ''), 8);
    const type = String.fromCharCode(header[156]!);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') paxName = /\d+ path=(.*)\n/.exec(data.toString('utf8'))![1];
    else {
      out.set(paxName ?? header.toString('utf8', 0, 100).replace(/\0.*$/s, ''), data);
      paxName = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('kubectl doctor dump of a real API server', () => {
  let s: Scenarios;
  let now: string;
  let live: JsonReport;
  const dir = join(tempDir('dump'), 'cluster');
  const tgz = join(tempDir('dump-tgz'), 'cluster.tgz');

  before(async () => {
    s = await createScenarios();
    // An hour on: past every rule's age threshold, the same clock for the live scan and the scans of the dumps.
    now = new Date(Date.now() + 3600_000).toISOString();
    live = parseReport(await doctor(['--now', now, '-o', 'json']));
    for (const target of [dir, tgz]) {
      const dumped = await doctor(['dump', target, '--request-timeout', '60s']);
      assert.ok(dumped.code === 0 || dumped.code === 3, `dump ${target}: exit ${dumped.code}: ${dumped.stderr}`);
      assert.match(
        dumped.stdout,
        new RegExp(
          `^wrote ${target.replace(/[.]/g, '\\.')}: \\d+ objects of \\d+ resource types, what \\d+ rules read, Secret values and other credentials redacted; `,
        ),
      );
    }
  });

  after(async () => {
    if (s) await removeSharedScenarios(s);
  });

  it('the live scan finds each broken state (so the comparisons below can fail)', () => {
    const rules = new Set(live.findings.filter((f) => ours(s, f.object)).map((f) => f.rule));
    assert.deepEqual([...rules].sort(), [
      'core/stuck-deletion',
      'fleet/missing-values-secret',
      'harvester/addon-stuck-enabling',
      'harvester/upgrade-status-wiped',
      'helm/release-stuck-pending',
      VELA_RULE,
    ]);
  });

  for (const [layout, path] of [
    ['directory', () => dir],
    ['.tgz', () => tgz],
  ] as const) {
    it(`a scan of the ${layout} dump gives the live findings, by the dump's clock`, async () => {
      const result = await snapshot(path(), ['--now', now]);
      const report = parseReport(result);
      assert.deepEqual(keys(report, s), keys(live, s));
      assert.equal(result.code, 1);
      // The vela-system Secrets the KubeVela rule reads with their values are redacted; none is an addon's args
      // here, so nothing is unknown (the redacted args of an addon are: test/cluster/dump.test.ts). The compressed
      // tracker is read from the entries the dump decoded: nothing unknown either.
      for (const rule of [VELA_RULE, 'harvester/addon-stuck-enabling'])
        assert.deepEqual(
          [report.rules.find((r) => r.id === rule)!.status, report.rules.find((r) => r.id === rule)!.incomplete],
          ['fail', false],
          rule,
        );
      // The Addon's values are redacted in the dump, and compared by their markers: the same verdict and the same safe
      // plan as live. The tracker's plan differs only where the dump cannot know: a manual prune instead of a patch
      // that would test the compressed data it never saw (live, it tracks a Secret: manual too).
      const finding = (r: JsonReport, kind: string, name: string) =>
        r.findings.find((f) => f.object.kind === kind && `${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}` === name)!;
      const [liveAddon, dumpAddon] = [finding(live, 'Addon', s.addon), finding(report, 'Addon', s.addon)];
      assert.deepEqual([dumpAddon.evidence, dumpAddon.remediation], [liveAddon.evidence, liveAddon.remediation]);
      assert.equal((dumpAddon.evidence.helmChart as Record<string, unknown>).specMatchesAddon, true);
      const [liveTracker, dumpTracker] = [finding(live, 'ResourceTracker', s.tracker), finding(report, 'ResourceTracker', s.tracker)];
      assert.deepEqual(dumpTracker.evidence, liveTracker.evidence);
      assert.deepEqual(
        dumpTracker.remediation!.steps.map((x) => x.action.type),
        liveTracker.remediation!.steps.map((x) => x.action.type),
      );
      assert.doesNotMatch(JSON.stringify(report.findings), /\(redacted\)/, 'no marker reaches a finding');

      // Without --now, the dump's capture time is the clock: the findings past their threshold an hour on are not yet.
      const byDumpClock = parseReport(await snapshot(path(), []));
      const capturedAt = (yaml.load(manifestText(path())) as { capturedAt: string }).capturedAt;
      assert.equal((byDumpClock as unknown as { metadata: { now: string } }).metadata.now, capturedAt);
      assert.ok(!keys(byDumpClock, s).some((k) => k.startsWith('harvester/upgrade-status-wiped')), 'a 2-minute threshold not yet passed');
    });
  }

  function manifestText(path: string): string {
    if (!path.endsWith('.tgz')) return readFileSync(join(path, 'kubectl-doctor-dump.yaml'), 'utf8');
    return tarFiles(gunzipSync(readFileSync(path)))
      .get('cluster/kubectl-doctor-dump.yaml')!
      .toString('utf8');
  }

  it('the dump holds no Secret value and no other credential: keys stay, values are their length and SHA-256 prefix; files are 0600', () => {
    const files = filesOf(dir);
    const archived = tarFiles(gunzipSync(readFileSync(tgz)));
    // The same layout under one directory (the two dumps are moments apart: other files may add a type between them).
    assert.ok([...archived.keys()].every((name) => name.startsWith('cluster/')));
    for (const name of ['kubectl-doctor-dump.yaml', 'resources/secrets.json', 'resources/namespaces.json']) {
      assert.ok(files.has(name) && archived.has(`cluster/${name}`), name);
    }
    for (const [name, data] of [...files, ...archived]) {
      for (const needle of [s.secretMarker, ...s.secretValues])
        assert.ok(!data.includes(needle), `${name} holds a Secret value (${needle})`);
    }
    for (const name of files.keys()) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
    assert.equal(statSync(tgz).mode & 0o777, 0o600);
    const secrets = files.get('resources/secrets.json')!.toString('utf8');
    const opaque = secrets.split('\n').find((l) => l.includes(`"${s.opaque}"`))!;
    const value = Buffer.from(s.opaqueValue, 'utf8');
    const hash = createHash('sha256').update(value).digest('hex').slice(0, 16);
    assert.ok(opaque.includes(`"data":{"value":"(redacted) ${value.length} bytes, sha256:${hash}"}`), opaque);
    // kubectl apply's copy of the values: a scan keeps no last-applied of an object not being deleted (no rule reads
    // it, src/engine/keep.ts), so the dump has none; where one is kept, it is redacted (test/cluster/dump.test.ts).
    assert.ok(!opaque.includes('last-applied-configuration'), opaque);
    const manifest = yaml.load(files.get('kubectl-doctor-dump.yaml')!.toString('utf8')) as Record<string, any>;
    // Every object that held a credential outside a Secret is in the dump (so the search above could have found
    // it), with markers where the credential was; the manifest says which fields of its type were redacted.
    for (const [resource, names] of Object.entries(s.carriers)) {
      const lines = files.get(`resources/${resource}.json`)?.toString('utf8').split('\n') ?? [];
      for (const name of names) {
        const [namespace, objectName] = name.includes('/') ? name.split('/') : [undefined, name];
        const line = lines.find((l) => l.includes(`"name":"${objectName}"`) && (!namespace || l.includes(`"namespace":"${namespace}"`)));
        assert.ok(line, `${resource} ${name} is in the dump`);
        assert.match(line, /"\(redacted\) \d+ bytes?, sha256:[0-9a-f]{16}"/, `${resource} ${name}`);
      }
      assert.ok(manifest.redacted.includes(resource), resource);
      assert.ok(manifest.redactedFields[resource].length > 0, resource);
    }
    assert.ok(manifest.redacted.includes('secrets'));
    assert.deepEqual(manifest.redactedFields.secrets, ['data.*', 'stringData.*']);
    assert.ok(manifest.redactedFields['*'].includes('metadata.annotations["objectset.rio.cattle.io/applied"]'));
    // The compressed tracker's data held the Secret compressed, where no search finds it: the dump has its marker,
    // and the entries decoded, each raw manifest a marker.
    const tracker = JSON.parse(
      files
        .get('resources/resourcetrackers.core.oam.dev.json')!
        .toString('utf8')
        .split('\n')
        .find((l) => l.includes(`"name":"${s.tracker}"`))!
        .replace(/,$/, ''),
    );
    assert.match(tracker.spec.compression.data, /^\(redacted\) \d+ bytes, sha256:/);
    assert.deepEqual(
      tracker.spec.managedResources.map((e: Record<string, unknown>) => [
        e.cluster,
        e.kind,
        e.name,
        String(e.raw).startsWith('(redacted)'),
      ]),
      [[`vc2-${s.sfx}`, 'Secret', 'db', true]],
    );
    assert.equal(
      manifest.cluster.version.replace(/^v/, '').split('.').slice(0, 2).join('.'),
      e2e().kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.'),
    );
    assert.ok(manifest.resources.some((r: Record<string, unknown>) => r.resource === 'configmaps' && r.metadataOnly === true));
    assert.ok(
      manifest.resources.some((r: Record<string, unknown>) => r.resource === 'secrets' && r.labelSelector !== undefined && !r.metadataOnly),
      'the vela-system Secrets the KubeVela rule reads in full',
    );
  });

  it('refuses to overwrite without --force; --force replaces a dump but never another directory; a failed dump leaves nothing', async () => {
    for (const target of [dir, tgz]) {
      const again = await doctor(['dump', target]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /^error: dump .*(already exists|not empty); pass --force/m);
    }
    const forced = await doctor(['dump', dir, '--force', '--rules', 'helm/*']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual((yaml.load(readFileSync(join(dir, 'kubectl-doctor-dump.yaml'), 'utf8')) as { rules: string[] }).rules, [
      'helm/release-stuck-pending',
    ]);
    const other = join(tempDir('dump-other'), 'notes');
    mkdirSync(other);
    writeFileSync(join(other, 'keep.txt'), 'mine');
    const refused = await doctor(['dump', other, '--force']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not a dump; --force replaces only an earlier dump/);
    assert.equal(readFileSync(join(other, 'keep.txt'), 'utf8'), 'mine');

    // Nothing answers on this port: the dump fails before writing, and nothing is left, not even a temporary file.
    const parent = tempDir('dump-failed');
    const failed = await runCli([
      'dump',
      join(parent, 'x.tgz'),
      '--server',
      'https://127.0.0.1:1',
      '--insecure-skip-tls-verify',
      '--token',
      't',
    ]);
    assert.equal(failed.code, 2, failed.stderr);
    assert.deepEqual(readdirSync(parent), []);
  });

  it("a limited user's dump lists the forbidden lists as not covered, and its scan is incomplete as the live one (exit 3)", async (t) => {
    if (!e2e().limitedContext) return t.skip('external cluster: no limited context');
    const rules = ['--rules', 'kubevela/*,fleet/*'];
    const limitedDir = join(tempDir('dump-limited'), 'limited');
    const dumped = await doctor(['dump', limitedDir, ...rules], { context: e2e().limitedContext! });
    assert.equal(dumped.code, 3, dumped.stderr);
    // The line names the first few (sorted); the manifest names them all.
    assert.match(dumped.stdout, /not covered \(\d+\): .*forbidden: list bundledeployments\.fleet\.cattle\.io/);
    const manifest = yaml.load(readFileSync(join(limitedDir, 'kubectl-doctor-dump.yaml'), 'utf8')) as Record<string, any>;
    assert.ok(manifest.notCovered.some((n: Record<string, unknown>) => n.resource === 'secrets' && n.failure === 'forbidden'));
    assert.ok(!existsSync(join(limitedDir, 'resources', 'secrets.json')));

    const liveLimited = await doctor([...rules, '-o', 'json', '--now', now], { context: e2e().limitedContext! });
    const fromDump = await snapshot(limitedDir, [...rules, '--now', now]);
    assert.equal(liveLimited.code, 3);
    assert.equal(fromDump.code, 3, fromDump.stderr);
    const statuses = (r: JsonReport) =>
      r.rules.map((x) => [x.id, x.status, x.incomplete, x.reason?.replace(/ \(when the dump was taken\)$/, '')]);
    assert.deepEqual(statuses(parseReport(fromDump)), statuses(parseReport(liveLimited)));
    assert.match(
      parseReport(fromDump).rules.find((r) => r.id === VELA_RULE)!.reason!,
      /^forbidden: list secrets \(when the dump was taken\)$/,
    );
  });

  it('partial dumps give no false finding and say what they could not see: only core/* read, only one namespace', async () => {
    const liveKeys = new Set(keys(live, s));
    const core = join(tempDir('dump-core'), 'core.tar.gz');
    // The harness serves an APIService whose backend is down: the `*` reads cannot see its group, live or dumped.
    const coreDump = await doctor(['dump', core, '--rules', 'core/*']);
    assert.equal(coreDump.code, 3, coreDump.stderr);
    // (Other files' broken states may add theirs, such as a CRD whose stored objects cannot be decoded.)
    assert.match(coreDump.stdout, /; not covered \(\d+\): .*api unavailable: cluster\.core\.oam\.dev\/v1alpha1/);
    // Made for core/* alone, it still redacts what every shipped rule declares: the Deployments core/* reads in full
    // keep no wrangler or vela-core applied configuration, the Addon listed metadata-only no default values.
    const coreFiles = tarFiles(gunzipSync(readFileSync(core)));
    for (const [name, data] of coreFiles)
      for (const needle of [s.secretMarker, ...s.secretValues]) assert.ok(!data.includes(needle), `${name} holds a credential (${needle})`);
    const coreLine = (resource: string, name: string) =>
      [...coreFiles]
        .find(([file]) => file.endsWith(`/resources/${resource}.json`))?.[1]
        .toString('utf8')
        .split('\n')
        .find((l) => l.includes(`"name":"${name}"`)) ?? '';
    assert.match(coreLine('addons.harvesterhci.io', s.addon.split('/')[1]!), /"harvesterhci\.io\/addon-defaults":"\(redacted\) /);
    assert.match(coreLine('deployments.apps', `dump-web-${s.sfx}`), /"objectset\.rio\.cattle\.io\/applied":"\(redacted\) /);
    const coreScan = parseReport(await snapshot(core, ['--now', now]));
    for (const k of keys(coreScan, s)) assert.ok(liveKeys.has(k), `not found live: ${k}`);
    const status = (id: string) => coreScan.rules.find((r) => r.id === id)!;
    // Everything was listed metadata-only: a rule that needs objects in full is not run on their metadata.
    assert.deepEqual(
      [status('fleet/missing-values-secret').status, status('fleet/missing-values-secret').reason],
      ['skipped', 'not in snapshot: bundledeployments.fleet.cattle.io'],
    );
    assert.equal(status(VELA_RULE).status, 'skipped');
    // Helm reads Secrets' metadata only: the metadata-only list of every Secret serves it.
    assert.ok(keys(coreScan, s).some((k) => k.startsWith('helm/release-stuck-pending')));
    assert.ok(keys(coreScan, s).some((k) => k.startsWith('core/stuck-deletion')));

    const one = join(tempDir('dump-ns'), 'one');
    assert.equal((await doctor(['dump', one, '-n', s.namespaces.fleet])).code, 3);
    const liveOne = parseReport(await doctor(['-n', s.namespaces.fleet, '--now', now, '-o', 'json']));
    const byDefault = parseReport(await snapshot(one, ['--now', now]));
    assert.equal(byDefault.source.namespace, s.namespaces.fleet, "a dump's scan defaults to its namespace");
    assert.deepEqual(keys(byDefault, s), keys(liveOne, s));
    const everywhere = await snapshot(one, ['--now', now, '-A']);
    for (const k of keys(parseReport(everywhere), s)) assert.ok(liveKeys.has(k), `not found live: ${k}`);
    assert.equal(parseReport(everywhere).complete, false);
    assert.match(everywhere.stderr, /hint: this dump was made for other rules or another namespace/);
  });
});
