// The real Cluster API core controller for end-to-end tests: a kube-apiserver of its own (the shared one has the
// permissive CAPI CRDs of test/harness/crds, which the release's CRDs would replace under the other test files), the
// CRDs, conversion and admission webhooks of the pinned release (test/capi/build.ts), and the release's manager
// running against it with its webhooks served on the loopback with the test server's certificate.
//
//   const capi = await startCapi();        // takes ~10 s warm; the first run builds the manager (minutes)
//   try { ... capi.cluster.kubeconfigPath ... } finally { await capi.stop(); }
//
// No infrastructure, bootstrap or control plane provider runs: infrastructure.yaml has infrastructure types (TestCluster,
// TestMachine, TestMachineTemplate) a test provisions and deletes by hand, playing the provider. Flags and versions: test/capi/NOTES.md.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { kubeConfigAt, startTestCluster, waitEstablished, waitListable, type TestCluster } from '../harness/cluster.ts';
import { rawRequest } from '../harness/http.ts';
import { capiModuleDir, ensureCapi, type CapiBuild } from './build.ts';

/** How often the manager re-reconciles every object it watches, whatever happens (its --sync-period). */
export const SYNC_PERIOD_MS = 10_000;
/** Labels the release's kustomize config (config/default) puts on everything it installs. */
const PROVIDER_LABELS = { 'cluster.x-k8s.io/provider': 'cluster-api' };
const FIELD_MANAGER = 'kubectl-doctor-e2e';
const LOG_TAIL = 256 * 1024;

export interface Capi {
  /** The API server the manager works on (its own; not the shared one of e2e()). */
  cluster: TestCluster;
  kubeConfig: KubeConfig;
  version: string;
  /** The manager's Prometheus metrics (controller_runtime_reconcile_total{controller=...} counts its reconciles). */
  metricsUrl: string;
  /** The manager's log so far (the last 256 KiB), for assertion messages. */
  log(): string;
  /** Stops the manager (one SIGTERM, then waits), then the API server. Idempotent. */
  stop(): Promise<void>;
}

/** Free TCP ports, on every interface (the webhook server binds all of them: the release has no flag for its host). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** The documents of a YAML file as plain JSON (client-node's loadAllYaml renames keys such as x-kubernetes-list-type). */
function yamlDocs<T>(file: string): T[] {
  return (loadAll(readFileSync(file, 'utf8')) as unknown[]).filter((d): d is T => !!d && typeof d === 'object');
}

/** Server-side apply: creates the object, or makes it what we say (a retried start re-applies with new ports). */
async function apply(kc: KubeConfig, path: string, body: object): Promise<void> {
  const res = await rawRequest(kc, 'PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, {
    headers: { 'Content-Type': 'application/apply-patch+yaml' },
    body,
  });
  if (res.status >= 300) throw new Error(`applying ${path}: HTTP ${res.status}: ${res.body}`);
}

type Webhook = { name: string; clientConfig: { service?: { path?: string }; url?: string; caBundle?: string } };
type WebhookConfiguration = { apiVersion: string; kind: string; metadata: { name: string; labels?: object }; webhooks: Webhook[] };

/**
 * The release's CRDs with their conversion webhook (config/crd/patches, as its kustomize config does), our test
 * infrastructure CRD, and its admission webhooks (config/webhook/manifests.yaml), every service reference turned
 * into a URL on the loopback and the test server's CA as the caBundle, as cert-manager would inject it.
 */
