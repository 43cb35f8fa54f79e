import yargs, { type Argv } from 'yargs';
import * as yaml from 'js-yaml';
import path from 'node:path';
import type { LoadedKubeConfig } from '../cluster/kubeconfig.ts';
import type { ApiClient } from '../cluster/http.ts';
import { parseDuration } from '../cluster/duration.ts';
import { LiveSource } from '../cluster/live.ts';
import { SnapshotSource } from '../cluster/snapshot.ts';
import { DoctorError, ExitCode } from '../errors.ts';
import { runScan, type ScanProgress, type ScanResult } from '../engine/scan.ts';
import { rulesOfFlags } from '../engine/select.ts';
import { visible } from '../util/terminal.ts';
import type { Rule } from '../engine/rule.ts';
import { exitCodeOf, type Report } from '../report/report.ts';
import { objectName, renderNames, renderNamesList, renderReportListTable, renderTable, type TableOptions } from '../report/table.ts';
import { renderSarif, renderSarifList } from '../report/sarif.ts';
import { renderJunit, renderJunitList } from '../report/junit.ts';
import { buildReportList, contextOf, exitCodeOfList, type ReportList } from '../report/report-list.ts';
import { renderExplain, renderRules, rulesDocument } from '../report/rules.ts';
import { toolVersion } from '../version.ts';
import { defaultBackupDir } from '../fix/backup.ts';
import type { DryRun } from '../fix/execute.ts';
import { ObjectClient } from '../fix/object-client.ts';
import { renderContextScripts, renderScript, type ScriptConnection } from '../fix/script.ts';
import { runFixFlow, type FixSection } from './fix.ts';
import { ProgressLine, scanProgressText, wantsProgress } from './progress.ts';
import { ServerWarnings } from './server-warnings.ts';
import { checkFleetArgs, contextFailure, DEFAULT_MAX_PARALLEL, fleetProgressText, isFleet, scanContexts, selectContexts } from './fleet.ts';
import { terminalPrompter } from './prompt.ts';
import { runRestore } from './restore.ts';
import { completionScript, runComplete, SHELLS } from './completion.ts';
import { loadPolicy, policyReport, type Policy } from './suppressions.ts';
import { checkChunkSize, runDump, snapshotDefaults, snapshotHint } from './dump.ts';
import { describeTargets, parseTargetArgs, resolveTargets, type TargetArg } from '../engine/scope.ts';
import { keepCompiledCode } from '../util/code-cache.ts';
import { homeDirectory } from '../util/home.ts';
import type { ClusterSource, Discovery } from '../cluster/source.ts';
import {
  argsOf,
  CONNECTION_FLAGS,
  connectionFlags,
  DUMP_FLAGS,
  EXPLAIN_FLAGS,
  GLOBAL_FLAGS,
  MissingValueError,
  passOnFlags,
  RESTORE_FLAGS,
  RULES_FLAGS,
  SCAN_FLAGS,
  VERSION_FLAGS,
  yargsOptions,
  type ArgsOf,
  type Output,
} from './flags.ts';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Where --fix asks for confirmation; only used when it is a terminal. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** Named wherever a word could have been meant as a command. */
const COMMANDS_HINT = 'the commands are rules, explain, dump, restore, completion and version';

/** Outputs for programs: with --fix, the plans and progress go to stderr instead. */
const MACHINE_OUTPUTS: readonly Output[] = ['json', 'yaml', 'sarif', 'junit', 'name'];

export interface MainOptions {
  /** The rules to run and list: the shipped ones (chosen in cmd/kubectl-doctor.ts), or a test's own. */
  rules: readonly Rule[];
}

