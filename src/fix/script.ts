import { keyOf } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import type { SourceInfo } from '../cluster/source.ts';
import { visible } from '../util/terminal.ts';
import { RISKS, type RemediationStep, type Risk, type WriteAction } from '../plan/actions.ts';
import { isGate, planStop, riskAllowed, type PlanStop } from '../plan/stop.ts';
import { stepKey } from '../plan/shared.ts';
import { pinAction } from '../plan/pin.ts';
import { interceptedWrites, webhooksFirst } from '../plan/admission.ts';
import { commandLine, finalizePath, hasNul, kubectlWrite, objectArgs, shellQuote } from '../plan/command.ts';

/** How the script reaches the cluster the scan read. */
export interface ScriptConnection {
  /** The kubeconfig files the scan read (absolute, in precedence order); none in-cluster or for a snapshot. */
  kubeconfig: string[];
  /** kubectl flags that select the cluster and identity the scan used (`--context prod`). */
  flags: string[];
  /** What could not be pinned (a --token is never written into the script). */
  notes: string[];
}

export interface ScriptOptions {
  allow: Risk;
  source: SourceInfo;
  generatedAt: Date;
  connection: ScriptConnection;
}

/**
 * One or more comment lines: THE way text reaches a comment. Every line starts with `#`; control characters, line
 * separators and (without `lines`) line breaks are shown as escapes by `visible()`, so no value can end the
 * comment and run as a command, nor reach the terminal of whoever reads the script. With `lines`, each line of
 * the text becomes a comment line of its own (multi-line instructions).
 */
function comment(text: string, options: { indent?: string; lines?: boolean } = {}): string[] {
  return (options.lines ? text.split('\n') : [text]).map((line) => `#${options.indent ?? ' '}${visible(line)}`.trimEnd());
}

/** Data the running script prints: escaped for the terminal, then quoted as one shell word. */
function said(text: string): string {
  return shellQuote(visible(text));
}

/** Fixed shell code shared by every script: no value from a scan is in it. */
const RUNTIME = [
  'set -uo pipefail',
  '',
  '# DRY_RUN=server adds --dry-run=server to every write ($doctor_dry_run): the API server validates it and stores',
  '# nothing. A later step on the same object then sees it unchanged, so it may fail where the real run would not.',
  'case "${DRY_RUN:-}" in',
  "  '' | none) doctor_dry_run= doctor_raw_dry_run= ;;",
  "  server) doctor_dry_run=--dry-run=server doctor_raw_dry_run='?dryRun=All' ;;",
  '  *) printf \'error: DRY_RUN=%q is not supported: use DRY_RUN=server to validate every write without storing it, or leave it unset\\n\' "$DRY_RUN" >&2; exit 2 ;;',
  'esac',
  '',
  "# Progress and failures go to stderr, kubectl's own output to stdout.",
  'doctor_n= doctor_at= doctor_ran=0 doctor_failures=0 doctor_failed=',
  'doctor_step() { doctor_at=$1; printf \'==> [%s] %s\\n\' "$doctor_n" "$1" >&2; }',
  '# doctor_confirm TEXT: a step by hand that the next writes depend on. Asked on the terminal; without one, the',
  '# finding stops there unless CONFIRM_MANUAL=yes says every such step was done. A server dry run does not ask.',
  'doctor_confirm() {',
  '  [ -n "$doctor_dry_run" ] || [ "${CONFIRM_MANUAL:-}" = yes ] && return 0',
  '  local answer=',
  '  if { printf \'==> [%s] %s: done? [y/N] \' "$doctor_n" "$1" >/dev/tty && read -r answer </dev/tty; } 2>/dev/null; then',
  '    case "$answer" in [yY]*) return 0 ;; esac',
  '  else',
  '    printf \'==> [%s] %s: not confirmed (no terminal; set CONFIRM_MANUAL=yes once done)\\n\' "$doctor_n" "$1" >&2',
  '  fi',
  '  doctor_at=$1',
  '  return 1',
  '}',
  "# doctor_run N LABEL FUNCTION: one finding's steps; a failure ends that finding only, the script goes on.",
  'doctor_run() {',
  '  doctor_n=$1 doctor_at=',
  '  doctor_ran=$((doctor_ran + 1))',
  '  if ! "$3"; then',
  '    doctor_failures=$((doctor_failures + 1))',
  '    doctor_failed="$doctor_failed${doctor_failed:+; }[$1] $2 at ${doctor_at:-its first step}"',
  '    printf \'==> FAILED [%s] %s at %s; going on with the next finding\\n\' "$1" "$2" "${doctor_at:-its first step}" >&2',
  '  fi',
  '}',
];

