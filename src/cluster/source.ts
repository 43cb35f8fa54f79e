import type { KubeObject } from '../kube/object.ts';
import type { SkippedObject } from './validate.ts';
import { BUILT_IN_GROUPS, parseResourceName, resourceName, type ResourceType } from './resources.ts';

/** What the report says about where the objects came from. */
export type SourceInfo =
  | { type: 'live'; context: string; cluster: string; user: string; server: string; namespace?: string }
  | { type: 'snapshot'; paths: string[]; namespace?: string };

/** One list the engine asks a source for. Equal requests are made once per scan, whichever rules need them. */
export interface ListRequest {
  type: ResourceType;
  /** List only metadata (PartialObjectMetadataList): items then carry `metadata` alone. */
  metadataOnly: boolean;
  /** Restrict a namespaced type to one namespace; undefined lists all namespaces. */
  namespace?: string;
  labelSelector?: string;
  /**
   * What to keep of each object listed, applied as each page arrives (src/engine/keep.ts): the object, trimmed, or
   * undefined to count it only. Without it, every object as listed. Not part of what the list is (its key).
   */
  keep?: (obj: KubeObject) => KubeObject | undefined;
  /**
   * Strings one of which the JSON text of every object `keep` keeps contains, as `keep`'s state stands when a page
   * arrives (undefined when that cannot be told): a live source counts the other objects of a metadata-only page
   * without parsing them (src/cluster/metadata-page.ts). Objects counted so are not validated (validate.ts): no rule
   * reads them.
   */
  keepNeedles?: () => readonly string[] | undefined;
  /**
   * Of keepNeedles, those for which `keep` reads no more of an object than its metadata's name, namespace and
   * ownerReferences: an object whose text holds only these may be handed to `keep` as just that, `{ metadata: { name,
   * namespace, ownerReferences } }`, read from its text (metadata-page.ts).
   */
  referenceNeedles?: readonly string[];
}

export type ListFailure = 'forbidden' | 'not-served' | 'unavailable' | 'error';

export type ListOutcome =
  /**
   * `skipped`: objects of the wrong shape, left out of `items` (validate.ts). `incomplete`: why `items` may not be
   * all there is (a dump holding some objects of a type it does not cover): a `*` read takes them with a coverage
   * gap, any other read counts the list as unavailable. `count`: how many objects were listed, when `keep` left
   * some out of `items`.
   */
  | { ok: true; items: KubeObject[]; pages: number; skipped?: SkippedObject[]; incomplete?: string; count?: number }
  | { ok: false; failure: ListFailure; reason: string };

/** A group-version that discovery could not describe (typically an aggregated API whose backend is down). */
export interface DiscoveryFailure {
  groupVersion: string;
  reason: string;
}

export class Discovery {
  readonly types: readonly ResourceType[];
  readonly failures: readonly DiscoveryFailure[];
  readonly #byName = new Map<string, ResourceType[]>();

  constructor(types: ResourceType[], failures: DiscoveryFailure[] = []) {
    this.types = types;
    this.failures = failures;
    for (const type of types) {
      const name = resourceName(type);
      const list = this.#byName.get(name) ?? [];
      list.push(type);
      this.#byName.set(name, list);
    }
  }

  /**
   * The served type for `name` (`applications.core.oam.dev`); with `version`, exactly that version.
   * Without one, the first listed version, which sources keep as the group's preferred version.
   */
  find(name: string, version?: string): ResourceType | undefined {
    const candidates = this.#byName.get(name) ?? [];
    return version ? candidates.find((t) => t.version === version) : candidates[0];
  }

  /** The discovery failure that explains why `name` is missing, if its group failed. */
  failureFor(name: string): DiscoveryFailure | undefined {
    const { group } = parseResourceName(name);
    return this.failures.find((f) => f.groupVersion.split('/')[0] === group && group !== '');
  }

  /**
   * The type a kubectl TYPE argument names (`pods`, `pod`, `po`, `Pod`, `deployments.apps`, `deploy.v1.apps`,
   * `cluster.cluster.x-k8s.io`), resolved as kubectl does (k8s.io/apimachinery schema.ParseResourceArg, then the
   * RESTMapper's ResourceFor): `resource.version.group` first, then `resource.group`, then a bare name matched
   * case-insensitively against plural, singular, short names and kind. A name several groups serve resolves to a
   * built-in group first, then to the first in discovery order (kubectl's PriorityRESTMapper does the same).
   */
  resolve(arg: string): ResourceType | undefined {
    const lower = arg.toLowerCase();
    const parts = lower.split('.');
    const forms: { resource: string; group?: string; version?: string }[] = [];
    if (parts.length >= 3) forms.push({ resource: parts[0]!, version: parts[1]!, group: parts.slice(2).join('.') });
    if (parts.length >= 2) forms.push({ resource: parts[0]!, group: parts.slice(1).join('.') });
    forms.push({ resource: lower });
    for (const form of forms) {
      const matches = this.types.filter(
        (t) =>
          (form.group === undefined || t.group === form.group) &&
          (form.version === undefined || t.version === form.version) &&
          [t.resource, t.singular, t.kind.toLowerCase(), ...(t.shortNames ?? [])].includes(form.resource),
      );
      const chosen = matches.find((t) => BUILT_IN_GROUPS.has(t.group)) ?? matches[0];
      if (chosen) return form.version !== undefined ? chosen : (this.find(resourceName(chosen)) ?? chosen);
    }
    return undefined;
  }

  /** One type per resource (the preferred version): what a scan of "every resource type" walks. */
  preferredTypes(): ResourceType[] {
    return [...this.#byName.values()].map((list) => list[0]!);
  }
}

/** Where a scan reads objects from: a live API server or a saved dump. Read-only. */
export interface ClusterSource {
  info(): SourceInfo;
  discover(): Promise<Discovery>;
  list(request: ListRequest): Promise<ListOutcome>;
  /** Counters for diagnostics (`-v`) and tests: how many requests of each kind were made. */
  stats(): Record<string, number>;
}
