import { readFileSync, writeFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { describeFsError } from '../cluster/fs-error.ts';
import { DoctorError } from '../errors.ts';
import type { ScanResult } from '../engine/scan.ts';
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
import { parseLabelSelector } from '../kube/selector.ts';

export interface SuppressionArgs {
  selector?: string;
  suppressions?: string;
  baseline?: string;
  'write-baseline'?: string;
  'ignore-gaps'?: string[];
}

export interface Policy extends Suppressions {
  ignoreGaps: string[];
  /** -l: only findings about objects with matching labels. */
  selector?: ((labels: Record<string, string> | undefined) => boolean) | undefined;
}

/** Reads --suppressions and --baseline before the scan, so a bad file stops the run before any request. */
export function loadPolicy(args: SuppressionArgs): Policy {
  const file =
    args.suppressions !== undefined
      ? parseSuppressionFile(readDocument(args.suppressions, '--suppressions'), args.suppressions)
      : undefined;
  const baseline = args.baseline !== undefined ? parseBaseline(readDocument(args.baseline, '--baseline'), args.baseline) : undefined;
  const selector = args.selector !== undefined ? parseLabelSelector(args.selector) : undefined;
  return { file, baseline, selector, ignoreGaps: [...splitList(args['ignore-gaps']), ...(file?.ignoreGaps ?? [])] };
}

/** The Report with the policy applied; says on stderr which file entries expired; writes --write-baseline. */
export function policyReport(
  all: ScanResult,
  policy: Policy,
  args: SuppressionArgs,
  toolVersion: string,
  warn: (message: string) => void,
): Report {
  // -l narrows what is looked at, as kubectl's does: findings about other objects are out of scope, not suppressed.
  const scan = policy.selector
    ? { ...all, findings: all.findings.filter((f) => policy.selector!(all.findingObjects.get(f.fingerprint)?.labels)) }
    : all;
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
