// Starts a disposable real kube-apiserver (+ embedded etcd) for the end-to-end tests and prepares it:
//   - a kubeconfig (0600, in a temp dir) with ONE cluster "test" and two contexts/users:
//       admin   -> static token of user "kte-admin" in group system:masters (current-context)
//       limited -> static token of user "doctor-limited" (groups: system:authenticated only)
//   - RBAC for the limited user (ClusterRole/ClusterRoleBinding "kubectl-doctor-e2e-limited"):
//       get/list/watch on namespaces, configmaps and core.oam.dev applications; nothing else
//       (explicitly NOT secrets); discovery works through the default system:discovery binding;
//   - every CRD in test/harness/crds/ (waits until each is Established);
//   - test/harness/apiservice.yaml: namespace vela-system, Service kubevela-cluster-gateway-service
//     (no selector/endpoints) and APIService v1alpha1.cluster.core.oam.dev pointing at it, i.e. a
//     registered but unavailable aggregated API, as on clusters whose KubeVela cluster-gateway is down.
//
// KUBECTL_DOCTOR_TEST_KUBECONFIG=/path/to/kubeconfig: nothing is built or started; that kubeconfig's
// current context is used as admin (it must be allowed to create CRDs, RBAC and APIServices), the
// same fixtures are applied (existing objects are left as they are), there is NO limited context
// (limitedContext is undefined) and stop() leaves the cluster and the fixtures alone. Use only a
// disposable cluster.
//
// Only apiserver runs (no controller-manager): namespaces never finish terminating, there is no
// garbage collection, no default ServiceAccounts and no Pods run. Give each test its own namespace.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { ensureKubeTestenvBinary } from './build.ts';
import { rawRequest } from './http.ts';

export const harnessDir = dirname(fileURLToPath(import.meta.url));
export const crdDir = join(harnessDir, 'crds');
export const apiServiceFile = join(harnessDir, 'apiservice.yaml');

export const ADMIN_CONTEXT = 'admin';
export const LIMITED_CONTEXT = 'limited';
export const LIMITED_USER = 'doctor-limited';
export const LIMITED_RBAC_NAME = 'kubectl-doctor-e2e-limited';

export interface TestCluster {
  /** https://127.0.0.1:PORT (or the external cluster's server URL). */
  server: string;
  kubeconfigPath: string;
  adminContext: string;
  /** undefined when KUBECTL_DOCTOR_TEST_KUBECONFIG points at an external cluster. */
  limitedContext: string | undefined;
  /** true when KUBECTL_DOCTOR_TEST_KUBECONFIG was used. */
  external: boolean;
  /** e.g. "v1.37.1" for the built-in server; from /version for an external cluster. */
  kubernetesVersion: string;
  /**
   * The built-in server's CA and its serving certificate and key (for 127.0.0.1, localhost): a webhook a test serves
   * on the loopback can use them, with the CA as its caBundle. Undefined for an external cluster.
   */
  pki: { caFile: string; certFile: string; keyFile: string } | undefined;
  /** Stops the server and removes temp dirs (no-op for an external cluster). Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** How long to wait for the ready line (default 180 s; the cold build time is not included). */
  readyTimeoutMs?: number;
  /**
   * false: a bare server, for a test that installs its own API types (e.g. a release's CRDs that would clash with
   * the permissive ones in crds/): no CRDs, no APIService, no RBAC for the limited user. Default true.
   */
  fixtures?: boolean;
  /**
   * Serve /debug/pprof (kube-apiserver --profiling, off by default): `GET /debug/pprof/heap?gc=1` then runs the Go
   * collector of the server (and its embedded etcd) at once. npm run bench uses it between measured scans.
   */
  profiling?: boolean;
}

interface ReadyLine {
  ready: boolean;
  server: string;
  caFile: string;
  adminToken: string;
  adminUser: string;
  limitedToken: string;
  limitedUser: string;
  dir: string;
  pid: number;
  kubernetesVersion: string;
  etcdVersion: string;
}

// ---------------------------------------------------------------------------------------------
// Child-process bookkeeping: whatever happens to this process, the server must not outlive it.
// Besides these handlers the Go side exits on stdin EOF (our pipe closes when we die, even on
// SIGKILL) and has PR_SET_PDEATHSIG=SIGTERM.
interface LiveServer {
  child: ChildProcessWithoutNullStreams;
  tmp: string;
  /** SIGTERM already sent: kube-apiserver treats a SECOND SIGTERM as "exit now" and skips cleanup. */
  signalled: boolean;
}
const live = new Set<LiveServer>();