const SUMMARY = [
  'if [ "$doctor_failures" -gt 0 ]; then',
  '  printf \'==> %s of %s findings failed: %s\\n\' "$doctor_failures" "$doctor_ran" "$doctor_failed" >&2',
  '  exit 1',
  'fi',
  'printf \'==> done: %s findings%s\\n\' "$doctor_ran" "${doctor_dry_run:+ (server dry run: nothing was stored)}" >&2',
];

/**
 * The plans as a bash script a person can review, commit and run. Each finding is a unit: its writes run in
 * order, each announced as `==> [n] step i/k: <title>` on stderr; the first failure ends that finding, naming the
 * step, and the script goes on with the next finding and exits 1 at the end. Every write keeps its precondition:
 * the first write to an object tests the resourceVersion the scan saw; later writes to the same object test the
 * values they change. Steps `--fix` would not run (above --allow, after a checkpoint) are left in as comments.
 *
 * Safe by construction: text from the cluster reaches the script only through `comment()` (comment lines),
 * `said()` (printed at run time) and `shellQuote()` (command words), so the script holds no raw control
 * character and no value can end a comment or a word.
 */
export function renderScript(findings: readonly Finding[], options: ScriptOptions): string {
  const source =
    options.source.type === 'live'
      ? `from context ${options.source.context || '(in-cluster)'} (${options.source.server}).`
      : `from snapshot ${options.source.paths.join(', ')}.`;
  const out = [
    '#!/usr/bin/env bash',
    `# kubectl doctor remediation plan, generated ${options.generatedAt.toISOString()}`,
    ...comment(source),
    '#',
    '# Review every step before running it. Each finding is a unit: its writes run in order, each announced on',
    '# stderr as "==> [n] step i/k: <title>"; a failed write ends that finding, naming the step, and the script',
    '# goes on with the next finding, then exits 1 naming the failed ones. Every write carries a precondition: it',
    '# fails if the object changed since the scan. Steps by hand, steps above --allow=' + options.allow + ' and steps after a',
    '# checkpoint are comments. DRY_RUN=server validates every write without storing anything.',
    ...RUNTIME,
  ];
  const pinned = kubectlFunction(options.connection);
  if (pinned.length > 0) out.push('', ...pinned);
  const written = new Set<string>();
  const made = new Map<string, string>();
  const refused = interceptedWrites(findings);
  // Dead webhooks first: their Ignore patch unblocks the writes of the others that they intercept.
  for (const [n, finding] of webhooksFirst(findings).entries()) {
    const steps = finding.remediation?.steps ?? [];
    if (steps.length === 0) continue;
    out.push('', ...renderFinding(n + 1, finding, steps, options.allow, written, made, refused.get(finding.fingerprint) ?? []));
  }
  out.push('', ...SUMMARY);
  return `${out.join('\n')}\n`;
}

/** `kubectl()`: every kubectl the script runs reads the kubeconfig and takes the flags the scan used. */
function kubectlFunction(connection: ScriptConnection): string[] {
  const lines = connection.notes.flatMap((note) => comment(note));
  // kubectl's --kubeconfig takes one file; a merged list is pinned as KUBECONFIG.
  const env = connection.kubeconfig.length > 1 ? `KUBECONFIG=${shellQuote(connection.kubeconfig.join(':'))} ` : '';
  const flags = [...(connection.kubeconfig.length === 1 ? ['--kubeconfig', connection.kubeconfig[0]!] : []), ...connection.flags];
  if (env || flags.length > 0) lines.push(`kubectl() { ${env}command kubectl ${[...flags.map(shellQuote), '"$@"'].join(' ')}; }`);
  return lines;
}

/**
 * `written`: objects an earlier write of the script changes (their resourceVersion is no longer the scan's);
 * `made`: writes already in the script, by what they write, so a second finding needing one refers to it.
 */
