/**
 * Scanning many clusters in one run (--contexts, --all-contexts): which contexts, which flags go with it, and the
 * scans themselves, at most --max-parallel at once, each with its own connection. A context that cannot be scanned
 * is a ContextFailure and the others go on. Each scan is turned into its Report before the next one starts in its
 * place, so no more than --max-parallel clusters' objects are held at once: a Report keeps findings, never the lists.
 */
import { ClusterError, DoctorError } from '../errors.ts';
import { globToRegExp, splitList } from '../engine/select.ts';
import type { ScanProgress } from '../engine/scan.ts';
import type { ContextFailure } from '../report/report-list.ts';
import type { Report } from '../report/report.ts';
import { mapLimit } from '../util/concurrency.ts';
import { CONNECTION_FLAGS } from './flags.ts';

/** How many contexts are scanned at once unless --max-parallel says otherwise. */
export const DEFAULT_MAX_PARALLEL = 4;

export interface FleetArgs {
  contexts?: string[] | undefined;
  'all-contexts'?: boolean | undefined;
  'max-parallel'?: number | undefined;
  context?: string | undefined;
  snapshot?: string[] | undefined;
  fix?: boolean | undefined;
  baseline?: string | undefined;
  'write-baseline'?: string | undefined;
}

/** True when the run scans contexts of the kubeconfig (--contexts or --all-contexts) rather than one cluster. */
export function isFleet(args: FleetArgs): boolean {
  return args.contexts !== undefined || args['all-contexts'] === true;
}

/**
 * The flags that cannot go with --contexts/--all-contexts, refused before anything is read, each with one line:
 * --context (one context), --snapshot (dumps are one merged scan), --fix (it changes one cluster at a time), a
 * baseline (one cluster's findings), and every connection flag that picks one cluster or credential for all.
 */
export function checkFleetArgs(args: FleetArgs & Readonly<Record<string, unknown>>): void {
  const flag = args.contexts !== undefined ? '--contexts' : '--all-contexts';
  if (args.contexts !== undefined && args['all-contexts'])
    throw new DoctorError('--contexts and --all-contexts do not go together: --all-contexts already scans every context; use one of them');
  if (args.contexts !== undefined && splitList(args.contexts).length === 0)
    throw new DoctorError(
      `--contexts ${JSON.stringify(args.contexts.join(','))} names no context; name contexts or globs (kubectl config get-contexts lists them), or use --all-contexts`,
    );
  if (args.context !== undefined)
    throw new DoctorError(`--context and ${flag} do not go together: --context scans one context; name it in --contexts instead`);
  if (args.snapshot !== undefined && args.snapshot.length > 0)
    throw new DoctorError(
      `${flag} scans live clusters and does not go with --snapshot; several dumps are one merged scan: --snapshot a --snapshot b`,
    );
  if (args.fix)
    throw new DoctorError(
      `--fix changes one cluster at a time and does not go with ${flag}: run it with --context NAME; -o script with ${flag} writes every context's plans`,
    );
  for (const name of ['baseline', 'write-baseline'] as const)
    if (args[name] !== undefined)
      throw new DoctorError(`--${name} holds one cluster's findings and does not go with ${flag}: use it with --context NAME`);
  for (const f of CONNECTION_FLAGS) {
    if (!('oneCluster' in f)) continue;
    const value = args[f.name];
    if (value !== undefined && value !== false)
      throw new DoctorError(
        `--${f.name} picks one cluster or credential and would apply to every context: it does not go with ${flag}; set it in the kubeconfig's contexts instead`,
      );
  }
  const max = args['max-parallel'];
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    const given = Number.isNaN(max) ? 'that is not a number' : String(max);
    throw new DoctorError(`invalid --max-parallel ${given}: use a whole number of contexts scanned at once, e.g. 4`);
  }
}

