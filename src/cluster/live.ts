import { DoctorError } from '../errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { ApiClient } from './http.ts';
import { statusMessage, type ApiResponse } from './api-response.ts';
import { apiVersionOf, collectionPath, resourceName, type ResourceType } from './resources.ts';
import { Discovery, type ClusterSource, type DiscoveryFailure, type ListOutcome, type ListRequest, type SourceInfo } from './source.ts';

const AGGREGATED_DISCOVERY_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,' +
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const EXPIRED_LIST_RESTARTS = 3;

export interface LiveSourceOptions {
  info: Extract<SourceInfo, { type: 'live' }>;
  /** Items per page (`limit`), as kubectl's --chunk-size. */
  chunkSize: number;
  /** Parallel requests during discovery. */
  concurrency: number;
}

/** Reads a live cluster through the API server: one discovery, paginated lists, metadata-only where asked. */
export class LiveSource implements ClusterSource {
  readonly #client: ApiClient;
  readonly #options: LiveSourceOptions;
  readonly #stats: Record<string, number> = { discoveryRequests: 0, listRequests: 0, lists: 0, listRestarts: 0 };

  constructor(client: ApiClient, options: LiveSourceOptions) {
    this.#client = client;
    this.#options = options;
  }

  info(): SourceInfo {
    return this.#options.info;
  }