/** Parses argv (everything after `kubectl doctor`), runs the command and returns the exit code. Never throws. */
export async function main(argv: string[], io: Io, { rules }: MainOptions): Promise<number> {
  // Hidden: the completion protocol (cobra's __complete), which kubectl_complete-doctor calls. The words after it are
  // the command line being completed, flags included, so they must not go through the parser.
  if (argv[0] === '__complete') return runComplete(argv.slice(1), io, rules);
  let exitCode: number = ExitCode.Ok;
  let verbose = 0;
  const parser = buildParser(
    attachNegativeValues(argv),
    io,
    rules,
    (code) => {
      exitCode = code;
    },
    (v) => {
      verbose = v;
    },
  );
  try {
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof UsageError || err instanceof MissingValueError) {
      io.stderr.write(`${errorLine(err.message)}See 'kubectl doctor --help' for usage.\n`);
      return ExitCode.CouldNotRun;
    }
    if (err instanceof DoctorError) {
      io.stderr.write(errorLine(err.message));
      return err.exitCode;
    }
    const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
    io.stderr.write(errorLine(`internal error: ${message}${verbose > 0 ? '' : ' (run with -v for details)'}`));
    if (verbose > 0 && err instanceof Error && err.stack) io.stderr.write(`${visible(err.stack, { keepNewlines: true })}\n`);
    return ExitCode.CouldNotRun;
  }
  return exitCode;
}

class UsageError extends Error {}

/** The `error: ...` line. Messages carry server text, object names and arguments: shown escaped, and one line. */
function errorLine(message: string): string {
  return `error: ${visible(message)}\n`;
}

/**
 * `--min-age -5s`: yargs reads `-5s` as the short flags -5 and -s and the error then names neither. No flag of
 * ours is a digit, so a word that starts with `-<digit>` after a `--flag` is that flag's value; joined as
 * `--flag=-5s`, it reaches the flag's own check ("cannot be negative").
 */
function attachNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (const word of argv) {
    const previous = out[out.length - 1];
    if (/^-\.?\d/.test(word) && previous !== undefined && /^--[^=]+$/.test(previous)) out[out.length - 1] = `${previous}=${word}`;
    else out.push(word);
  }
  return out;
}