/**
 * The contexts to scan, in name order: every context with --all-contexts, else those matching --contexts (names or
 * `*` globs, comma-separated, repeatable). A pattern that matches no context is an error, so a typo never silently
 * scans fewer clusters.
 */
export function selectContexts(args: FleetArgs, kubeconfig: { contexts: readonly string[]; files: readonly string[] }): string[] {
  const where = `kubeconfig (${kubeconfig.files.join(', ') || 'no kubeconfig file was found'})`;
  if (args['all-contexts']) {
    if (kubeconfig.contexts.length === 0)
      throw new DoctorError(`--all-contexts: the ${where} has no contexts; add some, or pass --kubeconfig`);
    return [...kubeconfig.contexts].sort();
  }
  const patterns = splitList(args.contexts);
  for (const pattern of patterns) {
    const re = globToRegExp(pattern);
    if (!kubeconfig.contexts.some((c) => re.test(c)))
      throw new DoctorError(
        `--contexts: no context matches ${JSON.stringify(pattern)} in ${where}; list them with kubectl config get-contexts`,
      );
  }
  const res = patterns.map(globToRegExp);
  return kubeconfig.contexts.filter((c) => res.some((re) => re.test(c))).sort();
}

/** A context's scan that failed, in words: why (ClusterError says), and what the kubeconfig told of it if it was read. */
export function contextFailure(
  err: unknown,
  context: string,
  loaded: { clusterName: string; userName: string; server: string } | undefined,
): ContextFailure {
  const where = loaded ? { cluster: loaded.clusterName, user: loaded.userName, server: loaded.server } : {};
  if (err instanceof ClusterError) {
    const hint = err.failure === 'unreachable' ? `; check the cluster context ${context} names in the kubeconfig, and that it is up` : '';
    return { context, ...where, reason: err.failure, message: `${err.withoutHint}${hint}` };
  }
  // Before the kubeconfig of the context was loaded, a DoctorError is about that kubeconfig (a missing cluster,
  // an unreadable certificate file); after it, about the scan.
  if (err instanceof DoctorError) return { context, ...where, reason: loaded ? 'error' : 'kubeconfig', message: err.message };
  const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
  return { context, ...where, reason: 'error', message: `internal error: ${message}` };
}

export interface FleetProgress {
  total: number;
  done: number;
  /** The contexts being scanned and how far each is. */
  scanning: Map<string, ScanProgress | undefined>;
}

/** The progress line of a scan of several contexts. */
export function fleetProgressText(p: FleetProgress): string {
  const now = [...p.scanning].map(([context, s]) => `${context} ${s ? `${s.listed}/${s.total}` : '...'}`);
  return `scanned ${p.done}/${p.total} contexts${now.length > 0 ? `; listing ${now.join(', ')}` : ''}`;
}

/**
 * Scans `contexts`, at most `maxParallel` at once. `scanOne` returns the context's Report, or a ContextFailure
 * (contextFailure) when it could not be scanned; it must not throw. Results keep the order of `contexts`.
 */
export async function scanContexts(
  contexts: readonly string[],
  maxParallel: number,
  scanOne: (context: string, progress: (state: ScanProgress) => void) => Promise<Report | ContextFailure>,
  onProgress?: (state: FleetProgress) => void,
): Promise<{ reports: Report[]; failed: ContextFailure[] }> {
  const state: FleetProgress = { total: contexts.length, done: 0, scanning: new Map() };
  const tell = () => onProgress?.({ ...state, scanning: new Map(state.scanning) });
  const results = await mapLimit(contexts, maxParallel, async (context) => {
    state.scanning.set(context, undefined);
    tell();
    try {
      return await scanOne(context, (s) => {
        state.scanning.set(context, s);
        tell();
      });
    } finally {
      state.scanning.delete(context);
      state.done++;
      tell();
    }
  });
  const reports = results.filter((r): r is Report => 'kind' in r);
  const failed = results.filter((r): r is ContextFailure => !('kind' in r));
  return { reports, failed };
}
