// Small helpers for end-to-end tests: create real objects and broken states through the test API server.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { adminKubeConfig, e2e, rawRequest } from '../harness/env.ts';
import { runCli, type CliResult } from '../cli/run-cli.ts';
import type { ApiClient } from '../../src/cluster/http.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { AUDIT_LOG, type AuditEntry } from '../../src/fix/backup.ts';
import { tempDir } from '../temp.ts';

export function api(kc: KubeConfig = adminKubeConfig()): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kc);
}

export async function create<T extends KubernetesObject>(obj: T, kc?: KubeConfig): Promise<KubeObject> {
  return (await api(kc).create(obj)) as unknown as KubeObject;
}

/** Create, tolerating AlreadyExists: for namespaces and cluster-scoped objects several test files share. */
export async function ensure<T extends KubernetesObject>(obj: T): Promise<void> {
  try {
    await create(obj);
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

/**
 * A namespaced CustomResourceDefinition of one served and stored version, v1, whose objects may hold anything: for a
 * test that needs a custom type of its own (created with create(); established asynchronously by the API server).
 */
export function schemalessCrd(
  group: string,
  names: { plural: string; singular: string; kind: string },
  labels?: Record<string, string>,
): KubernetesObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${group}`, ...(labels ? { labels } : {}) },
    spec: {
      group,
      scope: 'Namespaced',
      names: { ...names, listKind: `${names.kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  } as KubernetesObject;
}

/** A ConfigMap `held` in `namespace`, deleted with a finalizer nobody removes: stuck deleting, as core/stuck-deletion finds. */
export async function heldConfigMap(namespace: string): Promise<void> {
  const held = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace, finalizers: ['example.com/never'] } };
  await create(held);
  await remove(held);
}

export async function createNamespace(name: string): Promise<void> {
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** DELETE; with finalizers the API server only sets deletionTimestamp, which is how the stuck states are made. */
export async function remove(obj: KubernetesObject): Promise<void> {
  await api().delete(obj);
}

export async function read(obj: KubernetesObject, kc?: KubeConfig): Promise<KubeObject> {
  return (await api(kc).read(obj as never)) as unknown as KubeObject;
}

export async function exists(obj: KubernetesObject): Promise<boolean> {
  try {
    await api().read(obj as never);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

/** Runs tasks with at most `limit` in flight (creating many objects quickly). */
export async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** A raw request as admin, for status subresources, /finalize and other paths the generic client lacks. */
export async function raw(method: string, path: string, body?: unknown, contentType?: string) {
  const res = await rawRequest(adminKubeConfig(), method, path, {
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { headers: { 'Content-Type': contentType } } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return res.json as KubeObject;
}

/** A namespace condition as the namespace controller writes it (pkg/controller/namespace/deletion), to the second. */
export function namespaceCondition(type: string, status: string, reason: string, message: string): Record<string, string> {
  return { type, status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
}

/**
 * A deleted namespace's status as the namespace controller would write it, through the status subresource: no
 * controller-manager runs in the harness, so the namespace stays Terminating with exactly these conditions.
 */
export async function writeTerminating(namespace: string, conditions: Record<string, unknown>[]): Promise<void> {
  const current = await raw('GET', `/api/v1/namespaces/${namespace}`);
  await raw('PUT', `/api/v1/namespaces/${namespace}/status`, { ...current, status: { phase: 'Terminating', conditions } });
}

/**
 * The harness kubeconfig with each of its clusters changed by `edit` (another server name, no CA, ...), written to a
 * new temp file `what` names: a test's own way to the same API server. Its path.
 */
export function editedKubeconfig(what: string, edit: (cluster: Record<string, unknown>) => void): string {
  const config = yaml.load(readFileSync(e2e().kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const { cluster } of config.clusters) edit(cluster);
  const file = join(tempDir(what), 'kubeconfig');
  writeFileSync(file, yaml.dump(config));
  return file;
}

/**
 * The flow-control windows of each HTTP/2 stream `client` opens for a GET of each of `paths` in turn, as Node's HTTP/2
 * diagnostics channel shows them (none over HTTP/1.1); the first stream may predate the SETTINGS. Closes the client.
 */
export async function http2Streams(
  client: ApiClient,
  paths: string[],
): Promise<{ initialWindowSize?: number; connectionWindow?: number }[]> {
  const streams: { initialWindowSize?: number; connectionWindow?: number }[] = [];
  const seen = (message: unknown) => {
    const { session } = (message as { stream: ClientHttp2Stream }).stream;
    streams.push({
      initialWindowSize: session?.localSettings.initialWindowSize,
      connectionWindow: session?.state.effectiveLocalWindowSize,
    });
  };
  subscribe('http2.client.stream.created', seen);
  try {
    for (const path of paths) {
      const res = await client.request('GET', path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    }
  } finally {
    unsubscribe('http2.client.stream.created', seen);
    await client.close();
  }
  return streams;
}

/** client-go's HTTP/2 windows (golang.org/x/net/http2 transport.go): 4 MiB a stream, 1 GiB the connection. */
export const CLIENT_GO_WINDOWS = { initialWindowSize: 4 * 2 ** 20, connectionWindow: 2 ** 30 };

/**
 * A scan as someone in two groups of which only the second grants access (system:masters): the KubeVela rule is
 * not skipped only when the groups arrive as two Impersonate-Group headers, not as one "a, b" group.
 */
export const TWO_GROUPS_SCAN = [
  '-o',
  'json',
  '--rules',
  'kubevela/*',
  '--as',
  'someone',
  '--as-group',
  'e2e-nothing',
  '--as-group',
  'system:masters',
];

/**
 * The CLI against the harness cluster, as a user runs it: `kubectl-doctor --kubeconfig K --context C ...`;
 * `cluster`: another test API server a test started itself.
 */
export function doctor(
  args: string[],
  options: {
    context?: string;
    timeoutMs?: number;
    env?: Record<string, string>;
    cluster?: { kubeconfigPath: string; adminContext: string };
  } = {},
): Promise<CliResult> {
  const { kubeconfigPath, adminContext } = options.cluster ?? e2e();
  return runCli(['--kubeconfig', kubeconfigPath, '--context', options.context ?? adminContext, ...args], {
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.env ? { env: options.env } : {}),
  });
}

export interface JsonReport {
  complete: boolean;
  source: { type: string; context?: string; namespace?: string };
  rules: { id: string; status: string; reason?: string; incomplete: boolean; findings: number }[];
  findings: {
    rule: string;
    reason: string;
    severity: string;
    object: { kind: string; namespace?: string; name: string; uid?: string };
    message: string;
    evidence: Record<string, unknown>;
    remediation?: { steps: { title: string; risk: string; action: { type: string } }[] };
  }[];
  fix?: {
    results: {
      rule: string;
      object: { kind: string; namespace?: string; name: string };
      outcome: string;
      stopped?: string;
      waitingFor?: string;
      steps: { status: string; message?: string }[];
    }[];
    backupDir?: string;
  };
}

export function parseReport(result: CliResult): JsonReport {
  try {
    return JSON.parse(result.stdout) as JsonReport;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout.slice(0, 500)}\nstderr: ${result.stderr.slice(0, 1000)}`);
  }
}

/** The audit log a --fix run wrote into `backupDir`, one entry a line, in order. */
export function readAudit(backupDir: string): AuditEntry[] {
  return readFileSync(join(backupDir, AUDIT_LOG), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEntry);
}