function buildParser(
  argv: string[],
  io: Io,
  rules: readonly Rule[],
  setExit: (code: number) => void,
  setVerbose: (v: number) => void,
): Argv {
  const print = (text: string) => {
    io.stdout.write(text);
  };
  return (
    yargs(argv)
      .scriptName('kubectl doctor')
      .usage(
        'Find known failure patterns in a Kubernetes cluster or a saved dump, with evidence and a fix plan.\n\nUsage:\n  kubectl doctor [flags]\n  kubectl doctor TYPE[/NAME] ... [flags]\n  kubectl doctor <command> [flags]',
      )
      .command(
        '$0 [resources..]',
        'Scan the cluster (the default command)',
        (y) =>
          y.options(yargsOptions(SCAN_FLAGS)).positional('resources', {
            type: 'string',
            array: true,
            describe:
              'Only findings about objects of these types (and names), as kubectl get takes them: ns/monitoring, deployments.apps web',
          }),
        async (parsed) => {
          const args = argsOf([...SCAN_FLAGS, ...GLOBAL_FLAGS], parsed);
          setVerbose(args.v);
          setExit(await scan(args, parseTargetArgs(parsed.resources ?? []), io, rules));
        },
      )
      .command(
        'rules',
        'List the rules',
        (y) => y.options(yargsOptions(RULES_FLAGS)),
        (parsed) => {
          const args = argsOf(RULES_FLAGS, parsed);
          print(
            args.output === 'table' || args.output === 'wide'
              ? renderRules(rules, { wide: args.output === 'wide' })
              : formatDocument(rulesDocument(rules), args.output),
          );
        },
      )
      .command(
        'explain <rule>',
        'Explain a rule: what it detects, why, its evidence, remediation and references',
        (y) =>
          y
            .options(yargsOptions(EXPLAIN_FLAGS))
            .positional('rule', { type: 'string', demandOption: true, describe: 'Rule id, e.g. core/stuck-deletion' }),
        (parsed) => {
          const args = argsOf(EXPLAIN_FLAGS, parsed);
          const rule = rules.find((r) => r.meta.id === parsed.rule);
          if (!rule) throw new DoctorError(`unknown rule "${parsed.rule}"; list the rules with: kubectl doctor rules`);
          print(args.output === 'text' ? renderExplain(rule) : formatDocument(rulesDocument([rule]).items[0], args.output));
        },
      )
      .command(
        'restore <backup-dir>',
        'Put back the objects a --fix run changed, from its backup directory',
        (y) =>
          y
            .options(yargsOptions(RESTORE_FLAGS))
            .positional('backup-dir', { type: 'string', demandOption: true, describe: 'The directory --fix printed (holds audit.jsonl)' }),
        async (parsed) => {
          const args = argsOf([...RESTORE_FLAGS, ...GLOBAL_FLAGS], parsed);
          setVerbose(args.v);
          const dryRun = parseDryRun(args['dry-run'], io);
          const { client, loaded } = await connect(args, io, undefined);
          try {
            setExit(
              await runRestore(parsed['backup-dir'], new ObjectClient(client), {
                server: loaded.server,
                user: loaded.userName,
                context: loaded.contextName,
                yes: args.yes === true,
                dryRun,
                prompter: terminalPrompter(io, (t) => {
                  io.stdout.write(t);
                }),
                print: (t: string) => {
                  io.stdout.write(t);
                },
              }),
            );
          } finally {
            await client.close();
          }
        },
      )
      .command(
        'dump <target>',
        'Write what a scan reads to a directory or FILE.tgz, Secret values and other credentials redacted, for --snapshot elsewhere',
        (y) =>
          y.options(yargsOptions(DUMP_FLAGS)).positional('target', {
            type: 'string',
            demandOption: true,
            describe: 'A new (or empty) directory, or FILE.tgz / FILE.tar.gz',
          }),
        async (parsed) => {
          const args = argsOf([...DUMP_FLAGS, ...GLOBAL_FLAGS], parsed);
          setVerbose(args.v);
          setExit(await runDump(parsed.target, args, io, rules, (debug) => connect(args, io, debug)));
        },
      )
      .command(
        'completion <shell>',
        'Print a shell completion script for kubectl-doctor (bash, zsh, fish), or the kubectl_complete-doctor helper that completes `kubectl doctor <TAB>` (kubectl)',
        (y) => y.positional('shell', { choices: SHELLS, demandOption: true, describe: 'bash, zsh, fish, powershell or kubectl' }),
        (args) => {
          print(completionScript(args.shell));
        },
      )
      .command(
        'version',
        'Print the version',
        (y) => y.options(yargsOptions(VERSION_FLAGS)),
        (parsed) => {
          const args = argsOf(VERSION_FLAGS, parsed);
          const version = toolVersion();
          print(
            args.output === 'json' ? `${JSON.stringify({ version, node: process.version }, null, 2)}\n` : `kubectl-doctor v${version}\n`,
          );
        },
      )
      .options(yargsOptions(GLOBAL_FLAGS))
      .help('help')
      .alias('help', 'h')
      .version(false)
      // English, as kubectl's: oneLineUsage reads yargs' messages, and a locale guessed from LANG would also make y18n
      // look for its translations beside the bundle.
      .detectLocale(false)
      // kubectl's flags are spelled --no-headers and --no-color; they are flags of their own, not negations.
      // A repeatable flag takes one value per occurrence, as kubectl's: `--snapshot dump ns/x` is a dump and a TYPE/NAME.
      .parserConfiguration({ 'boolean-negation': false, 'greedy-arrays': false })
      .strict()
      .wrap(Math.min(100, io.stdout.columns ?? 100))
      .exitProcess(false)
      .fail((message, err) => {
        if (err) throw err;
        throw new UsageError(oneLineUsage(message ?? 'invalid arguments', argv));
      })
  );
}

/** What each command takes as its argument, for "explain needs a rule id". */
const COMMAND_ARGUMENT: Record<string, string> = {
  explain: 'a rule id: kubectl doctor explain RULE (kubectl doctor rules lists them)',
  restore: 'the backup directory --fix printed: kubectl doctor restore DIR',
  dump: 'where to write: kubectl doctor dump DIR|FILE.tgz',
  completion: 'a shell: kubectl doctor completion bash|zsh|fish|powershell|kubectl',
};

