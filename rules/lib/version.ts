// The two functions used, not semver's index: it loads all of semver (~50 modules, the range grammar's regexes) as
// the bundle starts, ~3.5 ms of every run.
import lt from 'semver/functions/lt.js';
import parse from 'semver/functions/parse.js';
import { field, type KubeObject } from '../../src/kube/object.ts';

/** A controller's version as read from its container image tag. */
export interface ImageVersion {
  /** Normalised semver, e.g. `1.10.2`. */
  version: string;
  image: string;
  deployment: string;
}

/** `oamdev/vela-core:v1.10.2` -> `1.10.2`; digests, `latest` and non-semver tags give undefined. */
export function versionFromImage(image: string): string | undefined {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.indexOf('/', colon) >= 0) return undefined;
  const tag = ref.slice(colon + 1);
  const parsed = parse(tag.replace(/^v/, ''), { loose: true });
  return parsed ? parsed.version : undefined;
}

/** What controllerVersion() reads of a Deployment: a read declaring these keeps no more of it. */
export const CONTROLLER_IMAGE_FIELDS = ['spec.template.spec.containers[].image'];

/**
 * The version of the first Deployment whose container image matches `imagePattern`. Deployments are looked up by
 * label or name by the caller; the image is what says which product it is.
 */
export function controllerVersion(deployments: KubeObject[], imagePattern: RegExp): ImageVersion | undefined {
  for (const deployment of deployments) {
    const containers = field(deployment, 'spec', 'template', 'spec', 'containers');
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      const image = field(container, 'image');
      if (typeof image !== 'string' || !imagePattern.test(image)) continue;
      const version = versionFromImage(image);
      if (version) {
        return { version, image, deployment: `${deployment.metadata.namespace ?? ''}/${deployment.metadata.name ?? ''}` };
      }
    }
  }
  return undefined;
}

/** True when `version` is strictly below `bound` (prereleases of the bound count as below it). */
export function versionBelow(version: string, bound: string): boolean {
  return lt(version, bound, { loose: true });
}
