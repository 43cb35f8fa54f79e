import type { KubeObject } from '../kube/object.ts';
import type { DumpRedaction } from '../kube/redact.ts';
import type { ResourceType } from '../cluster/resources.ts';
import type { ActionTarget, Remediation, RemediationStep, Risk } from '../plan/actions.ts';
import type { Finding, Severity } from './finding.ts';

/** A resource a rule reads. The engine lists each distinct read once per scan, shared by every rule. */
export interface ResourceRead {
  /** kubectl's name for it: `namespaces`, `deployments.apps`, `applications.core.oam.dev`; `*` = every listable type. */
  resource: string;
  /** A specific version; by default the server's preferred one. */
  version?: string;
  /** Only metadata is needed: list as PartialObjectMetadataList. */
  metadataOnly?: boolean;
  labelSelector?: string;
  /** Read only for extra evidence: when missing or forbidden, the rule still runs and says so. */
  optional?: boolean;
  /** Read every namespace even when the scan is limited with -n (e.g. a controller's own namespace). */
  allNamespaces?: boolean;
  /** Read only this namespace, whatever -n says (e.g. `vela-system` for KubeVela's addon Secrets). */
  namespace?: string;
  /**
   * For a `*` read: the objects the rule looks at. A scan keeps only those (the union over its rules) and counts the
   * rest (ListedType.count), so what it holds follows what is broken, not the cluster's size. Without it, every
   * object. A rule that needs every object of a type declares a read of that type as well.
   */
  subset?: Subset;
  /**
   * For a read of one type: the only fields of each object the rule reads, besides apiVersion, kind and metadata, as
   * dot paths (`spec.replicas`; `[]` for every element of a list: `spec.template.spec.containers[].image`). A scan
   * keeps only those when every read of the type declares them (a Deployment's few fields, not its pod template).
   * Without it, the whole object.
   */
  fields?: readonly string[];
}

/** Which objects of a `*` read a rule looks at: those matching any of the parts given. */
export interface Subset {
  /** Objects being deleted (metadata.deletionTimestamp), with all their metadata. */
  deleting?: boolean;
  /** Every object in a namespace that is being deleted (the Namespace has a deletionTimestamp). */
  inDeletingNamespaces?: boolean;
  /**
   * What a foreground deletion waits for: objects with an ownerReference with blockOwnerDeletion: true to an object
   * being deleted with the foregroundDeletion finalizer. Kept as references: kind, namespace, name and those
   * ownerReferences.
   */
  blockingDependents?: boolean;
  /** Objects carrying any of these annotations. */
  annotated?: readonly string[];
}

export type Reads = Record<string, ResourceRead>;

export interface RuleExplanation {
  /** What the rule detects, in a paragraph. */
  detects: string;
  /** Why it happens: the upstream mechanism. */
  why: string;
  /** What the rule reads and which facts it reports. */
  evidence: string;
  /** The remediation ladder, safest first. */
  remediation: string[];
  /** Upstream issues, PRs, docs. */
  references: string[];
}

/**
 * A number a rule's verdict depends on: an age below which a candidate is held back, an age after which the
 * severity rises, a tolerance. Declare each one in `meta.thresholds` and use that same value in `check` (read it
 * from the meta or from the constant the meta names), so `explain` and `rules -o wide` state what the code does:
 *
 *   const PENDING_MS = 15 * MINUTE_MS;
 *   meta: { ..., thresholds: { pending: { ms: PENDING_MS, minAge: true, describe: 'a pending revision younger than this may still be running: held back' } } }
 *   check: thresholdMs(ctx.minAgeMs, PENDING_MS)
 */
export interface Threshold {
  /** The duration, in milliseconds (shown as kubectl shows ages: 15m, 1h, 2s). */
  ms: number;
  /** What it decides, one clause that reads after the value: "15m  a Namespace Terminating for less is held back". */
  describe: string;
  /** True when --min-age replaces it (the rule reads thresholdMs(ctx.minAgeMs, ...)); explain then says so. */
  minAge?: boolean;
}

/**
 * The reasons a rule reports, as ESLint's `messages`: a stable kebab-case code (tests, suppressions and the Report
 * JSON key on it, never on wording) and the message template a finding of that reason renders, with `{{name}}`
 * placeholders filled from the finding's `data`.
 */
export type Reasons = Record<string, string>;

