import yargs, { type Argv } from 'yargs';
import * as yaml from 'js-yaml';
import path from 'node:path';
import type { ConnectionFlags, LoadedKubeConfig } from '../cluster/kubeconfig.ts';
import { parseDuration } from '../cluster/duration.ts';
import { LiveSource } from '../cluster/live.ts';
import { SnapshotSource } from '../cluster/snapshot.ts';
import { DoctorError, ExitCode } from '../errors.ts';
import { SEVERITIES, type Severity } from '../engine/finding.ts';
import { runScan } from '../engine/scan.ts';
import { rulesOfFlags } from '../engine/select.ts';
import { visible } from '../util/terminal.ts';
import type { Rule } from '../engine/rule.ts';
import { exitCodeOf, type Report } from '../report/report.ts';
import { objectName, renderNames, renderTable } from '../report/table.ts';
import { renderSarif } from '../report/sarif.ts';
import { renderJunit } from '../report/junit.ts';
import { renderExplain, renderRules, rulesDocument } from '../report/rules.ts';
import { toolVersion } from '../version.ts';
import { RISKS, type Risk } from '../plan/actions.ts';
import { defaultBackupDir } from '../fix/backup.ts';
import type { DryRun } from '../fix/execute.ts';
import { ObjectClient } from '../fix/object-client.ts';
import { renderScript, type ScriptConnection } from '../fix/script.ts';
import { runFixFlow, type FixSection } from './fix.ts';
import { terminalPrompter } from './prompt.ts';
import { runRestore } from './restore.ts';
import { completionScript, runComplete, SHELLS, type Shell } from './completion.ts';
import { loadPolicy, policyReport, type SuppressionArgs } from './suppressions.ts';
import { checkChunkSize, dumpOptions, runDump, snapshotDefaults, snapshotHint, type DumpArgs } from './dump.ts';
import { allRules } from '../../rules/index.ts';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Where --fix asks for confirmation; only used when it is a terminal. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

const OUTPUTS = ['table', 'wide', 'json', 'yaml', 'script', 'sarif', 'junit', 'name'] as const;
/** Outputs for programs: with --fix, the plans and progress go to stderr instead. */
const MACHINE_OUTPUTS: readonly Output[] = ['json', 'yaml', 'sarif', 'junit', 'name'];
type Output = (typeof OUTPUTS)[number];

/** Rules the CLI knows; tests may pass their own. */
export interface MainOptions {
  rules?: readonly Rule[];
}

