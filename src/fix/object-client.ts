import { DoctorError } from '../errors.ts';
import { groupOf, versionOf, type KubeObject } from '../kube/object.ts';
import type { ApiClient } from '../cluster/http.ts';
import { statusMessage, type ApiResponse } from '../cluster/api-response.ts';
import { objectPath, parseResourceName, type ResourceType } from '../cluster/resources.ts';
import type { ActionTarget } from '../plan/actions.ts';

export function typeOfTarget(target: ActionTarget): ResourceType {
  return {
    group: groupOf(target.apiVersion),
    version: versionOf(target.apiVersion),
    resource: parseResourceName(target.resource).resource,
    kind: target.kind,
    namespaced: target.namespaced,
    verbs: [],
  };
}

export function pathOf(target: ActionTarget, subresource?: string): string {
  return objectPath(typeOfTarget(target), target.namespace, target.name, subresource);
}

/** Single-object reads and writes for `--fix` and `restore`; the scan itself never uses these. */
export class ObjectClient {
  readonly #client: ApiClient;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  /** The object as it is now, or undefined when it no longer exists. */
  async get(target: ActionTarget): Promise<KubeObject | undefined> {
    const res = await this.#client.request('GET', pathOf(target));
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new DoctorError(
        `cannot read ${target.kind} ${target.namespace ? `${target.namespace}/` : ''}${target.name}: ${res.status} ${statusMessage(res)}`,
      );
    const obj = res.body as KubeObject | undefined;
    // A proxy's HTML page, or a body cut short: not an object to compare preconditions with.
    if (!obj || typeof obj !== 'object' || !obj.metadata || typeof obj.metadata !== 'object') {
      throw new DoctorError(
        `cannot read ${target.kind} ${target.namespace ? `${target.namespace}/` : ''}${target.name}: the API server answered 200 without a Kubernetes object (${statusMessage(res)})`,
      );
    }
    obj.apiVersion ??= target.apiVersion;
    obj.kind ??= target.kind;
    return obj;
  }

  write(
    method: 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
    options: { contentType?: string; dryRun: boolean },
  ): Promise<ApiResponse> {
    // A DELETE with a body takes its options from the body alone and ignores ?dryRun=All (seen on a real
    // kube-apiserver: the object was deleted), so a dry-run delete says so in its DeleteOptions too.
    if (method === 'DELETE' && options.dryRun && body && typeof body === 'object') body = { ...body, dryRun: ['All'] };
    return this.#client.request(method, path, {
      body,
      ...(options.contentType ? { contentType: options.contentType } : {}),
      query: { dryRun: options.dryRun ? 'All' : undefined, fieldManager: 'kubectl-doctor' },
    });
  }
}

export { statusMessage };
