// A ScanResult built by hand, for tests of what comes after a scan (reports, suppressions) at sizes no fixture has:
// nothing scanned but the findings given, unless `fields` says otherwise.
import type { Finding } from '../src/engine/finding.ts';
import type { ScanResult } from '../src/engine/scan.ts';

export function scanResultOf(findings: Finding[], fields: Partial<ScanResult> = {}): ScanResult {
  return {
    source: { type: 'snapshot', paths: [] },
    startedAt: new Date(0),
    now: new Date(0),
    rules: [],
    findings,
    refines: {},
    discoveryFailures: [],
    skippedObjects: [],
    stats: {},
    heldBack: [],
    findingObjects: new Map(),
    ...fields,
  };
}
