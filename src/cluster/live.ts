import { ClusterError } from '../errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { mapLimit } from '../util/concurrency.ts';
import { visible } from '../util/terminal.ts';
import type { ApiClient } from './http.ts';
import { statusMessage, type ApiResponse } from './api-response.ts';
import { apiVersionOf, collectionPath, resourceName, type ResourceType } from './resources.ts';
import {
  isPlainObject as isObject,
  malformedMetadata,
  treeDepthExceeds,
  MAX_DEPTH,
  skippedEntry,
  TOO_DEEP,
  type SkippedObject,
} from './validate.ts';
import { openMetadataPage, type References } from './metadata-page.ts';
import { Discovery, type ClusterSource, type DiscoveryFailure, type ListOutcome, type ListRequest, type SourceInfo } from './source.ts';

export const AGGREGATED_DISCOVERY_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,' +
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
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

  #discovery: Promise<Discovery> | undefined;

  /** Once per source: the CLI resolves TYPE arguments with the discovery the scan then uses. */
  discover(): Promise<Discovery> {
    this.#discovery ??= this.#discover();
    return this.#discovery;
  }

  async #discover(): Promise<Discovery> {
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
      throw new ApiServerError(`discovery failed: ${statusMessage(bad)}`, bad.status === 403 ? 'forbidden' : 'error');
    }
    for (const [path, res] of [
      ['/api', api],
      ['/apis', apis],
    ] as const) {
      if (!isObject(res.body))
        throw new ApiServerError(
          `discovery failed: GET ${path} answered 200 with a body that is not JSON (${describeBody(res.text)}); is --server the API server?`,
          'error',
        );
    }
    const groupVersions: { group: string; version: string }[] = [];
    for (const v of arrayOf((api.body as { versions?: unknown }).versions))
      if (typeof v === 'string') groupVersions.push({ group: '', version: v });
    for (const g of arrayOf((apis.body as { groups?: unknown }).groups) as LegacyGroup[]) {
      if (!isObject(g) || typeof g.name !== 'string') continue;
      const preferred = g.preferredVersion?.version;
      const versions = arrayOf(g.versions)
        .map((v) => (v as { version?: unknown }).version)
        .filter((v): v is string => typeof v === 'string')
        .sort((a, b) => Number(b === preferred) - Number(a === preferred));
      for (const version of versions) groupVersions.push({ group: g.name, version });
    }
    const types: ResourceType[] = [];
    const failures: DiscoveryFailure[] = [];
    const lists = await mapLimit(groupVersions, this.#options.concurrency, async (gv) => {
      const path = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
      return { gv, res: await this.#getDiscovery(path, 'application/json') };
    });
    for (const { gv, res } of lists) {
      if (res.status !== 200 || !isObject(res.body)) {
        failures.push({
          groupVersion: apiVersionOf(gv),
          reason: res.status !== 200 ? `${res.status} ${statusMessage(res)}` : 'answered with a body that is not JSON',
        });
        continue;
      }
      const resources = (res.body as { resources?: unknown }).resources;
      for (const r of (Array.isArray(resources) ? resources : []) as LegacyResource[]) {
        if (!isObject(r) || typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) continue;
        types.push({
          group: gv.group,
          version: gv.version,
          resource: r.name,
          kind: r.kind,
          namespaced: r.namespaced,
          verbs: r.verbs ?? [],
          ...names(r.singularName, r.shortNames),
        });
      }
    }
    return new Discovery(types, failures);
  }

  async list(request: ListRequest): Promise<ListOutcome> {
    this.#stats.lists!++;
    const { type } = request;
    let metadataOnly = request.metadataOnly;
    const apiVersion = apiVersionOf(type);
    const references = request.referenceNeedles ? { needles: request.referenceNeedles, namespaced: type.namespaced } : undefined;
    for (let attempt = 0; ; attempt++) {
      const items: KubeObject[] = [];
      let count = 0;
      const skipped: SkippedObject[] = [];
      let continueToken: string | undefined;
      let pages = 0;
      let restart = false;
      const requestPage = (token: string | undefined): Promise<ApiResponse> => {
        this.#stats.listRequests!++;
        const answer = this.#client.request('GET', collectionPath(type, request.namespace), {
          accept: metadataOnly ? METADATA_LIST_ACCEPT : 'application/json',
          query: { limit: String(this.#options.chunkSize), continue: token, labelSelector: request.labelSelector },
        });
        // Asked for before the page before it is read (below): awaited then, or dropped if that page ends the list.
        answer.catch(() => undefined);
        return answer;
      };
      let next: Promise<ApiResponse> | undefined = requestPage(undefined);
      do {
        const res: ApiResponse = await next;
        next = undefined;
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
        const read = readPage(res, {
          request,
          metadataOnly,
          references,
          apiVersion,
          // The next page is asked for before this one is read, so the server serves it while the client reads: a
          // list's pages follow one another, and a long list is a scan's longest wait.
          whenContinued: (token) => {
            next = requestPage(token);
          },
          items,
          skipped,
        });
        if ('failure' in read) return read;
        count += read.count;
        continueToken = read.continueToken;
      } while (next);
      if (!restart)
        return { ok: true, items, pages, ...(skipped.length > 0 ? { skipped } : {}), ...(count !== items.length ? { count } : {}) };
      this.#stats.listRestarts!++;
      if (attempt >= EXPIRED_LIST_RESTARTS) {
        return {
          ok: false,
          failure: 'error',
          reason: `list ${resourceName(type)}: continue token kept expiring (410); the collection changes faster than it can be read`,
        };
      }
    }
  }
}

