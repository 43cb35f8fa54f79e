import { DoctorError } from '../errors.ts';
import type { ObjectRef } from '../kube/object.ts';
import { parseLabelSelector } from '../kube/selector.ts';
import type { Finding } from './finding.ts';
import type { ScanResult } from './scan.ts';
import { globToRegExp } from './select.ts';
import { pushTo } from '../util/collections.ts';

/** On an object: the rule ids (or globs), comma-separated, whose findings about it are not reported. */
export const IGNORE_ANNOTATION = 'doctor.kubectl.io/ignore';
export const IGNORE_REASON_ANNOTATION = 'doctor.kubectl.io/ignore-reason';

export interface Suppressed {
  fingerprint: string;
  rule: string;
  object: ObjectRef;
  by: 'annotation' | 'file' | 'baseline';
  reason?: string;
  expires?: string;
}

/** One entry of a --suppressions file. Every field given must match; at least one of rule, fingerprint or an object field. */
export interface SuppressionEntry {
  rule?: string;
  /** The finding's reason code (`kubectl doctor explain RULE` lists them) or a glob: accept one kind of finding of a rule. */
  findingReason?: string;
  fingerprint?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  selector?: string;
  reason: string;
  /** RFC 3339 date or time; from then on the entry no longer applies (a date means 00:00 UTC that day). */
  expires?: string;
}

export interface SuppressionFile {
  suppressions: SuppressionEntry[];
  ignoreGaps: string[];
}

export interface BaselineEntry {
  fingerprint: string;
  rule: string;
  object: ObjectRef;
}

export interface Suppressions {
  file?: SuppressionFile | undefined;
  baseline?: BaselineEntry[] | undefined;
}

export interface SuppressOutcome {
  findings: Finding[];
  suppressed: Suppressed[];
  /** File entries past their `expires`: they suppressed nothing. */
  expired: SuppressionEntry[];
  /** Baseline entries whose rule ran over all it reads and found nothing there any more. */
  baselineGone?: BaselineEntry[];
  /** What a baseline written now records: the findings left after annotations and the file, baselined ones included. */
  current: BaselineEntry[];
}

/**
 * Takes the suppressed findings out of a scan's findings, in order: the object's annotation, then the suppression
 * file, then the baseline (`everything`: the scan's findings before -l narrowed them). Nothing is dropped: every finding taken out is returned with what took it out and why.
 */