/** yargs' usage errors in our words: what was wrong and how to fix it, one line. */
export function oneLineUsage(message: string, argv: readonly string[]): string {
  const unknown = message.match(/^Unknown arguments?: (.*)$/);
  if (unknown) {
    // yargs names an unknown --foo-bar twice (foo-bar, fooBar); say it once, as typed.
    const words = unknown[1]!
      .split(', ')
      .filter((w) => !/[A-Z]/.test(w) || !unknown[1]!.split(', ').includes(w.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)));
    const flags = words.filter((w) => argv.some((a) => a === `--${w}` || a.startsWith(`--${w}=`) || a === `-${w}`));
    const commands = words.filter((w) => !flags.includes(w));
    if (flags.length > 0) return `unknown flag ${flags.map((f) => (f.length === 1 ? `-${f}` : `--${f}`)).join(', ')}`;
    return `unknown command "${commands.join(' ')}": ${COMMANDS_HINT} (a scan takes no command)`;
  }
  const invalid = message.match(/^Invalid values:\s*Argument: ([\w-]+), Given: (".*?"|\S+), Choices: (.*)$/s);
  if (invalid) {
    const choices = invalid[3]!
      .split(', ')
      .map((c) => c.replace(/^"|"$/g, ''))
      .join(', ');
    return `invalid --${invalid[1]} ${invalid[2]}: use one of ${choices}`;
  }
  if (/^Not enough non-option arguments/.test(message)) {
    const command = argv.find((a) => !a.startsWith('-'));
    return command && COMMAND_ARGUMENT[command]
      ? `${command} needs ${COMMAND_ARGUMENT[command]}`
      : 'a command is missing its argument; see kubectl doctor --help';
  }
  const missing = message.match(/^Not enough arguments following: (\S+)$/);
  if (missing) return `flag needs an argument: --${missing[1]}`;
  return message.replace(/\s*\n\s*/g, '; ');
}

function parseDryRun(value: string | undefined, io: Io): DryRun {
  if (value === '') {
    io.stderr.write('warning: --dry-run is deprecated and can be replaced with --dry-run=client.\n');
    return 'client';
  }
  if (value === 'none' || value === 'server' || value === 'client' || value === undefined) return value ?? 'none';
  throw new UsageError(`invalid --dry-run "${value}": use none, server or client`);
}

type ConnectionArgs = ArgsOf<readonly [...typeof CONNECTION_FLAGS, ...typeof GLOBAL_FLAGS]>;

/**
 * Loads the kubeconfig as kubectl would, with the connection flags applied, and opens the API client.
 * client-node is imported here, not at the top: loading it costs ~0.5 s that `version`, `rules` and snapshot
 * scans do not need.
 */
async function connect(
  args: ConnectionArgs,
  io: Io,
  debug: ((m: string) => void) | undefined,
  warning: ReturnType<ServerWarnings['sink']> = new ServerWarnings(io.stderr, debug).sink(),
) {
  const [{ ApiClient }, { loadKubeConfig }] = await Promise.all([import('../cluster/http.ts'), import('../cluster/kubeconfig.ts')]);
  const timeoutMs = parseDuration(args['request-timeout'], '--request-timeout');
  const flags = connectionFlags(args);
  const loaded = loadKubeConfig(flags, io.env, { exec: { timeoutMs, stdinIsTerminal: () => io.stdin?.isTTY === true } });
  const proxy = loaded.proxy ? `, proxy ${loaded.proxy.url} (${loaded.proxy.from})` : '';
  debug?.(
    `context ${loaded.contextName || '(none)'}, server ${loaded.server}${proxy}, kubeconfig ${loaded.files.join(':') || '(in-cluster)'}`,
  );
  const client = new ApiClient(loaded.kubeConfig, loaded.server, {
    timeoutMs,
    impersonate: loaded.impersonate,
    disableCompression: loaded.disableCompression,
    proxy: loaded.proxy,
    debug: args.v > 1 ? debug : undefined,
    warning,
  });
  return { client, loaded };
}

type ScanArgs = ArgsOf<readonly [...typeof SCAN_FLAGS, ...typeof GLOBAL_FLAGS]>;

