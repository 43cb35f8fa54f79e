// `kubectl doctor dump DIR|FILE.tgz`: writes what a live scan of the selected rules reads (the engine's own read
// plan and lists, src/engine/scan.ts readCluster), Secret values and other credentials redacted, with a manifest of what it covers, in the
// layout `--snapshot` reads back (src/cluster/dump-format.ts). What a support engineer asks a customer to run.
import * as yaml from 'js-yaml';
import type { ApiClient } from '../cluster/http.ts';
import type { LoadedKubeConfig } from '../cluster/kubeconfig.ts';
import { LiveSource } from '../cluster/live.ts';
import { DUMP_MANIFEST, dumpResourceFile, manifestDocument, type DumpManifest } from '../cluster/dump-format.ts';
import { dumpTarget, writeDump, type DumpFile } from '../cluster/dump-writer.ts';
import { resourceName } from '../cluster/resources.ts';
import type { SnapshotSource } from '../cluster/snapshot.ts';
import { DoctorError, ExitCode } from '../errors.ts';
import type { Rule } from '../engine/rule.ts';
import { readCluster, type ClusterRead } from '../engine/scan.ts';
import { rulesOfFlags } from '../engine/select.ts';
import { dumpRedactor, type DumpRedactor } from '../kube/redact.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Report } from '../report/report.ts';
import { visible } from '../util/terminal.ts';
import { toolVersion } from '../version.ts';
import type { ArgsOf, DUMP_FLAGS, GLOBAL_FLAGS } from './flags.ts';
import { compareStrings } from '../util/collections.ts';

export type DumpArgs = ArgsOf<readonly [...typeof DUMP_FLAGS, ...typeof GLOBAL_FLAGS]>;

interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

type Connect = (debug: ((message: string) => void) | undefined) => Promise<{ client: ApiClient; loaded: LoadedKubeConfig }>;