export function applySuppressions(
  scan: ScanResult,
  options: Suppressions,
  everything: readonly Finding[] = scan.findings,
): SuppressOutcome {
  const suppressed: Suppressed[] = [];
  const now = scan.now.getTime();
  const entries = options.file?.suppressions ?? [];
  const expired = entries.filter((e) => e.expires !== undefined && expiryOf(e.expires) <= now);
  const firstMatch = liveEntries(entries, new Set(expired));
  const baseline = new Map((options.baseline ?? []).map((b) => [b.fingerprint, b]));
  const kept: Finding[] = [];
  const current: BaselineEntry[] = [];
  const suppress = (f: Finding, by: Suppressed['by'], reason: string | undefined, expires?: string) => {
    suppressed.push({
      fingerprint: f.fingerprint,
      rule: f.rule,
      object: f.object,
      by,
      ...(reason ? { reason } : {}),
      ...(expires ? { expires } : {}),
    });
  };
  for (const f of scan.findings) {
    const metadata = scan.findingObjects.get(f.fingerprint);
    const annotations = metadata?.annotations ?? {};
    const ignored = (annotations[IGNORE_ANNOTATION] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (ignored.some((pattern) => globToRegExp(pattern).test(f.rule))) {
      suppress(f, 'annotation', annotations[IGNORE_REASON_ANNOTATION]);
      continue;
    }
    const entry = firstMatch(f, metadata?.labels);
    if (entry) {
      suppress(f, 'file', entry.reason, entry.expires);
      continue;
    }
    current.push({ fingerprint: f.fingerprint, rule: f.rule, object: f.object });
    if (baseline.has(f.fingerprint)) {
      suppress(f, 'baseline', 'in the baseline');
      continue;
    }
    kept.push(f);
  }
  const outcome: SuppressOutcome = { findings: kept, suppressed, expired, current };
  if (options.baseline) {
    // Out of -l's selection is not gone: only what the scan found nowhere.
    const seen = new Set(everything.map((f) => f.fingerprint));
    const complete = new Set(scan.rules.filter((r) => !r.incomplete && r.status !== 'skipped').map((r) => r.id));
    const scope = scan.source.namespace;
    outcome.baselineGone = options.baseline.filter(
      (b) => !seen.has(b.fingerprint) && complete.has(b.rule) && (scope === undefined || b.object.namespace === scope),
    );
  }
  return outcome;
}

/**
 * The first entry in file order, not expired, that matches a finding. Entries naming a fingerprint are looked up by
 * it, so a file listing every finding of a big scan (thousands of fingerprints) costs one lookup per finding, not a
 * pass over the file; the others (rule, object, selector patterns) are tried in order.
 */
function liveEntries(
  entries: readonly SuppressionEntry[],
  expired: ReadonlySet<SuppressionEntry>,
): (f: Finding, labels: Record<string, string> | undefined) => SuppressionEntry | undefined {
  type Live = { index: number; entry: SuppressionEntry; matches: ReturnType<typeof entryMatcher> };
  const byFingerprint = new Map<string, Live[]>();
  const patterns: Live[] = [];
  entries.forEach((entry, index) => {
    if (expired.has(entry)) return;
    const live = { index, entry, matches: entryMatcher(entry) };
    if (entry.fingerprint === undefined) patterns.push(live);
    else pushTo(byFingerprint, entry.fingerprint, live);
  });
  return (f, labels) => {
    const named = byFingerprint.get(f.fingerprint)?.find((e) => e.matches(f, labels));
    for (const e of patterns) {
      if (named !== undefined && e.index > named.index) break;
      if (e.matches(f, labels)) return e.entry;
    }
    return named?.entry;
  };
}

function expiryOf(expires: string): number {
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T00:00:00Z` : expires).getTime();
}

function entryMatcher(e: SuppressionEntry): (f: Finding, labels: Record<string, string> | undefined) => boolean {
  const glob = (pattern: string | undefined) => {
    if (pattern === undefined) return () => true;
    const re = globToRegExp(pattern);
    return (value: string) => re.test(value);
  };
  const rule = glob(e.rule);
  const findingReason = glob(e.findingReason);
  const kind = glob(e.kind);
  const namespace = glob(e.namespace);
  const name = glob(e.name);
  const selector = e.selector !== undefined ? parseLabelSelector(e.selector) : () => true;
  return (f, labels) =>
    (e.fingerprint === undefined || e.fingerprint === f.fingerprint) &&
    rule(f.rule) &&
    findingReason(f.reason) &&
    kind(f.object.kind) &&
    namespace(f.object.namespace ?? '') &&
    name(f.object.name) &&
    selector(labels);
}

/**
 * Checks a parsed --suppressions document (`suppressions:` entries, optional `ignoreGaps:`). `where` names the file
 * in errors; every error says which entry and what to write instead.
 */
export function parseSuppressionFile(doc: unknown, where: string): SuppressionFile {
  const fail = (what: string): never => {
    throw new DoctorError(`${where}: ${what}; see README "Suppressions" for the format`);
  };
  if (doc === null || doc === undefined) return { suppressions: [], ignoreGaps: [] };
  if (typeof doc !== 'object' || Array.isArray(doc)) fail('expected a mapping with "suppressions:" (and optionally "ignoreGaps:")');
  const { suppressions = [], ignoreGaps = [], ...unknown } = doc as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length > 0) fail(`unknown field "${extra[0]}" (known: suppressions, ignoreGaps)`);
  if (!Array.isArray(ignoreGaps) || !ignoreGaps.every((g) => typeof g === 'string' && g !== ''))
    fail('"ignoreGaps" must be a list of group-versions or resources');
  if (!Array.isArray(suppressions)) fail('"suppressions" must be a list of entries');
  const fields = ['rule', 'findingReason', 'fingerprint', 'kind', 'namespace', 'name', 'selector', 'reason', 'expires'];
  const entries = (suppressions as unknown[]).map((raw, i) => {
    const at = `suppressions[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(`${at} must be a mapping`);
    const entry = raw as Record<string, unknown>;
    for (const [key, value] of Object.entries(entry)) {
      if (!fields.includes(key)) fail(`${at}: unknown field "${key}" (known: ${fields.join(', ')})`);
      // YAML reads an unquoted date as a Date: take it as the date it spells.
      if (key === 'expires' && value instanceof Date) entry[key] = value.toISOString().replace(/T00:00:00\.000Z$/, '');
      else if (typeof value !== 'string' || value === '') fail(`${at}: "${key}" must be a non-empty string`);
    }
    if (entry.reason === undefined) fail(`${at}: "reason" is required: say why it is accepted`);
    if (['rule', 'findingReason', 'fingerprint', 'kind', 'namespace', 'name', 'selector'].every((k) => entry[k] === undefined)) {
      fail(
        `${at}: name a rule, a fingerprint or an object (kind, namespace, name, selector): an entry that matches everything hides everything`,
      );
    }
    if (typeof entry.expires === 'string' && Number.isNaN(expiryOf(entry.expires)))
      fail(`${at}: invalid expires "${entry.expires}": use a date such as 2026-12-31 or an RFC 3339 time`);
    if (typeof entry.selector === 'string') parseLabelSelector(entry.selector);
    return entry as unknown as SuppressionEntry;
  });
  return { suppressions: entries, ignoreGaps: ignoreGaps as string[] };
}

export const BASELINE_KIND = 'Baseline';

/** A --baseline document: what --write-baseline wrote. */
export function parseBaseline(doc: unknown, where: string): BaselineEntry[] {
  const d = doc as { kind?: unknown; findings?: unknown } | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    d.kind !== BASELINE_KIND ||
    !Array.isArray(d.findings) ||
    !d.findings.every(
      (f: unknown) =>
        typeof (f as BaselineEntry)?.fingerprint === 'string' &&
        typeof (f as BaselineEntry).rule === 'string' &&
        typeof (f as BaselineEntry).object?.name === 'string',
    )
  ) {
    throw new DoctorError(
      `${where} is not a baseline (kind: ${BASELINE_KIND} with findings: fingerprint, rule, object); write one with --write-baseline FILE`,
    );
  }
  return d.findings as BaselineEntry[];
}
