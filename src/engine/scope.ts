/**
 * What a run looks at, as kubectl's arguments and -l say: findings about other objects are out of scope, not
 * suppressed (they are neither counted nor listed as suppressed).
 */
import { DoctorError, ExitCode } from '../errors.ts';
import { groupOf, type ObjectRef } from '../kube/object.ts';
import type { Discovery } from '../cluster/source.ts';
import { resourceName, type ResourceType } from '../cluster/resources.ts';
import { parseLabelSelector } from '../kube/selector.ts';
import { fingerprintOf, type Finding } from './finding.ts';

/** A TYPE[/NAME] argument as typed: the type word (maybe `a,b`) and the names given with it. */
export interface TargetArg {
  type: string;
  names: string[];
}

/** A resolved target: objects of this type, and of these names when there are any. */
export interface Target {
  type: ResourceType;
  names: string[];
}

export interface Scope {
  /** -l: the labels of the object a finding is about must match. */
  selector?: ((labels: Record<string, string> | undefined) => boolean) | undefined;
  /** TYPE[/NAME] arguments: the object must be one of them. */
  targets?: Target[] | undefined;
  /** --fingerprint: the finding must be one of these. */
  fingerprints?: ReadonlySet<string> | undefined;
}

const USAGE = 'TYPE[/NAME] arguments work as in kubectl get (e.g. ns/monitoring, deployments.apps web)';

/**
 * The positional arguments as kubectl get reads them (k8s.io/cli-runtime resource.Builder ResourceTypeOrNameArgs):
 * all `TYPE/NAME`, or `TYPE[,TYPE...] [NAME...]`; mixing the two is an error there and here.
 */
export function parseTargetArgs(args: readonly string[]): TargetArg[] {
  if (args.length === 0) return [];
  const bad = args.find((a) => a === '' || a.startsWith('/') || a.endsWith('/') || a.split('/').length > 2 || a.split(',').includes(''));
  if (bad !== undefined) throw new DoctorError(`invalid argument ${JSON.stringify(bad)}: ${USAGE}`);
  if (args.every((a) => a.includes('/'))) {
    return args.map((a) => {
      const [type, name] = a.split('/') as [string, string];
      if (type.includes(',')) throw new DoctorError(`invalid argument ${JSON.stringify(a)}: one TYPE per TYPE/NAME; ${USAGE}`);
      return { type, names: [name] };
    });
  }
  if (args.some((a) => a.includes('/'))) {
    throw new DoctorError(
      `there is no need to give a resource type as a separate argument when passing arguments in TYPE/NAME form (${args.join(' ')}); ${USAGE}`,
    );
  }
  const [types, ...names] = args as [string, ...string[]];
  return types.split(',').map((type) => ({ type, names }));
}

/**
 * Resolves each TYPE through the source's discovery; an unknown one is a usage error naming it, ending with `hint`
 * (the CLI's commands: a mistyped command reads as a TYPE).
 */
export function resolveTargets(args: readonly TargetArg[], discovery: Discovery, where: 'cluster' | 'snapshot', hint: string): Target[] {
  return args.map((arg) => {
    const type = discovery.resolve(arg.type);
    if (!type) {
      const holds =
        where === 'cluster' ? 'the cluster serves no such type (kubectl api-resources lists them)' : 'the snapshot holds no such type';
      throw new DoctorError(`unknown resource type ${JSON.stringify(arg.type)}: ${holds}; ${USAGE}, and ${hint}`, ExitCode.CouldNotRun);
    }
    return { type, names: arg.names };
  });
}

/** --fingerprint values: the 16 hex digits every finding carries. */
export function parseFingerprints(values: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (values === undefined) return undefined;
  const list = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = list.find((v) => !/^[0-9a-f]{16}$/.test(v));
  if (bad !== undefined)
    throw new DoctorError(
      `invalid --fingerprint ${JSON.stringify(bad)}: use the 16 hex digits of a finding's fingerprint (-o json or -o wide show them)`,
    );
  return new Set(list);
}

export function scopeOf(selector: string | undefined, targets: Target[] | undefined, fingerprints: ReadonlySet<string> | undefined): Scope {
  return {
    selector: selector !== undefined ? parseLabelSelector(selector) : undefined,
    targets: targets && targets.length > 0 ? targets : undefined,
    fingerprints,
  };
}

/** True when the run looks at `object` (the targets), whatever its labels. */
export function targeted(scope: Scope, object: ObjectRef): boolean {
  if (!scope.targets) return true;
  const group = groupOf(object.apiVersion);
  return scope.targets.some(
    (t) => t.type.group === group && t.type.kind === object.kind && (t.names.length === 0 || t.names.includes(object.name)),
  );
}

/** True when `finding` is in scope; `labels` are those of the object it is about. */
export function inScope(scope: Scope, finding: Finding, labels: Record<string, string> | undefined): boolean {
  if (scope.fingerprints && !scope.fingerprints.has(finding.fingerprint)) return false;
  if (scope.selector && !scope.selector(labels)) return false;
  return targeted(scope, finding.object);
}

/** True when a held-back candidate (rule and object) is in scope as far as it can tell (its labels are not kept). */
export function heldBackInScope(scope: Scope, rule: string, object: ObjectRef): boolean {
  if (scope.fingerprints && !scope.fingerprints.has(fingerprintOf(rule, object))) return false;
  return targeted(scope, object);
}

/** How the scope reads in -v output. */
export function describeTargets(targets: readonly Target[]): string {
  return targets.map((t) => `${resourceName(t.type)}${t.names.length > 0 ? `/${t.names.join(',')}` : ''}`).join(' ');
}