async function installManifests(kc: KubeConfig, build: CapiBuild, webhookBase: string, caBundle: string): Promise<void> {
  const crds: V1CustomResourceDefinition[] = [];
  const bases = join(build.configDir, 'crd', 'bases');
  for (const f of readdirSync(bases).sort()) crds.push(...yamlDocs<V1CustomResourceDefinition>(join(bases, f)));
  const patches = join(build.configDir, 'crd', 'patches');
  const conversion = new Map<string, { path: string; reviewVersions: string[] }>();
  for (const f of readdirSync(patches)) {
    for (const patch of yamlDocs<V1CustomResourceDefinition>(join(patches, f))) {
      const webhook = patch.spec?.conversion?.webhook;
      conversion.set(patch.metadata!.name!, {
        path: webhook?.clientConfig?.service?.path ?? '/convert',
        reviewVersions: webhook?.conversionReviewVersions ?? ['v1'],
      });
    }
  }
  for (const crd of crds) {
    crd.metadata!.labels = { ...crd.metadata!.labels, ...PROVIDER_LABELS };
    const c = conversion.get(crd.metadata!.name!);
    if (c)
      crd.spec.conversion = {
        strategy: 'Webhook',
        webhook: { conversionReviewVersions: c.reviewVersions, clientConfig: { url: `${webhookBase}${c.path}`, caBundle } },
      };
  }
  crds.push(...yamlDocs<V1CustomResourceDefinition>(join(capiModuleDir, 'infrastructure.yaml')));
  for (const crd of crds) await apply(kc, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata!.name}`, crd);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await Promise.all(crds.map((crd) => waitEstablished(ext, crd.metadata!.name!)));
  await Promise.all(crds.map((crd) => waitListable(kc, crd)));

  for (const config of yamlDocs<WebhookConfiguration>(join(build.configDir, 'webhook', 'manifests.yaml'))) {
    // config/default's namePrefix.
    config.metadata = { name: `capi-${config.metadata.name}`, labels: PROVIDER_LABELS };
    for (const w of config.webhooks) w.clientConfig = { url: `${webhookBase}${w.clientConfig.service?.path ?? ''}`, caBundle };
    const plural = config.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
    await apply(kc, `/apis/admissionregistration.k8s.io/v1/${plural}/${config.metadata.name}`, config);
  }
}

interface Ports {
  webhook: number;
  health: number;
  diagnostics: number;
}

/** Every flag the manager needs here; the others keep the release's defaults (see NOTES.md). */
function managerArgs(cluster: TestCluster, ports: Ports): string[] {
  const pki = cluster.pki!;
  return [
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--leader-elect=false',
    `--sync-period=${SYNC_PERIOD_MS / 1000}s`,
    `--health-addr=127.0.0.1:${ports.health}`,
    `--diagnostics-address=127.0.0.1:${ports.diagnostics}`,
    '--insecure-diagnostics',
    `--webhook-port=${ports.webhook}`,
    `--webhook-cert-dir=${join(pki.certFile, '..')}`,
    `--webhook-cert-name=${pki.certFile.split('/').pop()}`,
    `--webhook-key-name=${pki.keyFile.split('/').pop()}`,
  ];
}

async function get(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<void>;
  exit: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stop(): Promise<void>;
}

function run(build: CapiBuild, args: string[], onLog: (chunk: Buffer) => void): Running {
  // supervise: the manager gets SIGTERM when our pipe to it closes or we die (see supervise/main.go).
  const child = spawn(build.supervise, [build.manager, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.on('data', onLog);
  child.stderr.on('data', onLog);
  child.stdin.on('error', () => undefined);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  let stopping: Promise<void> | undefined;
  return {
    child,
    exited,
    exit: () => exit,
    stop() {
      stopping ??= (async () => {
        if (!exit) {
          child.kill('SIGTERM'); // supervise sends the manager ONE SIGTERM: controller-runtime exits at once on a second
          const kill = setTimeout(() => child.kill('SIGKILL'), 40_000); // the manager's graceful shutdown allows 30 s
          await exited;
          clearTimeout(kill);
        }
        child.stdin.destroy();
      })();
      return stopping;
    },
  };
}

/** Starts a bare test API server, installs the release on it and runs its manager until it is ready. */
export async function startCapi(): Promise<Capi> {
  const build = await ensureCapi();
  const cluster = await startTestCluster({ fixtures: false });
  let log = '';
  const onLog = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-LOG_TAIL);
    if (process.env['KUBECTL_DOCTOR_TEST_VERBOSE']) process.stderr.write(chunk);
  };
  let manager: Running | undefined;
  const stop = async (): Promise<void> => {
    await manager?.stop();
    await cluster.stop();
  };
  try {
    const kc = kubeConfigAt(cluster.kubeconfigPath, cluster.adminContext);
    if (!cluster.pki) throw new Error('the Cluster API tests need a test API server of their own (KUBECTL_DOCTOR_TEST_KUBECONFIG is set)');
    const caBundle = readFileSync(cluster.pki.caFile).toString('base64');
    const started = Date.now();
    // The ports are free when chosen, but another process may take one before the manager binds it: try again then.
    let ports: Ports;
    for (let attempt = 1; ; attempt++) {
      const [webhook, health, diagnostics] = (await freePorts(3)) as [number, number, number];
      ports = { webhook, health, diagnostics };
      await installManifests(kc, build, `https://127.0.0.1:${webhook}`, caBundle);
      manager = run(build, managerArgs(cluster, ports), onLog);
      const ready = await waitReady(manager, `http://127.0.0.1:${health}/readyz`, kc);
      if (ready === 'ready') break;
      await manager.stop();
      if (attempt >= 3 || !/address already in use/.test(log))
        throw new Error(`the Cluster API manager ${ready}; its log:\n${log.slice(-8000)}`);
    }
    process.stderr.write(`[capi] cluster-api ${build.version} manager ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    return {
      cluster,
      kubeConfig: kc,
      version: build.version,
      metricsUrl: `http://127.0.0.1:${ports.diagnostics}/metrics`,
      log: () => log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Ready: /readyz answers 200 (the webhook server is up) and the API server gets answers from the webhooks (a
 * server-side dry run of a Cluster create goes through the defaulting and validating webhooks).
 */
async function waitReady(manager: Running, readyz: string, kc: KubeConfig, timeoutMs = 120_000): Promise<'ready' | string> {
  const deadline = Date.now() + timeoutMs;
  const probe = {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'Cluster',
    metadata: { name: 'webhook-probe', namespace: 'default' },
    // The Cluster webhook wants an infrastructureRef (or a controlPlaneRef or a topology); a dry run needs no object.
    spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'TestCluster', name: 'webhook-probe' } },
  };
  let last = '';
  while (Date.now() < deadline) {
    const exit = manager.exit();
    if (exit) return `exited before it was ready (${exit.signal ?? `exit ${exit.code}`})`;
    if ((await get(readyz)) === 200) {
      const res = await rawRequest(kc, 'POST', '/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters?dryRun=All', { body: probe });
      if (res.status < 300) return 'ready';
      last = `; the dry-run create answered HTTP ${res.status}: ${res.body}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return `was not ready within ${timeoutMs / 1000}s${last}`;
}