  stats(): Record<string, number> {
    return { ...this.#stats, requests: this.#client.requestCount };
  }

  async discover(): Promise<Discovery> {
    const [core, groups] = await Promise.all([this.#getDiscovery('/api'), this.#getDiscovery('/apis')]);
    if (isAggregated(core.body) && isAggregated(groups.body)) {
      return aggregatedDiscovery([...core.body.items, ...groups.body.items]);
    }
    return this.#legacyDiscovery();
  }

  async #getDiscovery(path: string, accept = AGGREGATED_DISCOVERY_ACCEPT): Promise<ApiResponse> {
    this.#stats.discoveryRequests!++;
    const res = await this.#client.request('GET', path, { accept });
    if (res.status === 401) throw unauthorized(this.#client.server);
    return res;
  }

  /** Servers before aggregated discovery (< 1.26, or with it disabled): one request per group-version. */
  async #legacyDiscovery(): Promise<Discovery> {
    const [api, apis] = await Promise.all([
      this.#getDiscovery('/api', 'application/json'),
      this.#getDiscovery('/apis', 'application/json'),
    ]);
    if (api.status !== 200 || apis.status !== 200) {
      const bad = api.status !== 200 ? api : apis;
      throw new ApiServerError(`discovery failed: ${statusMessage(bad)}`);
    }
    const groupVersions: { group: string; version: string }[] = [];
    for (const v of (api.body as { versions?: string[] }).versions ?? []) groupVersions.push({ group: '', version: v });
    for (const g of (apis.body as { groups?: LegacyGroup[] }).groups ?? []) {
      const preferred = g.preferredVersion?.version;
      const versions = (g.versions ?? []).map((v) => v.version).sort((a, b) => Number(b === preferred) - Number(a === preferred));
      for (const version of versions) groupVersions.push({ group: g.name, version });
    }
    const types: ResourceType[] = [];
    const failures: DiscoveryFailure[] = [];
    const lists = await mapLimit(groupVersions, this.#options.concurrency, async (gv) => {
      const path = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
      return { gv, res: await this.#getDiscovery(path, 'application/json') };
    });
    for (const { gv, res } of lists) {
      if (res.status !== 200) {
        failures.push({ groupVersion: apiVersionOf(gv), reason: `${res.status} ${statusMessage(res)}` });
        continue;
      }
      for (const r of (res.body as { resources?: LegacyResource[] }).resources ?? []) {
        if (r.name.includes('/')) continue;
        types.push({ group: gv.group, version: gv.version, resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs ?? [] });
      }
    }
    return new Discovery(types, failures);
  }

  async list(request: ListRequest): Promise<ListOutcome> {
    this.#stats.lists!++;
    const { type } = request;
    let metadataOnly = request.metadataOnly;
    for (let attempt = 0; ; attempt++) {
      const items: KubeObject[] = [];
      let continueToken: string | undefined;
      let pages = 0;
      let restart = false;
      do {
        this.#stats.listRequests!++;
        const res = await this.#client.request('GET', collectionPath(type, request.namespace), {
          accept: metadataOnly ? METADATA_LIST_ACCEPT : 'application/json',
          query: { limit: String(this.#options.chunkSize), continue: continueToken, labelSelector: request.labelSelector },
        });
        if (res.status === 406 && metadataOnly) {
          // Aggregated API servers not built on k8s.io/apiserver may not offer metadata-only lists.
          metadataOnly = false;
          restart = true;
          break;
        }
        if (res.status === 410 && continueToken !== undefined) {
          restart = true;
          break;
        }
        if (res.status === 401) throw unauthorized(this.#client.server);
        if (res.status !== 200) return listFailure(request, res);
        pages++;
        const body = res.body as { items?: KubeObject[]; metadata?: { continue?: string } };
        for (const item of body.items ?? []) {
          // Lists leave apiVersion/kind off their items, and metadata-only items say PartialObjectMetadata.
          item.apiVersion = apiVersionOf(type);
          item.kind = type.kind;
          items.push(request.metadataOnly ? { apiVersion: item.apiVersion, kind: item.kind, metadata: item.metadata } : item);
        }
        continueToken = body.metadata?.continue || undefined;
      } while (continueToken);
      if (!restart) return { ok: true, items, pages };
      this.#stats.listRestarts!++;
      if (attempt >= EXPIRED_LIST_RESTARTS) {
        return { ok: false, failure: 'error', reason: `list ${resourceName(type)}: continue token kept expiring (410); the collection changes faster than it can be read` };
      }
    }
  }
}

/** The API server cannot be used at all (401, discovery broken): the scan cannot run. */
export class ApiServerError extends DoctorError {}

function unauthorized(server: string): Error {
  return new ApiServerError(`the API server at ${server} answered 401 Unauthorized: the credentials in the kubeconfig are missing or expired`);
}

function listFailure(request: ListRequest, res: ApiResponse): ListOutcome {
  const name = resourceName(request.type);
  const scope = request.namespace && request.type.namespaced ? ` in namespace ${request.namespace}` : '';
  switch (res.status) {
    case 403: return { ok: false, failure: 'forbidden', reason: `forbidden: list ${name}${scope}` };
    case 404: return { ok: false, failure: 'not-served', reason: `api not served: ${name}` };
    case 503: return { ok: false, failure: 'unavailable', reason: `api unavailable: ${name}: ${statusMessage(res)}` };
    default: return { ok: false, failure: 'error', reason: `list ${name}${scope}: ${res.status} ${statusMessage(res)}` };
  }
}

interface LegacyGroup { name: string; versions?: { version: string }[]; preferredVersion?: { version: string } }
interface LegacyResource { name: string; kind: string; namespaced: boolean; verbs?: string[] }

interface AggregatedGroup {
  metadata?: { name?: string };
  versions?: {
    version: string;
    freshness?: 'Current' | 'Stale';
    resources?: { resource: string; responseKind?: { kind?: string }; scope?: string; verbs?: string[] }[];
  }[];
}

function isAggregated(body: unknown): body is { items: AggregatedGroup[] } {
  const b = body as { kind?: string; items?: unknown } | undefined;
  return b?.kind === 'APIGroupDiscoveryList' && Array.isArray(b.items);
}

/** Versions come preferred-first in aggregated discovery; Stale ones are APIs whose backend did not answer. */
function aggregatedDiscovery(groups: AggregatedGroup[]): Discovery {
  const types: ResourceType[] = [];
  const failures: DiscoveryFailure[] = [];
  for (const g of groups) {
    const group = g.metadata?.name ?? '';
    for (const v of g.versions ?? []) {
      if (v.freshness === 'Stale') {
        failures.push({ groupVersion: apiVersionOf({ group, version: v.version }), reason: `stale GroupVersion discovery: ${apiVersionOf({ group, version: v.version })}` });
        continue;
      }
      for (const r of v.resources ?? []) {
        types.push({
          group, version: v.version, resource: r.resource, kind: r.responseKind?.kind ?? '',
          namespaced: r.scope === 'Namespaced', verbs: r.verbs ?? [],
        });
      }
    }
  }
  return new Discovery(types, failures);
}