interface PageReading {
  request: ListRequest;
  /** Whether the page was asked for metadata-only (a server that refused that was asked again for whole objects). */
  metadataOnly: boolean;
  references: References | undefined;
  apiVersion: string;
  /** Told the page's continue token, when there is one, before its objects are read. */
  whenContinued: (token: string) => void;
  /** Where the kept objects and the skipped ones go. */
  items: KubeObject[];
  skipped: SkippedObject[];
}

/**
 * Reads a page of a list into `items` and `skipped`, and releases its answer: how many objects it had, and its
 * continue token. A function of its own, not a part of list(), so nothing of a page outlives it: list() awaits the
 * next page with its locals still in the registers V8 keeps for a suspended async function until they are
 * overwritten. A page's answer (with its text and parsed objects memoized) and objects held there outlived the young
 * generation, to be freed only by a full collection: at 60k objects, 48-52 MiB promoted per scan for ~13 MiB kept;
 * 17-18 MiB with this and release().
 */
function readPage(
  res: ApiResponse,
  reading: PageReading,
): { count: number; continueToken: string | undefined } | Extract<ListOutcome, { ok: false }> {
  const { request, metadataOnly, references, apiVersion, items, skipped } = reading;
  const { type } = request;
  const opened = metadataOnly ? openMetadataPage(res.bytes) : undefined;
  const body = opened ? undefined : listBody(type, res);
  if (body && 'failure' in body) return body;
  const continueToken = opened ? opened.continueToken : body!.continueToken;
  if (continueToken) reading.whenContinued(continueToken);
  // Of a metadata-only page, only the objects `keep` may keep are parsed when it can tell them by their text.
  const needles = opened ? request.keepNeedles?.() : undefined;
  const objects = needles ? opened!.read(needles, references) : undefined;
  let count = 0;
  let listed: unknown[];
  if (objects) {
    listed = objects.candidates;
    count += objects.count - objects.candidates.length;
  } else {
    // A page whose objects are not in kube-apiserver's form after all is read as any page.
    const whole = body ?? listBody(type, res);
    if ('failure' in whole) return whole;
    listed = whole.items;
  }
  res.release();
  for (const item of listed) {
    if (!isObject(item)) {
      skipped.push(skippedEntry({ apiVersion, kind: type.kind }, 'a list item that is not an object'));
      continue;
    }
    // Lists leave apiVersion/kind off their items, and metadata-only items say PartialObjectMetadata.
    item.apiVersion = apiVersion;
    item.kind = type.kind;
    // A server that could not list metadata only (406 above) sent whole objects: keep what was asked for.
    const object = (request.metadataOnly && !metadataOnly ? { apiVersion, kind: type.kind, metadata: item.metadata } : item) as KubeObject;
    const problem = malformedMetadata(object);
    if (problem !== undefined) {
      skipped.push(skippedEntry(item, problem));
      continue;
    }
    const kept = request.keep ? request.keep(object) : object;
    // Only what is kept is walked to its depth: an object no rule reads cannot hurt one.
    if (kept !== undefined && treeDepthExceeds(kept, MAX_DEPTH)) {
      skipped.push(skippedEntry(item, TOO_DEEP));
      continue;
    }
    count++;
    if (kept !== undefined) items.push(kept);
  }
  return { count, continueToken };
}