/** Parses argv (everything after `kubectl doctor`), runs the command and returns the exit code. Never throws. */
export async function main(argv: string[], io: Io, options: MainOptions = {}): Promise<number> {
  const rules = options.rules ?? allRules;
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
    if (err instanceof UsageError) {
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
        'Find known failure patterns in a Kubernetes cluster or a saved dump, with evidence and a fix plan.\n\nUsage:\n  kubectl doctor [flags]\n  kubectl doctor <command> [flags]',
      )
      .command(
        '$0',
        'Scan the cluster (the default command)',
        (y) => scanOptions(y),
        async (args) => {
          setVerbose(Number(args.v) || 0);
          setExit(await scan(args as unknown as ScanArgs, io, rules));
        },
      )
      .command(
        'rules',
        'List the rules',
        (y) =>
          y.option('output', {
            alias: 'o',
            choices: ['table', 'wide', 'json', 'yaml'] as const,
            default: 'table',
            describe: 'Output format; wide adds what each rule reads (what a dump must hold for it)',
          }),
        (args) => {
          print(
            args.output === 'table' || args.output === 'wide'
              ? renderRules(rules, { wide: args.output === 'wide' })
              : formatDocument(rulesDocument(rules), args.output as 'json' | 'yaml'),
          );
        },
      )
      .command(
        'explain <rule>',
        'Explain a rule: what it detects, why, its evidence, remediation and references',
        (y) =>
          y
            .positional('rule', { type: 'string', demandOption: true, describe: 'Rule id, e.g. core/stuck-deletion' })
            .option('output', { alias: 'o', choices: ['text', 'json', 'yaml'] as const, default: 'text', describe: 'Output format' }),
        (args) => {
          const rule = rules.find((r) => r.meta.id === args.rule);
          if (!rule) throw new DoctorError(`unknown rule "${args.rule}"; list the rules with: kubectl doctor rules`);
          print(
            args.output === 'text' ? renderExplain(rule) : formatDocument(rulesDocument([rule]).items[0], args.output as 'json' | 'yaml'),
          );
        },
      )
      .command(
        'restore <backup-dir>',
        'Put back the objects a --fix run changed, from its backup directory',
        (y) =>
          connectionOptions(y)
            .positional('backup-dir', { type: 'string', demandOption: true, describe: 'The directory --fix printed (holds audit.jsonl)' })
            .option('yes', { alias: 'y', type: 'boolean', describe: 'Restore without asking' })
            .option('dry-run', DRY_RUN_OPTION),
        async (args) => {
          setVerbose(Number(args.v) || 0);
          requireValues(args);
          const dryRun = parseDryRun(args['dry-run'], io);
          const { client, loaded } = await connect(args as unknown as ConnectionArgs, io, undefined);
          try {
            setExit(
              await runRestore(args['backup-dir'], new ObjectClient(client), {
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
        'Write what a scan reads to a directory or FILE.tgz, Secret values redacted, for --snapshot elsewhere',
        (y) => dumpOptions(connectionOptions(y)),
        async (args) => {
          setVerbose(Number(args.v) || 0);
          requireValues(args);
          setExit(await runDump(args as unknown as DumpArgs, io, rules, (debug) => connect(args as unknown as ConnectionArgs, io, debug)));
        },
      )
      .command(
        'completion <shell>',
        'Print a shell completion script for kubectl-doctor (bash, zsh, fish), or the kubectl_complete-doctor helper that completes `kubectl doctor <TAB>` (kubectl)',
        (y) => y.positional('shell', { choices: SHELLS, demandOption: true, describe: 'bash, zsh, fish or kubectl' }),
        (args) => {
          print(completionScript(args.shell as Shell));
        },
      )
      .command(
        'version',
        'Print the version',
        (y) => y.option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' }),
        (args) => {
          const version = toolVersion();
          print(
            args.output === 'json' ? `${JSON.stringify({ version, node: process.version }, null, 2)}\n` : `kubectl-doctor v${version}\n`,
          );
        },
      )
      .option('v', { type: 'count', describe: 'Diagnostics on stderr (-v: lists and timings, -vv: every request)', global: true })
      .help('help')
      .alias('help', 'h')
      .version(false)
      // kubectl's flags are spelled --no-headers and --no-color; they are flags of their own, not negations.
      .parserConfiguration({ 'boolean-negation': false })
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
  completion: 'a shell: kubectl doctor completion bash|zsh|fish|kubectl',
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
    return `unknown command "${commands.join(' ')}": the commands are rules, explain, dump, restore, completion and version (a scan takes no command)`;
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

const CONNECTION = 'Cluster connection (as kubectl):';

function connectionOptions<T>(y: Argv<T>) {
  return y
    .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig file to use', group: CONNECTION })
    .option('context', { type: 'string', describe: 'The kubeconfig context to use', group: CONNECTION })
    .option('cluster', { type: 'string', describe: 'The kubeconfig cluster to use', group: CONNECTION })
    .option('user', { type: 'string', describe: 'The kubeconfig user to use', group: CONNECTION })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      describe: 'Limit the scan to one namespace (default: all namespaces)',
      group: CONNECTION,
    })
    .option('all-namespaces', {
      alias: 'A',
      type: 'boolean',
      describe: 'Scan all namespaces (the default; overrides -n)',
      group: CONNECTION,
    })
    .option('server', { alias: 's', type: 'string', describe: 'The address and port of the Kubernetes API server', group: CONNECTION })
    .option('token', { type: 'string', describe: 'Bearer token for authentication to the API server', group: CONNECTION })
    .option('as', { type: 'string', describe: 'Username to impersonate for the operation', group: CONNECTION })
    .option('as-group', { type: 'string', array: true, describe: 'Group to impersonate (repeatable)', group: CONNECTION })
    .option('certificate-authority', { type: 'string', describe: 'Path to a cert file for the certificate authority', group: CONNECTION })
    .option('insecure-skip-tls-verify', { type: 'boolean', describe: "Don't check the server's certificate (insecure)", group: CONNECTION })
    .option('client-certificate', { type: 'string', describe: 'Path to a client certificate file for TLS', group: CONNECTION })
    .option('client-key', { type: 'string', describe: 'Path to a client key file for TLS', group: CONNECTION })
    .option('tls-server-name', {
      type: 'string',
      describe: "Server name to use for the server's certificate validation",
      group: CONNECTION,
    })
    .option('request-timeout', {
      type: 'string',
      default: '0',
      describe: 'How long to wait for each request (e.g. 30s, 2m); 0 = no limit',
      group: CONNECTION,
    });
}

function scanOptions(y: Argv) {
  return connectionOptions(y)
    .option('snapshot', {
      type: 'string',
      array: true,
      describe: 'Scan a saved dump instead of a cluster: a file or directory of kubectl get -o yaml|json output (repeatable)',
      group: 'Scan:',
    })
    .option('selector', {
      alias: 'l',
      type: 'string',
      describe: 'Only findings about objects with these labels (e.g. -l app=web,tier!=db)',
      group: 'Scan:',
    })
    .option('now', { type: 'string', describe: 'The clock age thresholds use, RFC 3339 (default: the current time)', group: 'Scan:' })
    .option('min-age', {
      type: 'string',
      describe: "Age after which a stuck state is reported, overriding each rule's threshold (e.g. 0s, 10m)",
      group: 'Scan:',
    })
    .option('rules', {
      type: 'string',
      array: true,
      describe: 'Run only these rules (ids or globs such as harvester/*; repeatable, comma-separated)',
      group: 'Scan:',
    })
    .option('skip-rules', { type: 'string', array: true, describe: 'Do not run these rules (ids or globs)', group: 'Scan:' })
    .option('chunk-size', { type: 'number', default: 500, describe: 'Objects per page when listing', group: 'Scan:' })
    .option('snapshot-max-file-size', {
      type: 'string',
      default: '256Mi',
      describe: 'Skip (with a warning) dump files larger than this, in bytes or with Ki, Mi, Gi',
      group: 'Scan:',
    })
    .option('output', {
      alias: 'o',
      choices: OUTPUTS,
      default: 'table' as Output,
      describe:
        'Output format; script prints the fix plans as a bash script of kubectl commands; sarif and junit for CI; name: <rule> <kind>/<ns>/<name> per finding',
      group: 'Output:',
    })
    .option('fail-on', {
      choices: [...SEVERITIES],
      default: 'warning' as Severity,
      describe: 'Exit 1 when a finding is at or above this severity',
      group: 'Output:',
    })
    .option('suppressions', {
      type: 'string',
      describe: 'A YAML file of accepted findings (rule, object or fingerprint, reason, expires) and gaps (ignoreGaps)',
      group: 'Output:',
    })
    .option('baseline', {
      type: 'string',
      describe: 'Report only findings not in this baseline file, and which of its findings are gone',
      group: 'Output:',
    })
    .option('write-baseline', {
      type: 'string',
      describe: "Write this run's findings to a baseline file (for --baseline)",
      group: 'Output:',
    })
    .option('ignore-gaps', {
      type: 'string',
      array: true,
      describe: 'Accept known coverage gaps: group-versions or resources that cannot be read (repeatable, comma-separated)',
      group: 'Output:',
    })
    .option('no-headers', { type: 'boolean', describe: 'Print tables without headers', group: 'Output:' })
    .option('no-color', { type: 'boolean', describe: 'Do not colour the table output (also: NO_COLOR=1)', group: 'Output:' })
    .option('fix', {
      type: 'boolean',
      describe: "Show each finding's plan, ask, then apply it (safe steps only unless --allow)",
      group: 'Fix:',
    })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Apply without asking (for automation)', group: 'Fix:' })
    .option('allow', {
      choices: RISKS,
      default: 'safe' as Risk,
      describe: 'The highest risk --fix may run: disruptive steps, or destructive ones too',
      group: 'Fix:',
    })
    .option('dry-run', { ...DRY_RUN_OPTION, group: 'Fix:' })
    .option('backup-dir', {
      type: 'string',
      describe: 'Where --fix backs up objects before writing (default ~/.kube/doctor/backups/<time>)',
      group: 'Fix:',
    });
}

/**
 * As kubectl: `--dry-run=server` sends every write with dryRun=All, `--dry-run=client` only prints, and a bare
 * `--dry-run` means client (never "none": a user who typed --dry-run must not get a real run).
 */
const DRY_RUN_OPTION = {
  // No yargs default: with one, a bare --dry-run would read as the default ("none") instead of as "".
  type: 'string',
  describe: 'server: send every write with dryRun=All; client (or a bare --dry-run): only print; none (the default): really write',
} as const;

function parseDryRun(value: string | undefined, io: Io): DryRun {
  if (value === '') {
    io.stderr.write('warning: --dry-run is deprecated and can be replaced with --dry-run=client.\n');
    return 'client';
  }
  if (value === 'none' || value === 'server' || value === 'client' || value === undefined) return value ?? 'none';
  throw new UsageError(`invalid --dry-run "${value}": use none, server or client`);
}

interface ConnectionArgs {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  'all-namespaces'?: boolean;
  server?: string;
  token?: string;
  as?: string;
  'as-group'?: string[];
  'certificate-authority'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'client-certificate'?: string;
  'client-key'?: string;
  'tls-server-name'?: string;
  'request-timeout': string;
  v: number;
}

/**
 * Loads the kubeconfig as kubectl would, with the connection flags applied, and opens the API client.
 * client-node is imported here, not at the top: loading it costs ~0.5 s that `version`, `rules` and snapshot
 * scans do not need.
 */
async function connect(args: ConnectionArgs, io: Io, debug: ((m: string) => void) | undefined) {
  const [{ ApiClient }, { loadKubeConfig }] = await Promise.all([import('../cluster/http.ts'), import('../cluster/kubeconfig.ts')]);
  const timeoutMs = parseDuration(args['request-timeout'], '--request-timeout');
  const flags: ConnectionFlags = {};
  for (const [flag, key] of [
    ['kubeconfig', 'kubeconfig'],
    ['context', 'context'],
    ['cluster', 'cluster'],
    ['user', 'user'],
    ['server', 'server'],
    ['token', 'token'],
    ['as', 'as'],
    ['certificate-authority', 'certificateAuthority'],
    ['client-certificate', 'clientCertificate'],
    ['client-key', 'clientKey'],
    ['tls-server-name', 'tlsServerName'],
  ] as const) {
    if (args[flag] !== undefined) flags[key] = args[flag];
  }
  if (args.namespace !== undefined) flags.namespace = args.namespace;
  if (args['as-group']) flags.asGroups = args['as-group'];
  if (args['insecure-skip-tls-verify'] !== undefined) flags.insecureSkipTlsVerify = args['insecure-skip-tls-verify'];
  const loaded = loadKubeConfig(flags, io.env, { exec: { timeoutMs, stdinIsTerminal: io.stdin?.isTTY === true } });
  debug?.(`context ${loaded.contextName || '(none)'}, server ${loaded.server}, kubeconfig ${loaded.files.join(':') || '(in-cluster)'}`);
  const client = new ApiClient(loaded.kubeConfig, loaded.server, {
    timeoutMs,
    impersonate: loaded.impersonate,
    debug: args.v > 1 ? debug : undefined,
  });
  return { client, loaded };
}

interface ScanArgs extends ConnectionArgs, SuppressionArgs {
  snapshot?: string[];
  now?: string;
  'min-age'?: string;
  rules?: string[];
  'skip-rules'?: string[];
  'chunk-size': number;
  'snapshot-max-file-size': string;
  output: Output;
  'fail-on': Severity;
  'no-headers'?: boolean;
  'no-color'?: boolean;
  fix?: boolean;
  yes?: boolean;
  allow: Risk;
  'dry-run'?: string;
  'backup-dir'?: string;
}

/**
 * A flag that takes a value, given without one (`-n` at the end of the line, or followed by another flag), reaches
 * us as an empty string; kubectl says so instead of carrying on with the empty value.
 */
const VALUE_FLAGS: readonly [string, string][] = [
  ['kubeconfig', '--kubeconfig'],
  ['context', '--context'],
  ['cluster', '--cluster'],
  ['user', '--user'],
  ['namespace', '-n/--namespace'],
  ['server', '-s/--server'],
  ['token', '--token'],
  ['as', '--as'],
  ['certificate-authority', '--certificate-authority'],
  ['client-certificate', '--client-certificate'],
  ['client-key', '--client-key'],
  ['tls-server-name', '--tls-server-name'],
  ['now', '--now'],
  ['min-age', '--min-age'],
  ['request-timeout', '--request-timeout'],
  ['backup-dir', '--backup-dir'],
  ['selector', '-l/--selector'],
];

function requireValues(args: Record<string, unknown>): void {
  for (const [key, flag] of VALUE_FLAGS) {
    if (args[key] === '') throw new UsageError(`flag needs an argument: ${flag}`);
  }
}

async function scan(args: ScanArgs, io: Io, registered: readonly Rule[]): Promise<number> {
  requireValues(args as unknown as Record<string, unknown>);
  const debug =
    args.v > 0
      ? (message: string) => {
          io.stderr.write(`doctor: ${visible(message)}\n`);
        }
      : undefined;
  const rules = rulesOfFlags(registered, args.rules, args['skip-rules']);
  const givenNow = args.now !== undefined ? parseNow(args.now) : undefined;
  const now = givenNow ?? new Date();
  const minAgeMs = args['min-age'] !== undefined ? parseDuration(args['min-age'], '--min-age', '0s (report at once) or 10m') : undefined;
  // Checked even for --snapshot, which does not use it: a bad flag is an error wherever it is given.
  parseDuration(args['request-timeout'], '--request-timeout');
  const maxFileSize = parseSize(args['snapshot-max-file-size'], '--snapshot-max-file-size');
  const warn = (message: string) => {
    io.stderr.write(`warning: ${message}\n`);
  };
  checkChunkSize(args['chunk-size']);
  const namespace = args['all-namespaces'] ? undefined : args.namespace;
  const snapshot = args.snapshot !== undefined && args.snapshot.length > 0;
  if (args.fix && snapshot) throw new DoctorError('--fix needs a live cluster, not --snapshot; use -o script to see the plans as commands');
  if (args.fix && args.output === 'script')
    throw new DoctorError('--fix and -o script do not go together: -o script prints the plans, --fix applies them');
  const dryRun = parseDryRun(args['dry-run'], io);
  if (dryRun !== 'none' && !args.fix) throw new UsageError(`--dry-run=${dryRun} goes with --fix (a scan never writes)`);
  const policy = loadPolicy(args);
  const ignoreGaps = policy.ignoreGaps;

  if (snapshot) {
    const source = SnapshotSource.fromPaths(args.snapshot!, { maxFileSize, warn, ...(debug ? { note: debug } : {}) });
    // A kubectl doctor dump is scanned by its own clock and in its own namespace unless --now, -n or -A say otherwise.
    const dump = snapshotDefaults(source, { now: givenNow, namespace, allNamespaces: args['all-namespaces'] === true });
    source.limitTo(dump.namespace);
    const report = policyReport(
      await runScan(source, { rules, now: dump.now, minAgeMs, namespace: dump.namespace, concurrency: 8, ignoreGaps, debug }),
      policy,
      args,
      toolVersion(),
      warn,
    );
    warnSkipped(report, warn);
    const hint = snapshotHint(report, source);
    if (hint) io.stderr.write(`${hint}\n`);
    for (const h of report.heldBack) debug?.(`held back: ${h.rule} ${objectName(h)}: ${h.reason}`);
    printReport(report, args, io, { kubeconfig: [], flags: [], notes: [] }, rules);
    return exitCodeOf(report, args['fail-on']);
  }

  const { client, loaded } = await connect(args, io, debug);
  const liveSource = () => {
    const info = {
      type: 'live' as const,
      context: loaded.contextName,
      cluster: loaded.clusterName,
      user: loaded.userName,
      server: loaded.server,
    };
    return new LiveSource(client, {
      info: namespace !== undefined ? { ...info, namespace } : info,
      chunkSize: args['chunk-size'],
      concurrency: 8,
    });
  };
  try {
    const source = liveSource();
    const result = await runScan(source, { rules, now, minAgeMs, namespace, concurrency: 8, ignoreGaps, debug });
    debug?.(`stats: ${JSON.stringify(result.stats)}`);
    const report = policyReport(result, policy, args, toolVersion(), warn);
    warnSkipped(report, warn);
    for (const h of report.heldBack) debug?.(`held back: ${h.rule} ${objectName(h)}: ${h.reason}`);
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
        backupDir: args['backup-dir'] ?? defaultBackupDir(new Date(), io.env.HOME),
        actor: { user: loaded.userName, context: loaded.contextName, server: loaded.server },
        now,
        failOn: args['fail-on'],
        rescan: async (ruleIds) => {
          const again = await runScan(liveSource(), {
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

/**
 * How `-o script` reaches the cluster this scan read: the kubeconfig files it loaded (a KUBECONFIG list stays a
 * list), the context, and the flags that chose cluster or identity. A --token is a credential: never printed.
 */
function scriptConnection(args: ConnectionArgs, loaded: LoadedKubeConfig): ScriptConnection {
  const inCluster = loaded.contextName === 'in-cluster';
  const flags = loaded.contextName && !inCluster ? ['--context', loaded.contextName] : [];
  for (const [flag, value] of [
    ['--cluster', args.cluster],
    ['--user', args.user],
    ['--server', args.server],
    ['--as', args.as],
  ] as const) {
    if (value) flags.push(flag, value);
  }
  for (const group of args['as-group'] ?? []) flags.push('--as-group', group);
  if (args['certificate-authority']) flags.push('--certificate-authority', path.resolve(args['certificate-authority']));
  if (args['insecure-skip-tls-verify']) flags.push('--insecure-skip-tls-verify');
  for (const flag of ['client-certificate', 'client-key'] as const) if (args[flag]) flags.push(`--${flag}`, path.resolve(args[flag]));
  if (args['tls-server-name']) flags.push('--tls-server-name', args['tls-server-name']);
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
      io.stdout.write(
        renderTable(report, {
          wide: args.output === 'wide',
          noHeaders: args['no-headers'] === true,
          color: !args['no-color'] && !io.env.NO_COLOR && io.stdout.isTTY === true,
          width: io.stdout.isTTY && io.stdout.columns ? Math.max(80, io.stdout.columns) : 100,
        }),
      );
  }
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
