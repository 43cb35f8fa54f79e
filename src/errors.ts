/** Exit codes are part of the CLI's contract (README "Exit codes"). */
export const ExitCode = {
  /** The scan completed and found nothing at or above --fail-on. */
  Ok: 0,
  /** Findings at or above --fail-on. */
  Findings: 1,
  /** Could not run: bad flags, unreadable kubeconfig, unknown context, unreachable API server, unreadable snapshot. */
  CouldNotRun: 2,
  /** Nothing at or above --fail-on, but the scan was incomplete (a rule was forbidden or errored). */
  Incomplete: 3,
  /** --fix or restore: a step was refused (the object changed) or failed, or a fixed finding is still present. */
  FixIncomplete: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can act on. Its message is one line that names what was wrong and how to fix it;
 * the CLI prints it as `error: <message>` and exits with `exitCode`, never with a stack trace.
 */
export class DoctorError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.CouldNotRun) {
    super(message);
    this.name = 'DoctorError';
    this.exitCode = exitCode;
  }
}

/**
 * Why a cluster could not be scanned at all. A scan of many contexts reports each such context with its reason
 * (ReportList summary.failed) and goes on with the others; a scan of one context exits 2 with the message.
 */
export type ClusterFailure = 'unreachable' | 'unauthorized' | 'forbidden' | 'kubeconfig' | 'error';

/** The API server could not be used: not reached, the credentials refused, discovery forbidden or broken. */
export class ClusterError extends DoctorError {
  readonly failure: ClusterFailure;
  /** The message without its hint, which speaks of one context's flags: a run of many contexts gives its own. */
  readonly withoutHint: string;
  constructor(message: string, failure: ClusterFailure, hint?: string) {
    super(hint ? `${message}; ${hint}` : message);
    this.name = 'ClusterError';
    this.failure = failure;
    this.withoutHint = message;
  }
}
