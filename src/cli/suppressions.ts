import { readFileSync, writeFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { describeFsError } from '../cluster/fs-error.ts';
import { DoctorError } from '../errors.ts';
import type { ScanResult } from '../engine/scan.ts';
import { relateFindings } from '../engine/related.ts';
import { splitList } from '../engine/select.ts';
import {
  applySuppressions,
  BASELINE_KIND,
  parseBaseline,
  parseSuppressionFile,
  type SuppressionEntry,
  type Suppressions,
} from '../engine/suppress.ts';
import { buildReport, REPORT_API_VERSION, type Report } from '../report/report.ts';
import { visible } from '../util/terminal.ts';
import { heldBackInScope, inScope, parseFingerprints, scopeOf, type Scope } from '../engine/scope.ts';

export interface SuppressionArgs {
  selector?: string;
  fingerprint?: string[];
  suppressions?: string;
  baseline?: string;
  'write-baseline'?: string;
  'ignore-gaps'?: string[];
}

export interface Policy extends Suppressions {
  ignoreGaps: string[];
  /** -l, --fingerprint and (once discovery resolved them) TYPE[/NAME] arguments: what the run looks at. */
  scope: Scope;
}

/** Reads --suppressions and --baseline before the scan, so a bad file stops the run before any request. */
export function loadPolicy(args: SuppressionArgs): Policy {
  const file =
    args.suppressions !== undefined
      ? parseSuppressionFile(readDocument(args.suppressions, '--suppressions'), args.suppressions)
      : undefined;
  const baseline = args.baseline !== undefined ? parseBaseline(readDocument(args.baseline, '--baseline'), args.baseline) : undefined;
  const scope = scopeOf(args.selector, undefined, parseFingerprints(args.fingerprint));
  return { file, baseline, scope, ignoreGaps: [...splitList(args['ignore-gaps']), ...(file?.ignoreGaps ?? [])] };
}

/** The Report with the policy applied; says on stderr which file entries expired; writes --write-baseline. */
export function policyReport(
  all: ScanResult,
  policy: Policy,
  args: SuppressionArgs,
  toolVersion: string,
  warn: (message: string) => void,
): Report {
  // -l, TYPE[/NAME] and --fingerprint narrow what is looked at, as kubectl's do: findings about other objects are
  // out of scope, not suppressed.
  const { scope } = policy;
  const shown = new Set(
    all.findings.filter((f) => inScope(scope, f, all.findingObjects.get(f.fingerprint)?.labels)).map((f) => f.fingerprint),
  );
  // A finding in scope whose plan another finding carries (relateFindings) brings that one along: narrowing must not
  // leave it pointing at a finding that is not shown, nor trade the leader's guarded plan for its own. (Nothing to
  // bring when every finding is shown: the report relates them itself.)
  if (shown.size < all.findings.length) {
    for (const f of relateFindings(all.findings, all.refines)) if (shown.has(f.fingerprint) && f.related?.ledBy) shown.add(f.related.ledBy);
  }
  const scan = {
    ...all,
    findings: all.findings.filter((f) => shown.has(f.fingerprint)),
    heldBack: all.heldBack.filter((h) => heldBackInScope(scope, h.rule, h.object)),
  };
  const outcome = applySuppressions(scan, policy, all.findings);
  for (const e of outcome.expired) {
    warn(visible(`suppression for ${describeEntry(e)} expired on ${e.expires} and no longer applies (${e.reason})`));
  }
  if (args['write-baseline'] !== undefined) {
    const doc = {
      apiVersion: REPORT_API_VERSION,
      kind: BASELINE_KIND,
      generatedAt: scan.startedAt.toISOString(),
      findings: outcome.current,
    };
    try {
      writeFileSync(args['write-baseline'], `${JSON.stringify(doc, null, 2)}\n`);
    } catch (err) {
      throw new DoctorError(`cannot write --write-baseline ${args['write-baseline']}: ${describeFsError(err)}; name a writable file`);
    }
  }
  return buildReport(scan, toolVersion, outcome);
}

function describeEntry(e: SuppressionEntry): string {
  const parts = [
    e.rule,
    e.findingReason && `reason ${e.findingReason}`,
    e.fingerprint && `fingerprint ${e.fingerprint}`,
    [e.kind, e.namespace, e.name].filter(Boolean).join('/'),
    e.selector && `-l ${e.selector}`,
  ];
  return parts.filter(Boolean).join(' ');
}

function readDocument(file: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DoctorError(`cannot read ${flag} ${file}: ${describeFsError(err)}`);
  }
  try {
    return yaml.load(text);
  } catch (err) {
    throw new DoctorError(`${flag} ${file} is not valid YAML or JSON: ${((err as Error).message ?? '').split('\n')[0]}`);
  }
}
