// `node scripts/big-dump.ts DIR [--objects N]`: writes a `kubectl doctor dump` of a big broken cluster
// (test/harness/big-cluster.ts, about N broken objects; default 4000) to DIR, for timing and profiling scans at
// scale by hand:
//
//   node scripts/big-dump.ts /tmp/big-16k --objects 16000
//   time node bin/kubectl-doctor --snapshot /tmp/big-16k -o json > /dev/null
//   node --cpu-prof --cpu-prof-dir /tmp/prof bin/kubectl-doctor --snapshot /tmp/big-16k -o table > /dev/null
//
// The dump is made as `kubectl doctor dump` makes one (readCluster of every rule, dumpContents, writeDump), from the
// objects held in memory instead of a live cluster, with the discovery failure a live cluster with that stale
// metrics APIService reports. DIR must not exist or be empty (--force replaces an earlier dump).
import { parseArgs } from 'node:util';
import { SnapshotSource } from '../src/cluster/snapshot.ts';
import { dumpTarget, writeDump } from '../src/cluster/dump-writer.ts';
import { dumpContents, dumpFiles, redactorOf } from '../src/cli/dump.ts';
import { readCluster } from '../src/engine/scan.ts';
import { allRules } from '../rules/index.ts';
import { toolVersion } from '../src/version.ts';
import { BIG_CLUSTER_NOW, bigCluster, bigClusterShape } from '../test/harness/big-cluster.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { objects: { type: 'string', default: '4000' }, force: { type: 'boolean', default: false } },
});
const target = positionals[0];
const n = Number(values.objects);
if (target === undefined || !Number.isInteger(n) || n < 1) {
  process.stderr.write('usage: node scripts/big-dump.ts DIR [--objects N] [--force]\n');
  process.exit(2);
}
const shape = bigClusterShape(n);
const objects = bigCluster(shape);
const read = await readCluster(new SnapshotSource(objects), { rules: allRules, concurrency: 8, everyObject: true });
const { manifest, lists } = dumpContents(
  read,
  { capturedAt: BIG_CLUSTER_NOW, doctorVersion: toolVersion(), clusterVersion: 'v1.34.1', rules: allRules.map((r) => r.meta.id) },
  redactorOf(allRules),
);
manifest.discovery.failures.push({
  groupVersion: 'metrics.k8s.io/v1beta1',
  reason: 'stale GroupVersion discovery: metrics.k8s.io/v1beta1',
});
await writeDump(dumpTarget(target, values.force), dumpFiles(manifest, lists), new Date(BIG_CLUSTER_NOW));
process.stdout.write(`wrote ${target}: ${objects.length} objects (${JSON.stringify(shape)})\n`);
