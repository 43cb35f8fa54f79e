// What an end-to-end test file imports to reach the cluster started by global-setup.ts.
//
//   import { e2e, adminKubeConfig, limitedKubeConfig, kubectlEnv, uniqueName, rawRequest } from '../harness/env.ts';
//   const kc = adminKubeConfig();                       // KubeConfig loaded from the harness kubeconfig
//   const core = kc.makeApiClient(CoreV1Api);
//   spawn(cli, args, { env: kubectlEnv() })             // KUBECONFIG=<harness kubeconfig> for subprocesses
//
// Everything throws a clear error when the global setup did not run.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigAt } from './cluster.ts';
import {
  ENV_ADMIN_CONTEXT,
  ENV_EXTERNAL,
  ENV_KUBECONFIG,
  ENV_KUBECTL,
  ENV_KUBERNETES_VERSION,
  ENV_LIMITED_CONTEXT,
  ENV_SERVER,
} from './global-setup.ts';

export interface E2EEnv {
  kubeconfigPath: string;
  server: string;
  adminContext: string;
  /** undefined with KUBECTL_DOCTOR_TEST_KUBECONFIG (external cluster): skip limited-user tests then. */
  limitedContext: string | undefined;
  external: boolean;
  kubernetesVersion: string;
}

const NOT_SET_UP =
  `${ENV_KUBECONFIG} is not set: the end-to-end test harness did not run. Run the tests with ` +
  '`node --test --test-global-setup=test/harness/global-setup.ts <files>` (or `npm test`).';

export function e2e(): E2EEnv {
  const kubeconfigPath = process.env[ENV_KUBECONFIG];
  if (!kubeconfigPath) throw new Error(NOT_SET_UP);
  return {
    kubeconfigPath,
    server: process.env[ENV_SERVER] ?? '',
    adminContext: process.env[ENV_ADMIN_CONTEXT] ?? 'admin',
    limitedContext: process.env[ENV_LIMITED_CONTEXT] || undefined,
    external: process.env[ENV_EXTERNAL] === '1',
    kubernetesVersion: process.env[ENV_KUBERNETES_VERSION] ?? 'unknown',
  };
}

/** True when the harness is available (use with `{ skip: !e2eAvailable() }` if a file may run without it). */
export function e2eAvailable(): boolean {
  return !!process.env[ENV_KUBECONFIG];
}

function load(context: string): KubeConfig {
  return kubeConfigAt(e2e().kubeconfigPath, context);
}

/** KubeConfig (admin: system:masters) loaded from the harness kubeconfig. */
export function adminKubeConfig(): KubeConfig {
  return load(e2e().adminContext);
}

/** KubeConfig for the limited user; throws with an external cluster (no limited context there). */
export function limitedKubeConfig(): KubeConfig {
  const ctx = e2e().limitedContext;
  if (!ctx) throw new Error('no limited context: KUBECTL_DOCTOR_TEST_KUBECONFIG (external cluster) is in use');
  return load(ctx);
}

/** Environment for a subprocess (e.g. the CLI) that should talk to the harness cluster. */
export function kubectlEnv(context?: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, KUBECONFIG: e2e().kubeconfigPath };
  if (context) env['KUBECTL_DOCTOR_E2E_CONTEXT'] = context;
  return env;
}

/** A DNS-1123 name unique to this run, e.g. for a per-test namespace. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

export { rawRequest, type RawResponse } from './http.ts';

/**
 * The directory of a kubectl to put first on PATH for scripts the tests run: the harness's own (same Kubernetes
 * version as the server), else undefined (an external cluster: the kubectl on PATH is used).
 */
export function kubectlDir(): string | undefined {
  const kubectl = process.env[ENV_KUBECTL];
  return kubectl ? kubectl.replace(/\/kubectl$/, '') : undefined;
}