async function scan(args: ScanArgs, targetArgs: TargetArg[], io: Io, registered: readonly Rule[]): Promise<number> {
  const debug =
    args.v > 0
      ? (message: string) => {
          io.stderr.write(`doctor: ${visible(message)}\n`);
        }
      : undefined;
  const rules = rulesOfFlags(registered, args.rules, args['skip-rules']);
  const started = new Date();
  const givenNow = args.now !== undefined ? parseNow(args.now) : undefined;
  const now = givenNow ?? started;
  const minAgeMs = args['min-age'] !== undefined ? parseDuration(args['min-age'], '--min-age', '0s (report at once) or 10m') : undefined;
  // Checked even for --snapshot, which does not use it: a bad flag is an error wherever it is given.
  parseDuration(args['request-timeout'], '--request-timeout');
  const deletionWaitMs = parseDuration(args.timeout, '--timeout', '30s, 2m or 0 to not wait');
  const maxFileSize = parseSize(args['snapshot-max-file-size'], '--snapshot-max-file-size');
  const warn = (message: string) => {
    io.stderr.write(`warning: ${message}\n`);
  };
  const serverWarnings = new ServerWarnings(io.stderr, debug);
  checkChunkSize(args['chunk-size']);
  const namespace = args['all-namespaces'] ? undefined : args.namespace;
  const snapshot = args.snapshot !== undefined && args.snapshot.length > 0;
  if (args.fix && snapshot) throw new DoctorError('--fix needs a live cluster, not --snapshot; use -o script to see the plans as commands');
  if (args.fix && args.output === 'script')
    throw new DoctorError('--fix and -o script do not go together: -o script prints the plans, --fix applies them');
  const dryRun = parseDryRun(args['dry-run'], io);
  if (dryRun !== 'none' && !args.fix) throw new UsageError(`--dry-run=${dryRun} goes with --fix (a scan never writes)`);
  const fleet = isFleet(args);
  if (fleet) checkFleetArgs(args);
  else if (args['max-parallel'] !== undefined)
    throw new DoctorError('--max-parallel is how many contexts are scanned at once and goes with --contexts or --all-contexts');
  const policy = loadPolicy(args);
  const ignoreGaps = policy.ignoreGaps;
  const showProgress = wantsProgress(io.stderr, args.v);
  /**
   * Discovery (resolving the TYPE arguments), then the scan. `resolved`: several contexts resolve the TYPE arguments
   * each with its own discovery, a type one of them does not serve being in scope of nothing there (see withTargets).
   * `clock`: a kubectl doctor dump is scanned by its own clock and in its own namespace (snapshotDefaults).
   */
  const scanSource = async (
    source: ClusterSource,
    where: 'cluster' | 'snapshot',
    hooks: { debug?: ((m: string) => void) | undefined; progress?: (state: ScanProgress) => void; resolved?: Set<string> },
    clock: { now: Date; namespace: string | undefined } = { now, namespace },
  ) => {
    const scoped = withTargets(policy, targetArgs, await source.discover(), where, hooks.debug, hooks.resolved);
    const result = await runScan(source, {
      rules,
      now: clock.now,
      minAgeMs,
      namespace: clock.namespace,
      concurrency: 8,
      ignoreGaps,
      debug: hooks.debug,
      progress: hooks.progress,
    });
    // A scan has run: the code it compiled (and what reports and fixes it) is what the next scans will run.
    keepCompiledCode(where);
    return { scoped, result };
  };
  /** With progress on the terminal while it takes. */
  const scanWithProgress = async (
    source: ClusterSource,
    where: 'cluster' | 'snapshot',
    clock?: { now: Date; namespace: string | undefined },
  ) => {
    const progress = showProgress ? new ProgressLine(io.stderr, scanProgressText) : undefined;
    try {
      return await scanSource(source, where, { debug, ...(progress ? { progress: progress.update } : {}) }, clock);
    } finally {
      progress?.done();
    }
  };
  /** The Report of a scan, the policy applied; the result and its object lists are garbage once it returns. */
  const reportOf = (
    result: ScanResult,
    scoped: Policy,
    warnings: { policy: (m: string) => void; skipped: (m: string) => void },
    debugFn: ((m: string) => void) | undefined,
  ): Report => {
    const report = policyReport(result, scoped, args, toolVersion(), warnings.policy);
    warnSkipped(report, warnings.skipped);
    for (const h of report.heldBack) debugFn?.(`held back: ${h.rule} ${objectName(h)}: ${h.reason}`);
    return report;
  };

  if (snapshot) {
    const source = SnapshotSource.fromPaths(args.snapshot!, { maxFileSize, warn, ...(debug ? { note: debug } : {}) });
    // A kubectl doctor dump is scanned by its own clock and in its own namespace unless --now, -n or -A say otherwise.
    const dump = snapshotDefaults(source, { now: givenNow, namespace, allNamespaces: args['all-namespaces'] === true });
    source.limitTo(dump.namespace);
    const { scoped, result } = await scanWithProgress(source, 'snapshot', dump);
    const report = reportOf(result, scoped, { policy: warn, skipped: warn }, debug);
    const hint = snapshotHint(report, source);
    if (hint) io.stderr.write(`${hint}\n`);
    printReport(report, args, io, { kubeconfig: [], flags: [], notes: [] }, rules);
    return exitCodeOf(report, args['fail-on']);
  }

  if (fleet) {
    const { kubeconfigNames } = await import('../cluster/kubeconfig.ts');
    const contexts = selectContexts(args, kubeconfigNames(connectionFlags(args), io.env));
    debug?.(`contexts: ${contexts.join(', ')}`);
    const resolved = new Set<string>();
    const connections = new Map<string, ScriptConnection>();
    // A warning of the policy (an expired suppression) is the same for every context: said once.
    const said = new Set<string>();
    const policyWarn = (m: string) => {
      if (!said.has(m)) warn(m);
      said.add(m);
    };
    const progress = showProgress ? new ProgressLine(io.stderr, fleetProgressText) : undefined;
    let outcome;
    try {
      const maxParallel = args['max-parallel'] ?? DEFAULT_MAX_PARALLEL;
      outcome = await scanContexts(
        contexts,
        maxParallel,
        async (context, onProgress) => {
          const debugOf = debug && ((m: string) => debug(`[${context}] ${m}`));
          let loaded: LoadedKubeConfig | undefined;
          try {
            // Several credential plugins asking on one terminal at once would garble it: they get it only one at a time.
            const connection = await connect(
              { ...args, context },
              maxParallel === 1 ? io : { ...io, stdin: undefined },
              debugOf,
              serverWarnings.sink(context),
            );
            loaded = connection.loaded;
            try {
              const source = liveSourceOf(connection.client, connection.loaded, namespace, args['chunk-size']);
              const { scoped, result } = await scanSource(source, 'cluster', { debug: debugOf, progress: onProgress, resolved });
              debugOf?.(`stats: ${JSON.stringify(result.stats)}`);
              connections.set(context, scriptConnection({ ...args, context }, connection.loaded));
              return reportOf(result, scoped, { policy: policyWarn, skipped: (m) => warn(visible(`context ${context}: `) + m) }, debugOf);
            } finally {
              await connection.client.close();
            }
          } catch (err) {
            return contextFailure(err, context, loaded);
          }
        },
        progress?.update,
      );
    } finally {
      progress?.done();
    }
    // A TYPE no scanned context serves is a typo, not "no findings anywhere".
    const unknown = outcome.reports.length > 0 ? targetArgs.find((a) => !resolved.has(a.type)) : undefined;
    if (unknown)
      throw new DoctorError(
        `unknown resource type ${JSON.stringify(unknown.type)}: none of the contexts scanned serves such a type (kubectl api-resources lists them)`,
      );
    const list = buildReportList(outcome.reports, outcome.failed, { startedAt: started, now, toolVersion: toolVersion() });
    printReportList(list, args, io, connections, rules);
    return exitCodeOfList(list, args['fail-on']);
  }

  const { client, loaded } = await connect(args, io, debug, serverWarnings.sink());
  try {
    const source = liveSourceOf(client, loaded, namespace, args['chunk-size']);
    const { scoped, result } = await scanWithProgress(source, 'cluster');
    debug?.(`stats: ${JSON.stringify(result.stats)}`);
    const report = reportOf(result, scoped, { policy: warn, skipped: warn }, debug);
    const connection = scriptConnection(args, loaded);
    if (!args.fix) {
      printReport(report, args, io, connection, rules);
      return exitCodeOf(report, args['fail-on']);
    }
    // With a machine-readable report on stdout, the plans and progress go to stderr.
    const human = MACHINE_OUTPUTS.includes(args.output) ? io.stderr : io.stdout;
    // Ctrl-C while a write is in flight: let it finish and be recorded, send nothing more, report what was done.
    let interrupted = false;
    const onInterrupt = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      io.stderr.write('\ninterrupted: finishing the request in flight, then stopping (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onInterrupt);
    try {
      const fixed = await runFixFlow(report, new ObjectClient(client), {
        allow: args.allow,
        dryRun,
        yes: args.yes === true,
        prompter: terminalPrompter(
          io,
          (t) => {
            human.write(t);
          },
          onInterrupt,
        ),
        backupDir: args['backup-dir'] ?? defaultBackupDir(new Date(), homeDirectory(io.env)),
        actor: { user: loaded.userName, context: loaded.contextName, server: loaded.server },
        now,
        deletionWaitMs,
        failOn: args['fail-on'],
        rescan: async (ruleIds) => {
          const again = await runScan(liveSourceOf(client, loaded, namespace, args['chunk-size']), {
            rules: rules.filter((r) => ruleIds.includes(r.meta.id)),
            now,
            minAgeMs,
            namespace,
            concurrency: 8,
            ignoreGaps,
            debug,
          });
          return new Set(again.findings.map((f) => f.fingerprint));
        },
        print: (text) => {
          human.write(text);
        },
        interrupted: () => interrupted,
      });
      if (human === io.stderr) printReport(report, args, io, connection, rules, fixed.section);
      return fixed.exitCode;
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  } finally {
    await client.close();
  }
}

/** The live source of a connected cluster: what its Report says of it, pages of --chunk-size, 8 requests at once. */
function liveSourceOf(client: ApiClient, loaded: LoadedKubeConfig, namespace: string | undefined, chunkSize: number): LiveSource {
  const info = {
    type: 'live' as const,
    context: loaded.contextName,
    cluster: loaded.clusterName,
    user: loaded.userName,
    server: loaded.server,
  };
  return new LiveSource(client, { info: namespace !== undefined ? { ...info, namespace } : info, chunkSize, concurrency: 8 });
}

/** The policy with the TYPE[/NAME] arguments resolved through the source's discovery added to its scope. */
function withTargets(
  policy: Policy,
  args: TargetArg[],
  discovery: Discovery,
  where: 'cluster' | 'snapshot',
  debug?: (m: string) => void,
  resolved?: Set<string>,
): Policy {
  if (args.length === 0) return policy;
  // Several contexts: a type this cluster does not serve has no objects here (targets may end up empty: nothing in
  // scope); `resolved` collects the types some cluster served, and the caller refuses one that none did.
  const targets = resolved
    ? args.flatMap((arg) => {
        if (!discovery.resolve(arg.type)) return [];
        resolved.add(arg.type);
        return resolveTargets([arg], discovery, where, COMMANDS_HINT);
      })
    : resolveTargets(args, discovery, where, COMMANDS_HINT);
  debug?.(`only findings about ${describeTargets(targets)}`);
  return { ...policy, scope: { ...policy.scope, targets } };
}

/**
 * How `-o script` reaches the cluster this scan read: the kubeconfig files it loaded (a KUBECONFIG list stays a
 * list), the context, and the flags that chose cluster or identity. A --token is a credential: never printed.
 */
function scriptConnection(args: ConnectionArgs, loaded: LoadedKubeConfig): ScriptConnection {
  const inCluster = loaded.contextName === 'in-cluster';
  const flags = [...(loaded.contextName && !inCluster ? ['--context', loaded.contextName] : []), ...passOnFlags(args)];
  return {
    kubeconfig: inCluster ? [] : loaded.files.map((file) => path.resolve(file)),
    flags,
    notes: args.token
      ? ['The scan authenticated with --token, which is not written into this script: add --token to the kubectl() line before running it.']
      : [],
  };
}

function printReport(report: Report, args: ScanArgs, io: Io, connection: ScriptConnection, rules: readonly Rule[], fix?: FixSection): void {
  switch (args.output) {
    case 'sarif':
      io.stdout.write(renderSarif(report, rules));
      break;
    case 'junit':
      io.stdout.write(renderJunit(report));
      break;
    case 'name':
      io.stdout.write(renderNames(report));
      break;
    case 'json':
    case 'yaml':
      io.stdout.write(formatDocument(fix ? { ...report, fix } : report, args.output));
      break;
    case 'script':
      io.stdout.write(renderScript(report.findings, { allow: args.allow, source: report.source, generatedAt: new Date(), connection }));
      break;
    default:
      io.stdout.write(renderTable(report, tableOptions(args, io)));
  }
}

/** The report of several contexts in the chosen output; on stderr, one line per context that was not scanned. */
function printReportList(
  list: ReportList,
  args: ScanArgs,
  io: Io,
  connections: ReadonlyMap<string, ScriptConnection>,
  rules: readonly Rule[],
): void {
  // The table says it in its own section; any other output (or the table's bare rows) would leave the terminal
  // without a word of it.
  if ((args.output !== 'table' && args.output !== 'wide') || args['no-headers'])
    for (const f of list.summary.failed) io.stderr.write(errorLine(`context ${f.context} not scanned (${f.reason}): ${f.message}`));
  switch (args.output) {
    case 'sarif':
      io.stdout.write(renderSarifList(list, rules));
      break;
    case 'junit':
      io.stdout.write(renderJunitList(list));
      break;
    case 'name':
      io.stdout.write(renderNamesList(list));
      break;
    case 'json':
    case 'yaml':
      io.stdout.write(formatDocument(list, args.output));
      break;
    case 'script':
      io.stdout.write(
        renderContextScripts(
          list.items.map((report) => ({
            context: contextOf(report),
            source: report.source,
            connection: connections.get(contextOf(report))!,
            findings: report.findings,
          })),
          list.summary.failed,
          { allow: args.allow, generatedAt: new Date() },
        ),
      );
      break;
    default:
      io.stdout.write(renderReportListTable(list, tableOptions(args, io)));
  }
}

function tableOptions(args: ScanArgs, io: Io): TableOptions {
  return {
    wide: args.output === 'wide',
    noHeaders: args['no-headers'] === true,
    color: !args['no-color'] && !io.env.NO_COLOR && io.stdout.isTTY === true,
    // On a terminal, messages wrap to its width; into a pipe or file nothing wraps (a line is a record).
    width: io.stdout.isTTY ? io.stdout.columns || 80 : undefined,
  };
}

/** One line per skipped object (the first few), so a table reader learns of them too; the Report lists them all. */
function warnSkipped(report: Report, warn: (message: string) => void): void {
  const shown = 10;
  for (const s of report.skippedObjects.slice(0, shown)) {
    const name = s.name !== undefined ? `/${s.namespace ? `${s.namespace}/` : ''}${s.name}` : '';
    warn(visible(`skipped malformed ${s.kind || 'object'}${name}${s.file ? ` in ${s.file}` : ''}: ${s.reason}`));
  }
  if (report.skippedObjects.length > shown)
    warn(`skipped ${report.skippedObjects.length - shown} more malformed objects; -o json lists them all (skippedObjects)`);
}

const SIZE_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1000, M: 1000 ** 2, G: 1000 ** 3 };

/** A byte count as Kubernetes quantities spell it: `1048576`, `512Mi`, `1Gi`, `100M`. */
function parseSize(value: string, flag: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(value.trim());
  const bytes = m ? Number(m[1]) * SIZE_UNITS[m[2] ?? '']! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new DoctorError(`invalid ${flag} ${JSON.stringify(value)}: use a size in bytes or with Ki, Mi, Gi, e.g. 256Mi`);
  return bytes;
}

function parseNow(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(date.getTime())) {
    throw new DoctorError(`invalid --now "${value}": use an RFC 3339 time such as 2026-01-02T15:04:05Z`);
  }
  return date;
}

export function formatDocument(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : yaml.dump(doc, { noRefs: true, lineWidth: -1 });
}