function terminate(entry: LiveServer): void {
  if (entry.signalled) return;
  entry.signalled = true;
  try {
    entry.child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
}
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    // Synchronous context: signal the server (it removes its work dir = tmp itself) and remove what
    // we can now; a later run's sweepStaleDirs() catches anything left if the server was SIGKILLed.
    for (const entry of live) {
      terminate(entry);
      rmSync(entry.tmp, { recursive: true, force: true });
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      for (const entry of live) terminate(entry);
      process.removeListener(sig, handler);
      // If nobody else handles the signal (e.g. the test runner), restore the default: die by it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

const TMP_PREFIX = 'kubectl-doctor-e2e-';
const PID_FILE = 'kube-testenv.pid';

/**
 * Removes work dirs of earlier runs whose server process is gone (only possible if the server itself
 * was SIGKILLed, e.g. together with its whole process group). Dirs without a pid file, or whose
 * pid is alive, are left alone.
 */
async function sweepStaleDirs(): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(TMP_PREFIX) || e.length !== TMP_PREFIX.length + 6) continue;
    const dir = join(tmpdir(), e);
    let pid: number;
    try {
      pid = Number.parseInt(await readFile(join(dir, PID_FILE), 'utf8'), 10);
    } catch {
      continue;
    }
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
      continue; // alive (or reused by another process): leave it
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

export async function startTestCluster(options: StartOptions = {}): Promise<TestCluster> {
  const external = process.env['KUBECTL_DOCTOR_TEST_KUBECONFIG'];
  if (external && external.trim() !== '') return useExternalCluster(external);
  // kube-testenv picks free ports and then binds them: a server starting at the same moment (test files run two at
  // a time, and some start their own) can take one in between. That is a lost race, not a broken server: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLocalCluster(options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startLocalCluster(options: StartOptions): Promise<TestCluster> {
  const bin = await ensureKubeTestenvBinary();
  installExitHandlers();
  await sweepStaleDirs();
  const tmp = await mkdtemp(join(tmpdir(), TMP_PREFIX));
  const logPath = join(tmp, 'kube-testenv.log');
  const logStream: WriteStream = createWriteStream(logPath);
  const started = Date.now();

  // The server uses tmp as its work dir and removes it (kubeconfig and log included) when it exits,
  // even if this process was SIGKILLed (it then sees EOF on stdin).
  const args = ['--dir', tmp];
  if (process.env['KUBECTL_DOCTOR_TEST_KEEP_TMP']) args.push('--keep-dir');
  if (options.profiling) args.push('--profiling');
  const child = spawn(bin, args, {
    stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: its EOF tells the server we are gone
    env: { ...process.env },
  });
  const entry: LiveServer = { child, tmp, signalled: false };
  live.add(entry);
  if (child.pid !== undefined) await writeFile(join(tmp, PID_FILE), `${child.pid}\n`);

  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    logStream.write(chunk);
    stderrTail = (stderrTail + chunk.toString()).slice(-8000);
    if (process.env['KUBECTL_DOCTOR_TEST_VERBOSE']) process.stderr.write(chunk);
  });
  child.stdin.on('error', () => undefined); // EPIPE if the child died first

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
  });

  // After start-up the server must not keep the event loop alive: with --test-isolation=none the
  // runner only calls globalTeardown once the loop has drained. stop() refs them again.
  const setRef = (ref: boolean): void => {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as { ref(): unknown; unref(): unknown }[]) {
      if (ref) h.ref();
      else h.unref();
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    setRef(true);
    if (!exited) {
      terminate(entry);
      const killTimer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 8_000);
      await exitPromise;
      clearTimeout(killTimer);
    }
    child.stdin.destroy();
    live.delete(entry);
    await new Promise<void>((r) => logStream.end(r));
    if (process.env['KUBECTL_DOCTOR_TEST_KEEP_TMP']) {
      process.stderr.write(`[kube-testenv] kept ${tmp}\n`);
    } else {
      await rm(tmp, { recursive: true, force: true });
    }
  };

  let ready: ReadyLine;
  try {
    ready = await waitForReadyLine(
      child,
      exitPromise,
      () => exited,
      () => stderrTail,
      options.readyTimeoutMs ?? 180_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  try {
    const ca = readFileSync(ready.caFile);
    const kubeconfigPath = join(tmp, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(ready.server, ca.toString('base64'), ready.adminToken, ready.limitedToken), {
      mode: 0o600,
    });
    const kc = kubeConfigAt(kubeconfigPath, ADMIN_CONTEXT);
    if (options.fixtures !== false) await installFixtures(kc, true);
    setRef(false);
    process.stderr.write(
      `[kube-testenv] kube-apiserver ${ready.kubernetesVersion} (etcd ${ready.etcdVersion}) ready at ${ready.server} ` +
        `in ${((Date.now() - started) / 1000).toFixed(1)}s (${options.fixtures === false ? 'no fixtures' : 'fixtures included'})\n`,
    );
    return {
      server: ready.server,
      kubeconfigPath,
      adminContext: ADMIN_CONTEXT,
      limitedContext: LIMITED_CONTEXT,
      external: false,
      kubernetesVersion: ready.kubernetesVersion,
      // Where kube-testenv/main.go writePKI puts them.
      pki: { caFile: ready.caFile, certFile: join(ready.dir, 'certs', 'serving.crt'), keyFile: join(ready.dir, 'certs', 'serving.key') },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForReadyLine(
  child: ChildProcessWithoutNullStreams,
  exitPromise: Promise<void>,
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined,
  stderrTail: () => string,
  timeoutMs: number,
): Promise<ReadyLine> {
  return new Promise<ReadyLine>((resolveReady, reject) => {
    const rl = createInterface({ input: child.stdout });
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rl.close();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`kube-testenv did not become ready within ${timeoutMs / 1000}s; stderr tail:\n${stderrTail()}`))),
      timeoutMs,
    );
    rl.on('line', (line) => {
      let parsed: ReadyLine;
      try {
        parsed = JSON.parse(line) as ReadyLine;
      } catch {
        finish(() => reject(new Error(`kube-testenv printed an unexpected line on stdout: ${line}`)));
        return;
      }
      if (parsed.ready) finish(() => resolveReady(parsed));
    });
    child.on('error', (err) => finish(() => reject(err)));
    void exitPromise.then(() => {
      // let the last stderr chunks arrive
      setTimeout(() => {
        const e = exited();
        finish(() =>
          reject(new Error(`kube-testenv exited before it was ready (${e?.signal ?? `exit ${e?.code}`}); stderr tail:\n${stderrTail()}`)),
        );
      }, 50);
    });
  });
}