/** A page's objects and continue token, parsed whole; a failure when the answer is not a list. */
function listBody(
  type: ResourceType,
  res: ApiResponse,
): { items: unknown[]; continueToken: string | undefined } | Extract<ListOutcome, { ok: false }> {
  const body = res.body as { items?: unknown; metadata?: { continue?: unknown } } | undefined;
  // An empty metadata-only list leaves `items` out altogether.
  if (isObject(body) && (body.items === undefined || body.items === null)) body.items = [];
  if (!isObject(body) || !Array.isArray(body.items)) {
    return {
      ok: false,
      failure: 'error',
      reason: `list ${resourceName(type)}: the API server answered 200 with ${res.body === undefined ? 'a body that is not JSON' : 'JSON that is not a list'} (${describeBody(res.text)})`,
    };
  }
  const token = body.metadata?.continue;
  return { items: body.items as unknown[], continueToken: typeof token === 'string' && token !== '' ? token : undefined };
}

/** The API server cannot be used at all (401, discovery broken): the scan cannot run. */
export class ApiServerError extends ClusterError {}

function unauthorized(server: string): Error {
  return new ApiServerError(
    `the API server at ${server} answered 401 Unauthorized: the credentials in the kubeconfig are missing or expired`,
    'unauthorized',
  );
}

function listFailure(request: ListRequest, res: ApiResponse): ListOutcome {
  const name = resourceName(request.type);
  const scope = request.namespace && request.type.namespaced ? ` in namespace ${request.namespace}` : '';
  switch (res.status) {
    case 403:
      return { ok: false, failure: 'forbidden', reason: `forbidden: list ${name}${scope}` };
    case 404:
      return { ok: false, failure: 'not-served', reason: `api not served: ${name}` };
    case 503:
      return { ok: false, failure: 'unavailable', reason: `api unavailable: ${name}: ${statusMessage(res)}` };
    default:
      return { ok: false, failure: 'error', reason: `list ${name}${scope}: ${res.status} ${statusMessage(res)}` };
  }
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The start of a body that was not what the API would send, shown safely (it may be an HTML login page). */
function describeBody(text: string): string {
  const start = text.slice(0, 80).replace(/\s+/g, ' ').trim();
  return start === '' ? 'empty' : `starts ${JSON.stringify(visible(start))}`;
}

interface LegacyGroup {
  name: string;
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}
interface LegacyResource {
  name: string;
  singularName?: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
}

interface AggregatedGroup {
  metadata?: { name?: string };
  versions?: {
    version: string;
    freshness?: 'Current' | 'Stale';
    resources?: {
      resource: string;
      responseKind?: { kind?: string };
      scope?: string;
      verbs?: string[];
      singularResource?: string;
      shortNames?: string[];
    }[];
  }[];
}

function isAggregated(body: unknown): body is { items: AggregatedGroup[] } {
  const b = body as { kind?: string; items?: unknown } | undefined;
  return b?.kind === 'APIGroupDiscoveryList' && Array.isArray(b.items);
}

/** The singular and short names of a discovered resource, when they are well formed. */
function names(singular: unknown, shortNames: unknown): Pick<ResourceType, 'singular' | 'shortNames'> {
  const short = arrayOf(shortNames).filter((x): x is string => typeof x === 'string' && x !== '');
  return { ...(typeof singular === 'string' && singular !== '' ? { singular } : {}), ...(short.length > 0 ? { shortNames: short } : {}) };
}

/** Versions come preferred-first in aggregated discovery; Stale ones are APIs whose backend did not answer. */
function aggregatedDiscovery(groups: AggregatedGroup[]): Discovery {
  const types: ResourceType[] = [];
  const failures: DiscoveryFailure[] = [];
  // Entries of the wrong shape are left out rather than trusted: discovery answers are data like any other.
  for (const g of groups.filter((x) => isObject(x))) {
    const name = (g.metadata as { name?: unknown } | undefined)?.name;
    const group = typeof name === 'string' ? name : '';
    for (const v of arrayOf(g.versions) as NonNullable<AggregatedGroup['versions']>) {
      if (!isObject(v) || typeof v.version !== 'string') continue;
      if (v.freshness === 'Stale') {
        failures.push({
          groupVersion: apiVersionOf({ group, version: v.version }),
          reason: `stale GroupVersion discovery: ${apiVersionOf({ group, version: v.version })}`,
        });
        continue;
      }
      for (const r of arrayOf(v.resources) as NonNullable<typeof v.resources>) {
        if (!isObject(r) || typeof r.resource !== 'string' || r.resource === '') continue;
        types.push({
          group,
          version: v.version,
          resource: r.resource,
          kind: typeof r.responseKind?.kind === 'string' ? r.responseKind.kind : '',
          namespaced: r.scope === 'Namespaced',
          verbs: arrayOf(r.verbs).filter((x): x is string => typeof x === 'string'),
          ...names(r.singularResource, r.shortNames),
        });
      }
    }
  }
  return new Discovery(types, failures);
}