function renderFinding(
  n: number,
  finding: Finding,
  steps: readonly RemediationStep[],
  allow: Risk,
  written: Set<string>,
  made: Map<string, string>,
  warnings: readonly string[],
): string[] {
  const out = [
    ...comment(`[${n}] ${finding.severity} ${finding.rule} ${finding.object.kind} ${keyOf(finding.object)}`),
    ...comment(finding.message),
    ...(finding.remediation?.summary ? comment(`plan: ${finding.remediation.summary}`) : []),
    ...warnings.flatMap((w) => comment(`warning: ${w}`)),
  ];
  const body: string[] = [];
  let runs = false;
  const stop = planStop(steps, allow);
  for (const [i, step] of steps.entries()) {
    const { action } = step;
    const position = `step ${i + 1}/${steps.length}`;
    const after = stop !== undefined && i > stop.index ? afterStop(stop) : undefined;
    if (action.type === 'manual' || action.type === 'checkpoint') {
      const gate = action.type === 'manual' && isGate(steps, i, allow);
      const note =
        action.type === 'checkpoint'
          ? i === stop?.index
            ? 'checkpoint: this finding stops here'
            : `checkpoint, ${after}`
          : action.role === 'alternative'
            ? 'by hand, instead of the steps after it'
            : action.role === 'aside'
              ? 'by hand, aside from the other steps'
              : after
                ? `then, by hand, ${after}`
                : gate
                  ? 'by hand, before the next steps: asked to confirm'
                  : 'by hand: this script does not do it';
      body.push(...comment(`${position} (${note}): ${step.title}`), ...comment(action.instructions, { indent: '     ', lines: true }));
      if (gate) body.push(`doctor_confirm ${said(`${position}: ${step.title}`)} || return 1`);
      continue;
    }
    const sameAs = made.get(stepKey(action));
    if (sameAs) {
      body.push(...comment(`${position} (${step.risk}): ${step.title}: the same write as ${sameAs}, made once`));
      continue;
    }
    body.push(...comment(`${position} (${step.risk}, ${step.reversible ? 'reversible' : 'one-way'}): ${step.title}`));
    const key = action.target.uid ?? `${action.target.resource}/${keyOf(action.target)}`;
    const rv = written.has(key) ? undefined : action.target.resourceVersion;
    const lines = writeLines(action, rv);
    const own = riskAllowed(step.risk, allow) ? undefined : `needs --allow=${step.risk}`;
    // A step above a risk stop is held by its own risk alone: --allow=<its risk> runs the stop too.
    const held = stop?.kind === 'risk' && own && RISKS.indexOf(step.risk) >= RISKS.indexOf(stop.risk);
    const skipped = [...(own ? [own] : []), ...(after && !held ? [after] : [])];
    if (skipped.length > 0) {
      body.push(
        ...comment(`skipped (${skipped.join('; ')}):`, { indent: '   ' }),
        ...lines.flatMap((l) => comment(l, { indent: '     ' })),
      );
      continue;
    }
    runs = true;
    written.add(key);
    made.set(stepKey(action), `[${n}] ${position}`);
    body.push(`doctor_step ${said(`${position}: ${step.title}`)}`, ...lines);
  }
  if (!runs) return [...out, ...body];
  const fn = `doctor_finding_${n}`;
  return [
    ...out,
    `${fn}() {`,
    ...body.map((l) => `  ${l}`),
    '}',
    `doctor_run ${n} ${said(`${finding.object.kind} ${keyOf(finding.object)}`)} ${fn}`,
  ];
}

/** Why a step after the plan's stop is not run: the stop's own cause, not the step's. */
function afterStop(stop: PlanStop): string {
  return stop.kind === 'checkpoint'
    ? `after the checkpoint at step ${stop.index + 1}`
    : `after step ${stop.index + 1}, which needs --allow=${stop.risk}`;
}

/** The shell lines of one write; each ends the finding (`return 1`) when it fails. */
function writeLines(action: WriteAction, rv: string | undefined): string[] {
  const { args, stdin } = kubectlWrite(pinAction(action, rv));
  const target = `${action.target.kind} ${keyOf(action.target)}`;
  const fail = (message: string) => `{ printf '==> %s\\n' ${said(message)} >&2; return 1; }`;
  if ([...args, stdin ?? ''].some(hasNul)) {
    return [fail(`${target} has a NUL byte in a value no command line can carry; do this step by hand`)];
  }
  const lines: string[] = [];
  if (action.type === 'delete') {
    // kubectl delete sends no preconditions: the script checks uid (and, on the first write, resourceVersion) first.
    const expect = rv ? `${action.preconditions.uid}/${rv}` : action.preconditions.uid;
    const get = commandLine([
      'kubectl',
      'get',
      ...objectArgs(action.target),
      '-o',
      `jsonpath=${rv ? '{.metadata.uid}/{.metadata.resourceVersion}' : '{.metadata.uid}'}`,
    ]);
    lines.push(
      `[ "$(${get})" = ${shellQuote(expect)} ] || ${fail(`${target} is not the object the scan saw (${rv ? 'uid/resourceVersion' : 'uid'} ${expect}); not deleting it`)}`,
    );
  }
  if (action.type === 'finalize-namespace') {
    // kubectl refuses --dry-run with --raw: the dry run is asked for in the URL instead.
    lines.push(
      `printf '%s' ${shellQuote(stdin!)} | kubectl replace --raw ${shellQuote(finalizePath(action.target))}"$doctor_raw_dry_run" -f - || return 1`,
    );
  } else {
    lines.push(`kubectl ${args.map(shellQuote).join(' ')} $doctor_dry_run || return 1`);
  }
  return lines;
}