function kubeconfigYaml(server: string, caData: string, adminToken: string, limitedToken: string): string {
  // JSON is valid YAML; kubectl and client-node read it as a kubeconfig.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': ADMIN_CONTEXT,
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [
      { name: ADMIN_CONTEXT, user: { token: adminToken } },
      { name: LIMITED_CONTEXT, user: { token: limitedToken } },
    ],
    contexts: [
      { name: ADMIN_CONTEXT, context: { cluster: 'test', user: ADMIN_CONTEXT, namespace: 'default' } },
      { name: LIMITED_CONTEXT, context: { cluster: 'test', user: LIMITED_CONTEXT, namespace: 'default' } },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

async function useExternalCluster(path: string): Promise<TestCluster> {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`KUBECTL_DOCTOR_TEST_KUBECONFIG=${path}: the current context has no cluster`);
  await installFixtures(kc, false);
  let version = 'unknown';
  try {
    const res = await rawRequest(kc, 'GET', '/version');
    version = (res.json as { gitVersion?: string } | undefined)?.gitVersion ?? 'unknown';
  } catch {
    /* informational only */
  }
  process.stderr.write(`[kube-testenv] using external cluster ${cluster.server} (context ${kc.getCurrentContext()})\n`);
  return {
    server: cluster.server,
    kubeconfigPath: path,
    adminContext: kc.getCurrentContext(),
    limitedContext: undefined,
    external: true,
    kubernetesVersion: version,
    pki: undefined,
    stop: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

async function createIgnoringExisting(client: KubernetesObjectApi, obj: KubernetesObject): Promise<void> {
  try {
    await client.create(obj);
  } catch (err) {
    if (!isConflict(err)) throw describeApiError(err, `creating ${obj.kind} ${obj.metadata?.name ?? ''}`);
  }
}

function describeApiError(err: unknown, what: string): Error {
  if (err instanceof ApiException) {
    return new Error(`${what}: HTTP ${err.code}: ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`);
  }
  return err instanceof Error ? new Error(`${what}: ${err.message}`, { cause: err }) : new Error(`${what}: ${String(err)}`);
}

export async function loadCrdFiles(): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const f of files) {
    for (const doc of loadAllYaml(await readFile(join(crdDir, f), 'utf8')) as unknown[]) {
      if (doc && typeof doc === 'object') crds.push(doc as V1CustomResourceDefinition);
    }
  }
  return crds;
}

export async function loadApiServiceFixtures(): Promise<KubernetesObject[]> {
  return (loadAllYaml(await readFile(apiServiceFile, 'utf8')) as unknown[]).filter(
    (d): d is KubernetesObject => !!d && typeof d === 'object',
  );
}

function limitedRbac(): KubernetesObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: LIMITED_RBAC_NAME, labels: { 'app.kubernetes.io/part-of': 'kubectl-doctor-e2e' } },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['core.oam.dev'], resources: ['applications'], verbs: ['get', 'list', 'watch'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: LIMITED_RBAC_NAME, labels: { 'app.kubernetes.io/part-of': 'kubectl-doctor-e2e' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: LIMITED_RBAC_NAME },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: LIMITED_USER }],
    } as KubernetesObject,
  ];
}