/** Reads the cluster as a scan of the selected rules would and writes it; 0 when all was covered, 3 when not. */
export async function runDump(target: string, args: DumpArgs, io: Io, registered: readonly Rule[], connect: Connect): Promise<number> {
  const rules = rulesOfFlags(registered, args.rules, args['skip-rules']);
  checkChunkSize(args['chunk-size']);
  const namespace = args['all-namespaces'] ? undefined : args.namespace;
  const where = dumpTarget(target, args.force === true);
  const debug =
    args.v > 0
      ? (message: string) => {
          io.stderr.write(`doctor: ${visible(message)}\n`);
        }
      : undefined;
  const { client, loaded } = await connect(debug);
  try {
    const capturedAt = new Date();
    const source = new LiveSource(client, {
      info: { type: 'live', context: loaded.contextName, cluster: loaded.clusterName, user: loaded.userName, server: loaded.server },
      chunkSize: args['chunk-size'],
      concurrency: 8,
    });
    const version = await client.request('GET', '/version', { accept: 'application/json' });
    const gitVersion = (version.body as { gitVersion?: unknown } | undefined)?.gitVersion;
    const read = await readCluster(source, { rules, namespace, concurrency: 8, debug, everyObject: true });
    const { manifest, lists } = dumpContents(
      read,
      {
        capturedAt: capturedAt.toISOString(),
        doctorVersion: toolVersion(),
        ...(version.status === 200 && typeof gitVersion === 'string' ? { clusterVersion: gitVersion } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
        rules: rules.map((r) => r.meta.id),
      },
      redactorOf(registered),
    );
    await writeDump(where, dumpFiles(manifest, lists), capturedAt);
    io.stdout.write(`${summaryLine(target, manifest, lists)}\n`);
    return manifest.notCovered.length > 0 || manifest.unread.length > 0 ? ExitCode.Incomplete : ExitCode.Ok;
  } finally {
    await client.close();
  }
}

/**
 * What a dump redacts: what every shipped rule declares (`registered`, not only the rules selected), so a dump made
 * with --rules holds no credential that a dump of all of them would redact. A selected rule may write a type in full
 * that another rule declares (core/stuck-deletion lists Deployments in full; KubeVela and wrangler annotate them), and
 * every dump writes every type's metadata (a Harvester Addon's addon-defaults annotation holds its values).
 */
export function redactorOf(registered: readonly Rule[]): DumpRedactor {
  return dumpRedactor(registered.flatMap((r) => r.meta.dumpRedactions ?? []));
}

/**
 * The manifest and the objects per resource type. Lists of one type (metadata-only for one rule, in full for
 * another) are merged: an object keeps its fullest form; what each list covered is in the manifest.
 */
export function dumpContents(
  read: ClusterRead,
  about: Pick<DumpManifest, 'capturedAt' | 'doctorVersion' | 'clusterVersion' | 'namespace' | 'rules'>,
  redactor: DumpRedactor,
): { manifest: DumpManifest; lists: Map<string, KubeObject[]> } {
  const manifest: DumpManifest = {
    ...about,
    redacted: [],
    redactedFields: { '*': [...redactor.everyObject] },
    unread: [],
    covered: [],
    notCovered: [],
    discovery: { types: [...read.discovery.types], failures: [...read.discovery.failures] },
  };
  const byType = new Map<string, Map<string, KubeObject>>();
  const fetched = [...read.fetched.values()].sort((a, b) => Number(a.request.metadataOnly) - Number(b.request.metadataOnly));
  for (const { request, outcome } of fetched) {
    const resource = resourceName(request.type);
    const scope = {
      resource,
      ...(request.type.namespaced && request.namespace !== undefined ? { namespace: request.namespace } : {}),
      ...(request.labelSelector !== undefined ? { labelSelector: request.labelSelector } : {}),
      metadataOnly: request.metadataOnly,
    };
    if (!outcome.ok) {
      manifest.notCovered.push({ ...scope, failure: outcome.failure, reason: outcome.reason });
      continue;
    }
    manifest.covered.push({ ...scope, ...(outcome.skipped ? { skipped: outcome.skipped } : {}) });
    const objects = byType.get(resource) ?? new Map<string, KubeObject>();
    byType.set(resource, objects);
    // Full lists come first: a metadata-only copy never replaces the full one.
    for (const obj of outcome.items) {
      const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
      if (!objects.has(key)) objects.set(key, redactor.redact(obj, resource));
    }
    const fields = redactor.fieldsOf(resource);
    if (fields.length > 0 && !manifest.redacted.includes(resource)) {
      manifest.redacted.push(resource);
      manifest.redactedFields[resource] = fields;
    }
  }
  // What the rules read that no list could hold: group-versions discovery could not describe, for a `*` read or a
  // read of a type in one of them.
  for (const planned of read.plans.values()) {
    for (const plan of Object.values(planned)) {
      const reasons =
        plan.kind === 'every' ? plan.unavailable.map((u) => u.reason) : plan.kind === 'missing' && plan.incomplete ? [plan.reason] : [];
      for (const reason of reasons) if (!manifest.unread.includes(reason)) manifest.unread.push(reason);
    }
  }
  const lists = new Map(
    [...byType].sort(([a], [b]) => compareStrings(a, b)).map(([resource, objects]) => [resource, [...objects.values()]]),
  );
  return { manifest, lists };
}

/** The manifest, then one `List` per resource type, one item per line (grep finds an object with its whole line). */
export function* dumpFiles(manifest: DumpManifest, lists: Map<string, KubeObject[]>): Generator<DumpFile> {
  yield {
    name: DUMP_MANIFEST,
    data: Buffer.from(
      `# Written by kubectl doctor dump: what the cluster held for the rules listed below, Secret values and the other\n# credentials listed under redactedFields replaced by their length and SHA-256 prefix.\n# Scan it with: kubectl doctor --snapshot <this dump>\n${yaml.dump(manifestDocument(manifest), { noRefs: true, lineWidth: -1 })}`,
      'utf8',
    ),
  };
  for (const [resource, items] of lists) {
    const lines = items.map((item) => JSON.stringify(item));
    yield {
      name: dumpResourceFile(resource),
      data: Buffer.from(`{"apiVersion":"v1","kind":"List","items":[${lines.length > 0 ? `\n${lines.join(',\n')}\n` : ''}]}\n`, 'utf8'),
    };
  }
}

function summaryLine(target: string, manifest: DumpManifest, lists: Map<string, KubeObject[]>): string {
  const objects = [...lists.values()].reduce((n, l) => n + l.length, 0);
  // A stable order (lists finish in any order): unavailable group-versions first, the usual known gap, then the lists.
  const gaps = [
    ...new Set([
      ...manifest.discovery.failures.map((f) => `api unavailable: ${f.groupVersion}`).sort(),
      ...manifest.notCovered.map((n) => n.reason).sort(),
    ]),
  ];
  const scope = manifest.namespace !== undefined ? ` in namespace ${manifest.namespace}` : '';
  const rules = `${manifest.rules.length} rule${manifest.rules.length === 1 ? '' : 's'}`;
  return visible(
    `wrote ${target}: ${objects} objects of ${lists.size} resource types${scope}, what ${rules} read, Secret values and other credentials redacted; ` +
      (gaps.length === 0
        ? 'every list was read'
        : `not covered (${gaps.length}): ${gaps.slice(0, 5).join('; ')}${gaps.length > 5 ? `; and ${gaps.length - 5} more (see ${DUMP_MANIFEST})` : ''}`),
  );
}

/** --chunk-size, for a scan and a dump alike. */
export function checkChunkSize(value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    const given = Number.isNaN(value) ? 'that is not a number' : String(value);
    throw new DoctorError(`invalid --chunk-size ${given}: use a whole number of objects per page, e.g. 500`);
  }
}

/**
 * A scan of a `kubectl doctor dump` runs by the dump's clock (so ages match the live scan's) and in its namespace,
 * unless --now, -n or -A say otherwise.
 */
export function snapshotDefaults(
  source: SnapshotSource,
  given: { now: Date | undefined; namespace: string | undefined; allNamespaces: boolean },
): { now: Date; namespace: string | undefined } {
  const dump = source.dump();
  return {
    now: given.now ?? (dump ? new Date(dump.capturedAt) : new Date()),
    namespace: given.namespace ?? (given.allNamespaces ? undefined : dump?.namespace),
  };
}

/**
 * For a scan of a dump that lacks what the rules read (single objects, a partial `kubectl get`): how to make one
 * that has it. One line on stderr, only when a read was not in the snapshot.
 */
export function snapshotHint(report: Report, source: SnapshotSource): string | undefined {
  const missing = report.rules.some(
    (r) => r.reason?.includes('not in snapshot') || r.gaps?.some((g) => g.reason.startsWith('not in snapshot')),
  );
  if (!missing) return undefined;
  return source.dump()
    ? 'hint: this dump was made for other rules or another namespace; run kubectl doctor dump again with the rules and -n of this scan'
    : 'hint: the dump does not hold everything these rules read (see "not in snapshot"); ask for one made with kubectl doctor dump DIR|FILE.tgz, which holds exactly what a scan reads';
}