export interface RuleMeta<R extends Reads = Reads, M extends Reasons = Reasons> {
  /** `<ecosystem>/<name>`, kebab-case, stable forever: reports, --rules and suppressions use it. */
  id: string;
  /** One line for `kubectl doctor rules`. */
  summary: string;
  /** The most severe finding this rule reports. */
  severity: Severity;
  ecosystem: string;
  /**
   * The highest risk among the automatic (non-manual) steps of the plans this rule builds, or false when its plans
   * are manual only: what `kubectl doctor rules` shows as FIXABLE, and what --allow must reach to apply them all.
   * test/rules/fixable.test.ts checks it against the plans the rule builds over every fixture and the example dump.
   */
  fixable: false | Risk;
  /**
   * Rules whose findings this rule explains more specifically when both report the same object (Cluster API's
   * paused deletion refines core/stuck-deletion), or when their finding names this finding's object as its cause
   * (`causedBy`: an unavailable APIService behind a namespace stuck Terminating): its finding then leads, and theirs
   * defer to its plan.
   */
  refines?: readonly string[];
  reads: R;
  reasons: M;
  explain: RuleExplanation;
  /** Every age, wait and tolerance the rule's verdict depends on, by a short name (see Threshold). */
  thresholds?: Record<string, Threshold>;
  /**
   * The fields of the types this rule reads in full that can carry credentials (and of every object: `*`), which
   * `kubectl doctor dump` replaces by markers (src/kube/redact.ts). A dump redacts the union over every shipped rule,
   * whichever rules it was made for. A type several rules read is declared once, in a module they all reference
   * (rules/<ecosystem>/dump-redactions.ts): test/rules/dump-redactions.test.ts checks that each rule reading a type
   * in full declares it.
   */
  dumpRedactions?: readonly DumpRedaction[];
}

export interface ListedType {
  type: ResourceType;
  /** The objects of the read's subset (every object listed, for a read without one). */
  items: KubeObject[];
  /** How many objects were listed, kept or not. */
  count: number;
}

/** What a rule sees. Everything was read before `check` runs; a rule does no I/O of its own. */
export interface RuleContext<R extends Reads = Reads, M extends Reasons = Reasons> {
  /** The scan's clock (`--now` for snapshots). */
  readonly now: Date;
  /** Overrides every rule's age threshold when set (`--min-age`). */
  readonly minAgeMs: number | undefined;
  /** The namespace the scan is limited to (-n), if any. */
  readonly namespace: string | undefined;
  /** Objects of a required read. */
  list(key: keyof R & string): KubeObject[];
  /** Objects of an optional read, or why it could not be read. */
  optional(key: keyof R & string): KubeObject[] | { unavailable: string };
  /** For a `*` read: every type that was listed, and the types that could not be (coverage gaps). */
  everyType(key: keyof R & string): { listed: ListedType[]; gaps: { resource: string; reason: string }[] };
  /** The resource type of an object, for building remediation targets. */
  targetOf(obj: KubeObject): ActionTarget;
  /**
   * Records that part of what the rule checks could not be decided from the data it was given (a Secret value a
   * dump redacted, src/kube/redact.ts): the rule is then incomplete (`partial` when it found nothing), never a pass.
   */
  unknown(reason: string): void;
  /** Stops the rule: it is reported `skipped` with this reason (e.g. a product version it does not apply to). */
  skip(reason: string): never;
  /**
   * Records a candidate the rule does not report yet because it is younger than the rule's age threshold, so the
   * summary can say what was held back (`--min-age` shows them).
   */
  heldBack(obj: KubeObject, reason: string): void;
  /** Builds a finding of this rule for `obj`: its message is the reason's template filled with `data`. */
  finding(obj: KubeObject, details: FindingDetails<M>): Finding;
}

export interface FindingDetails<M extends Reasons = Reasons> {
  reason: keyof M & string;
  /** Values of the template's `{{name}}` placeholders; every placeholder must have one. */
  data?: Record<string, string | number>;
  severity?: Severity;
  evidence: Record<string, unknown>;
  /**
   * Objects in a broken state of their own that cause this finding (the unavailable APIService behind a namespace's
   * discovery failure). A finding about one of them, of a rule that `refines` this one, leads this finding.
   */
  causedBy?: KubeObject[];
  remediation?: {
    summary: string;
    steps: (Omit<RemediationStep, 'command'> & { command?: string })[];
    leftTo?: string;
    awaitsDeletion?: ActionTarget[];
  };
}

export interface Rule<R extends Reads = Reads, M extends Reasons = Reasons> {
  meta: RuleMeta<R, M>;
  check(ctx: RuleContext<R, M>): Finding[];
}

/** Identity helper that gives a rule file full type inference of its reads and reasons. */
export function defineRule<R extends Reads, M extends Reasons>(rule: Rule<R, M>): Rule<R, M> {
  return rule;
}

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/** A reason's message: its template with every `{{name}}` replaced; a placeholder without a value is a rule bug. */
export function renderReason(rule: string, reasons: Reasons, reason: string, data: Record<string, string | number> = {}): string {
  const template = reasons[reason];
  if (template === undefined) throw new Error(`rule ${rule} reported reason "${reason}", which its meta.reasons does not declare`);
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = data[name];
    if (value === undefined) throw new Error(`rule ${rule} reason "${reason}": no value for {{${name}}}`);
    return String(value);
  });
}

/** The placeholder names of a template, for tests that check a rule's data covers its templates. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export type { Remediation };
