// Harvester objects as the harvester controller, helm-controller and the Job controller leave them, written through
// the endpoints those controllers use, for the end-to-end files that make harvester/addon-stuck-enabling's states
// (harvester.test.ts, and scenarios.ts for the dump). No such controller runs in the harness.
import type { KubeObject } from '../../src/kube/object.ts';
import { create, raw } from './kube.ts';

type Json = Record<string, unknown>;

const GROUP = '/apis/harvesterhci.io/v1beta1';
const MERGE = 'application/merge-patch+json';
const REPO = 'https://charts.harvesterhci.io';
/** The image helm-controller runs install Jobs with. */
export const KLIPPER_HELM = 'rancher/klipper-helm:v0.9.3-build20241008';

/** The running Harvester version the addon rule reads: cluster-scoped, top-level value/default (no spec). */
export const SERVER_VERSION_SETTING = {
  apiVersion: 'harvesterhci.io/v1beta1',
  kind: 'Setting',
  metadata: { name: 'server-version' },
  default: 'dev',
  value: 'v1.4.2',
};

/** RFC 3339 to the second, as the API server and the controllers write times. */
export const seconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
export const plus = (t: string, s: number) => new Date(Date.parse(t) + s * 1000);
export const addonPath = (ns: string, name: string) => `${GROUP}/namespaces/${ns}/addons/${name}`;
/** An Addon condition as the harvester controller writes it. */
export const cond = (type: string, status: string, time: string, extra: Json = {}) => ({
  type,
  status,
  lastUpdateTime: time,
  lastTransitionTime: time,
  reason: '',
  message: '',
  ...extra,
});

export function addonSpec(name: string): Json {
  return { repo: REPO, chart: name, version: '0.3.3', enabled: true, valuesContent: '' };
}

/**
 * An Addon as the harvester controller leaves it after `processEnableAddon` (status written through /status), its
 * HelmChart (owned by the Addon uid, status.jobName set by helm-controller) and, unless `job` is false, the install Job
 * `helm-install-<name>` with the status the Job controller writes. Returns the Job too, and its real creationTimestamp.
 * `extra`: what a real install carries besides (the dump test's credentials): annotations of the Addon and the Job,
 * HelmChart spec fields, the install container.
 */
export async function buildAddon(
  ns: string,
  name: string,
  options: {
    job: 'succeeded' | 'running' | 'failed' | false;
    status: (jobCreated: string) => Json;
    extra?: { addonAnnotations?: Record<string, string>; helmChartSpec?: Json; container?: Json; jobAnnotations?: Record<string, string> };
  },
): Promise<{ addon: KubeObject; job?: KubeObject; jobCreated: string }> {
  const extra = options.extra ?? {};
  const addon = await create({
    apiVersion: 'harvesterhci.io/v1beta1',
    kind: 'Addon',
    metadata: { name, namespace: ns, ...(extra.addonAnnotations ? { annotations: extra.addonAnnotations } : {}) },
    spec: addonSpec(name),
  } as never);
  await create({
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
    metadata: {
      name,
      namespace: ns,
      ownerReferences: [{ apiVersion: 'harvesterhci.io/v1beta1', kind: 'Addon', name, uid: addon.metadata.uid! }],
    },
    spec: { repo: REPO, chart: name, version: '0.3.3', valuesContent: '', backOffLimit: 5, ...extra.helmChartSpec },
  } as never);
  await raw(
    'PATCH',
    `/apis/helm.cattle.io/v1/namespaces/${ns}/helmcharts/${name}/status`,
    { status: { jobName: `helm-install-${name}` } },
    MERGE,
  );
  let jobCreated = seconds(new Date());
  let job: KubeObject | undefined;
  if (options.job) {
    job = await create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `helm-install-${name}`,
        namespace: ns,
        labels: { 'helmcharts.helm.cattle.io/chart': name },
        ...(extra.jobAnnotations ? { annotations: extra.jobAnnotations } : {}),
      },
      spec: {
        backoffLimit: 5,
        template: {
          metadata: { labels: { 'helmcharts.helm.cattle.io/chart': name } },
          spec: { restartPolicy: 'OnFailure', containers: [extra.container ?? { name: 'helm', image: KLIPPER_HELM }] },
        },
      },
    } as never);
    // The client returns creationTimestamp as a Date; the rule reads the RFC 3339 string the server sent.
    jobCreated = seconds(new Date(job.metadata.creationTimestamp!));
    const t = jobCreated;
    const status =
      options.job === 'succeeded'
        ? // Observed: Complete=True is refused without SuccessCriteriaMet=True (422 "cannot set Complete=True condition
          // without the SuccessCriteriaMet=true condition"), as the Job controller of 1.31+ writes both.
          {
            startTime: t,
            completionTime: t,
            succeeded: 1,
            conditions: [
              { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached' },
              { type: 'Complete', status: 'True', reason: 'CompletionsReached' },
            ],
          }
        : options.job === 'failed'
          ? {
              startTime: t,
              failed: 6,
              conditions: [
                { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded' },
                { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
              ],
            }
          : { startTime: t, active: 1 };
    await raw('PATCH', `/apis/batch/v1/namespaces/${ns}/jobs/helm-install-${name}/status`, { status }, MERGE);
  }
  await raw('PATCH', `${addonPath(ns, name)}/status`, { status: options.status(jobCreated) }, MERGE);
  return { addon: await raw('GET', addonPath(ns, name)), ...(job ? { job } : {}), jobCreated };
}

/** Enabling with InProgress=True since `inProgress` (what markInProgressCondition writes). */
export const enabling = (inProgress: string) => ({
  status: 'AddonEnabling',
  conditions: [
    cond('Completed', 'False', inProgress),
    cond('InProgress', 'True', inProgress),
    cond('OperationFailed', 'False', inProgress),
  ],
});
