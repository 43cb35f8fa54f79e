// Global setup/teardown for `node --test --test-global-setup=test/harness/global-setup.ts ...` (Node >= 24).
// Starts ONE kube-apiserver for the whole run (see cluster.ts) and publishes it to the test files
// through environment variables. globalSetup runs in the test runner's main process before any test
// file process is spawned, and those processes inherit its process.env, so test files (also with the
// default process isolation) read the values with test/harness/env.ts.
import { ensureKubectl } from './build.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

export const ENV_KUBECONFIG = 'KUBECTL_DOCTOR_E2E_KUBECONFIG';
export const ENV_SERVER = 'KUBECTL_DOCTOR_E2E_SERVER';
export const ENV_ADMIN_CONTEXT = 'KUBECTL_DOCTOR_E2E_ADMIN_CONTEXT';
export const ENV_LIMITED_CONTEXT = 'KUBECTL_DOCTOR_E2E_LIMITED_CONTEXT';
export const ENV_EXTERNAL = 'KUBECTL_DOCTOR_E2E_EXTERNAL';
export const ENV_KUBERNETES_VERSION = 'KUBECTL_DOCTOR_E2E_KUBERNETES_VERSION';
/** A kubectl of the harness's Kubernetes version (unset with an external cluster: use the one on PATH). */
export const ENV_KUBECTL = 'KUBECTL_DOCTOR_E2E_KUBECTL';

let cluster: TestCluster | undefined;

export async function globalSetup(): Promise<void> {
  cluster = await startTestCluster();
  process.env[ENV_KUBECONFIG] = cluster.kubeconfigPath;
  process.env[ENV_SERVER] = cluster.server;
  process.env[ENV_ADMIN_CONTEXT] = cluster.adminContext;
  if (cluster.limitedContext) process.env[ENV_LIMITED_CONTEXT] = cluster.limitedContext;
  else delete process.env[ENV_LIMITED_CONTEXT];
  process.env[ENV_EXTERNAL] = cluster.external ? '1' : '0';
  process.env[ENV_KUBERNETES_VERSION] = cluster.kubernetesVersion;
  if (!cluster.external) process.env[ENV_KUBECTL] = await ensureKubectl();
}

export async function globalTeardown(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c) await c.stop();
}