/** Creates the RBAC for the limited user (if withLimitedUser), the CRDs and the broken APIService. */
/** The kubeconfig file at `path` with `context` as its current context: how a test reaches a cluster it started. */
export function kubeConfigAt(path: string, context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  kc.setCurrentContext(context);
  return kc;
}

export async function installFixtures(kc: KubeConfig, withLimitedUser: boolean): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);

  if (withLimitedUser) for (const o of limitedRbac()) await createIgnoringExisting(objects, o);

  const crds = await loadCrdFiles();
  for (const crd of crds) {
    try {
      await ext.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!isConflict(err)) throw describeApiError(err, `creating CRD ${crd.metadata?.name}`);
    }
  }
  await Promise.all(crds.map((crd) => waitEstablished(ext, crd.metadata?.name ?? '')));
  // Established is not the end: right after it, lists can still answer 429 "storage is (re)initializing"
  // while the watch cache for the new resource fills. Wait until every served version lists.
  await Promise.all(crds.map((crd) => waitListable(kc, crd)));

  for (const o of await loadApiServiceFixtures()) await createIgnoringExisting(objects, o);

  // The first write of any custom resource in a fresh apiserver takes ~2 s (measured; one-time, any
  // CRD); pay it here with a server-side dry run instead of in the first test that writes a CR.
  const warm = crds.find((c) => c.spec.scope === 'Cluster') ?? crds[0];
  const warmVersion = warm?.spec.versions.find((v) => v.storage) ?? warm?.spec.versions[0];
  if (warm && warmVersion) {
    await rawRequest(kc, 'POST', `/apis/${warm.spec.group}/${warmVersion.name}/${warm.spec.names.plural}?dryRun=All`, {
      body: { apiVersion: `${warm.spec.group}/${warmVersion.name}`, kind: warm.spec.names.kind, metadata: { name: 'kube-testenv-warmup' } },
    }).catch(() => undefined);
  }
}

export async function waitListable(kc: KubeConfig, crd: V1CustomResourceDefinition, timeoutMs = 60_000): Promise<void> {
  for (const v of crd.spec.versions.filter((x) => x.served)) {
    const path = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}?limit=1`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await rawRequest(kc, 'GET', path);
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`GET ${path} still answers HTTP ${r.status}: ${r.body}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

export async function waitEstablished(ext: ApiextensionsV1Api, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const crd = await ext.readCustomResourceDefinition({ name });
    const conds = crd.status?.conditions ?? [];
    const established = conds.find((c) => c.type === 'Established');
    if (established?.status === 'True') return;
    const notConflict = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (notConflict) throw new Error(`CRD ${name}: NamesAccepted=False: ${notConflict.message ?? ''}`);
    last = JSON.stringify(conds);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} not Established within ${timeoutMs / 1000}s: ${last}`);
}
