/**
 * Every flag of every command, declared once. The yargs options (main.ts), the typed arguments a command handler
 * reads (ArgsOf), shell completion (completion.ts), the kubeconfig overrides (connectionFlags) and the flags an
 * `-o script` passes on to its kubectl commands (passOnFlags) are all derived from these declarations.
 */
import path from 'node:path';
import type { Options } from 'yargs';
import type { ConnectionFlags } from '../cluster/kubeconfig.ts';
import { SEVERITIES } from '../engine/finding.ts';
import { RISKS } from '../plan/actions.ts';

/** How completion offers a flag's value (or a command's positional argument). */
export type ValueSource =
  | { kind: 'choices'; values: readonly string[] }
  | { kind: 'rules'; globs: boolean }
  /** `list`: a comma-separated list of names (--contexts a,b), completed after the last comma. */
  | { kind: 'kubeconfig'; section: 'contexts' | 'clusters' | 'users'; list?: boolean }
  | { kind: 'namespaces' }
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'free' };

export interface Flag {
  readonly name: string;
  /** The one-letter form (-n for --namespace). */
  readonly alias?: string;
  /** count: -v, -vv. A string flag with choices reads as one of them. */
  readonly type: 'string' | 'boolean' | 'number' | 'count';
  /** Repeatable (--rules a --rules b); the value is a list. */
  readonly array?: boolean;
  readonly choices?: readonly string[];
  /** With a default, the typed argument is always present. */
  readonly default?: string | number;
  /** The heading --help lists the flag under. */
  readonly group?: string;
  readonly describe: string;
  /** Completion of the value; without it, choices complete as themselves and other values as free text. */
  readonly complete?: ValueSource;
  /** The kubeconfig setting this flag overrides (as kubectl's flag of the same name does). */
  readonly connection?: keyof ConnectionFlags;
  /**
   * Passed on to the kubectl commands an `-o script` writes, so they reach the cluster the scan read: as given, or
   * (a file) made absolute since the script may run elsewhere. --kubeconfig and --context are passed on as loaded,
   * not as typed; --token never (a credential in a script).
   */
  readonly passOn?: 'value' | 'path';
  /**
   * Chooses one cluster or one credential, overriding the context's: with --contexts/--all-contexts it would apply to
   * every context (one token sent to every server), so it is refused there.
   */
  readonly oneCluster?: true;
  /** A bare `--flag` means something of its own (--dry-run): an empty value is not a missing one. */
  readonly bareAllowed?: boolean;
  /** Applies to every command (-v). */
  readonly global?: boolean;
}

/** Declares a flag, keeping its literal types (name, choices, default) for ArgsOf. */
function flag<const F extends Flag>(f: F): F {
  return f;
}

const CONNECTION = 'Cluster connection (as kubectl):';
const SCAN = 'Scan:';
const OUTPUT = 'Output:';
const FIX = 'Fix:';
const FLEET = 'Many clusters:';

export const OUTPUTS = ['table', 'wide', 'json', 'yaml', 'script', 'sarif', 'junit', 'name'] as const;
export type Output = (typeof OUTPUTS)[number];

export const CONNECTION_FLAGS = [
  flag({
    name: 'kubeconfig',
    type: 'string',
    group: CONNECTION,
    describe: 'Path to the kubeconfig file to use',
    complete: { kind: 'file' },
    connection: 'kubeconfig',
  }),
  flag({
    name: 'context',
    type: 'string',
    group: CONNECTION,
    describe: 'The kubeconfig context to use',
    complete: { kind: 'kubeconfig', section: 'contexts' },
    connection: 'context',
  }),
  flag({
    name: 'cluster',
    type: 'string',
    group: CONNECTION,
    describe: 'The kubeconfig cluster to use',
    complete: { kind: 'kubeconfig', section: 'clusters' },
    connection: 'cluster',
    passOn: 'value',
    oneCluster: true,
  }),
  flag({
    name: 'user',
    type: 'string',
    group: CONNECTION,
    describe: 'The kubeconfig user to use',
    complete: { kind: 'kubeconfig', section: 'users' },
    connection: 'user',
    passOn: 'value',
    oneCluster: true,
  }),
  flag({
    name: 'namespace',
    alias: 'n',
    type: 'string',
    group: CONNECTION,
    describe: 'Limit the scan to one namespace (default: all namespaces)',
    complete: { kind: 'namespaces' },
    connection: 'namespace',
  }),
  flag({
    name: 'all-namespaces',
    alias: 'A',
    type: 'boolean',
    group: CONNECTION,
    describe: 'Scan all namespaces (the default; overrides -n)',
  }),
  flag({
    name: 'server',
    alias: 's',
    type: 'string',
    group: CONNECTION,
    describe: 'The address and port of the Kubernetes API server',
    connection: 'server',
    passOn: 'value',
    oneCluster: true,
  }),
  flag({
    name: 'token',
    type: 'string',
    group: CONNECTION,
    describe: 'Bearer token for authentication to the API server',
    connection: 'token',
    oneCluster: true,
  }),
  flag({
    name: 'as',
    type: 'string',
    group: CONNECTION,
    describe: 'Username to impersonate for the operation',
    connection: 'as',
    passOn: 'value',
  }),
  flag({
    name: 'as-group',
    type: 'string',
    array: true,
    group: CONNECTION,
    describe: 'Group to impersonate (repeatable)',
    connection: 'asGroups',
    passOn: 'value',
  }),
  flag({
    name: 'certificate-authority',
    type: 'string',
    group: CONNECTION,
    describe: 'Path to a cert file for the certificate authority',
    complete: { kind: 'file' },
    connection: 'certificateAuthority',
    passOn: 'path',
    oneCluster: true,
  }),
  flag({
    name: 'insecure-skip-tls-verify',
    type: 'boolean',
    group: CONNECTION,
    describe: "Don't check the server's certificate (insecure)",
    connection: 'insecureSkipTlsVerify',
    passOn: 'value',
  }),
  flag({
    name: 'client-certificate',
    type: 'string',
    group: CONNECTION,
    describe: 'Path to a client certificate file for TLS',
    complete: { kind: 'file' },
    connection: 'clientCertificate',
    passOn: 'path',
    oneCluster: true,
  }),
  flag({
    name: 'client-key',
    type: 'string',
    group: CONNECTION,
    describe: 'Path to a client key file for TLS',
    complete: { kind: 'file' },
    connection: 'clientKey',
    passOn: 'path',
    oneCluster: true,
  }),
  flag({
    name: 'tls-server-name',
    type: 'string',
    group: CONNECTION,
    describe: "Server name to use for the server's certificate validation",
    connection: 'tlsServerName',
    passOn: 'value',
    oneCluster: true,
  }),
  flag({
    name: 'disable-compression',
    type: 'boolean',
    group: CONNECTION,
    describe: "If true, opt-out of response compression for all requests to the server (as a kubeconfig cluster's disable-compression)",
    connection: 'disableCompression',
    // Not passed on to -o script: it changes how answers travel, not which cluster or identity a command addresses,
    // and kubectl before 1.26 rejects it as an unknown flag (kubernetes/kubernetes#112580 added it in 1.26).
  }),
  flag({
    name: 'request-timeout',
    type: 'string',
    default: '0',
    group: CONNECTION,
    describe: 'How long to wait for each request (e.g. 30s, 2m); 0 = no limit',
  }),
] as const;

/**
 * As kubectl: `--dry-run=server` sends every write with dryRun=All, `--dry-run=client` only prints, and a bare
 * `--dry-run` means client (never "none": a user who typed --dry-run must not get a real run). No yargs default and
 * no yargs choices: with them a bare --dry-run would read as the default or be refused; parseDryRun checks it.
 */
const DRY_RUN = flag({
  name: 'dry-run',
  type: 'string',
  describe: 'server: send every write with dryRun=All; client (or a bare --dry-run): only print; none (the default): really write',
  complete: { kind: 'choices', values: ['none', 'server', 'client'] },
  bareAllowed: true,
});

/** Scanning several kubeconfig contexts in one run (src/cli/fleet.ts). */
export const FLEET_FLAGS = [
  flag({
    name: 'contexts',
    type: 'string',
    array: true,
    group: FLEET,
    describe:
      'Scan these kubeconfig contexts, each its own cluster, into one report: names or globs such as prod-* (repeatable, comma-separated)',
    complete: { kind: 'kubeconfig', section: 'contexts', list: true },
  }),
  flag({ name: 'all-contexts', type: 'boolean', group: FLEET, describe: 'Scan every context of the kubeconfig into one report' }),
  flag({
    name: 'max-parallel',
    type: 'number',
    group: FLEET,
    describe: 'With --contexts or --all-contexts: how many contexts are scanned at once (default 4)',
  }),
] as const;

export const SCAN_FLAGS = [
  ...CONNECTION_FLAGS,
  ...FLEET_FLAGS,
  flag({
    name: 'snapshot',
    type: 'string',
    array: true,
    group: SCAN,
    describe: 'Scan a saved dump instead of a cluster: a file or directory of kubectl get -o yaml|json output (repeatable)',
    complete: { kind: 'file' },
  }),
  flag({
    name: 'selector',
    alias: 'l',
    type: 'string',
    group: SCAN,
    describe: 'Only findings about objects with these labels (e.g. -l app=web,tier!=db)',
  }),
  flag({
    name: 'fingerprint',
    type: 'string',
    array: true,
    group: SCAN,
    describe: 'Only the finding with this fingerprint (-o wide and -o json show them; repeatable, comma-separated)',
  }),
  flag({ name: 'now', type: 'string', group: SCAN, describe: 'The clock age thresholds use, RFC 3339 (default: the current time)' }),
  flag({
    name: 'min-age',
    type: 'string',
    group: SCAN,
    describe: "Age after which a stuck state is reported, overriding each rule's threshold (e.g. 0s, 10m)",
  }),
  flag({
    name: 'rules',
    type: 'string',
    array: true,
    group: SCAN,
    describe: 'Run only these rules (ids or globs such as harvester/*; repeatable, comma-separated)',
    complete: { kind: 'rules', globs: true },
  }),
  flag({
    name: 'skip-rules',
    type: 'string',
    array: true,
    group: SCAN,
    describe: 'Do not run these rules (ids or globs)',
    complete: { kind: 'rules', globs: true },
  }),
  flag({ name: 'chunk-size', type: 'number', default: 500, group: SCAN, describe: 'Objects per page when listing' }),
  flag({
    name: 'snapshot-max-file-size',
    type: 'string',
    default: '256Mi',
    group: SCAN,
    describe: 'Skip (with a warning) dump files larger than this, in bytes or with Ki, Mi, Gi',
  }),
  flag({
    name: 'output',
    alias: 'o',
    type: 'string',
    choices: OUTPUTS,
    default: 'table',
    group: OUTPUT,
    describe:
      'Output format; script prints the fix plans as a bash script of kubectl commands; sarif and junit for CI; name: <rule> <kind>/<ns>/<name> per finding',
  }),
  flag({
    name: 'fail-on',
    type: 'string',
    choices: SEVERITIES,
    default: 'warning',
    group: OUTPUT,
    describe: 'Exit 1 when a finding is at or above this severity',
  }),
  flag({
    name: 'suppressions',
    type: 'string',
    group: OUTPUT,
    describe: 'A YAML file of accepted findings (rule, object or fingerprint, reason, expires) and gaps (ignoreGaps)',
    complete: { kind: 'file' },
  }),
  flag({
    name: 'baseline',
    type: 'string',
    group: OUTPUT,
    describe: 'Report only findings not in this baseline file, and which of its findings are gone',
    complete: { kind: 'file' },
  }),
  flag({
    name: 'write-baseline',
    type: 'string',
    group: OUTPUT,
    describe: "Write this run's findings to a baseline file (for --baseline)",
    complete: { kind: 'file' },
  }),
  flag({
    name: 'ignore-gaps',
    type: 'string',
    array: true,
    group: OUTPUT,
    describe: 'Accept known coverage gaps: group-versions or resources that cannot be read (repeatable, comma-separated)',
  }),
  flag({ name: 'no-headers', type: 'boolean', group: OUTPUT, describe: 'Print tables without headers' }),
  flag({ name: 'no-color', type: 'boolean', group: OUTPUT, describe: 'Do not colour the table output (also: NO_COLOR=1)' }),
  flag({
    name: 'fix',
    type: 'boolean',
    group: FIX,
    describe: "Show each finding's plan, ask, then apply it (safe steps only unless --allow)",
  }),
  flag({ name: 'yes', alias: 'y', type: 'boolean', group: FIX, describe: 'Apply without asking (for automation)' }),
  flag({
    name: 'allow',
    type: 'string',
    choices: RISKS,
    default: 'safe',
    group: FIX,
    describe: 'The highest risk --fix may run: disruptive steps, or destructive ones too',
  }),
  { ...DRY_RUN, group: FIX },
  flag({
    name: 'timeout',
    type: 'string',
    default: '30s',
    group: FIX,
    describe:
      'How long --fix waits for controllers to finish the deletions its plans unblock before reporting them pending (e.g. 30s, 2m); 0 = do not wait',
  }),
  flag({
    name: 'backup-dir',
    type: 'string',
    group: FIX,
    describe: 'Where --fix backs up objects before writing (default ~/.kube/doctor/backups/<time>)',
    complete: { kind: 'dir' },
  }),
] as const;

const DUMP = 'Dump:';

export const DUMP_FLAGS = [
  ...CONNECTION_FLAGS,
  flag({
    name: 'rules',
    type: 'string',
    array: true,
    group: DUMP,
    describe: 'Dump what these rules read (ids or globs; repeatable, comma-separated; default: every rule)',
    complete: { kind: 'rules', globs: true },
  }),
  flag({
    name: 'skip-rules',
    type: 'string',
    array: true,
    group: DUMP,
    describe: 'Leave out what only these rules read (ids or globs)',
    complete: { kind: 'rules', globs: true },
  }),
  flag({ name: 'chunk-size', type: 'number', default: 500, group: DUMP, describe: 'Objects per page when listing' }),
  flag({ name: 'force', type: 'boolean', group: DUMP, describe: 'Replace an existing FILE.tgz or an earlier dump directory' }),
] as const;

export const RESTORE_FLAGS = [
  ...CONNECTION_FLAGS,
  flag({ name: 'yes', alias: 'y', type: 'boolean', describe: 'Restore without asking' }),
  DRY_RUN,
] as const;

/** The `-o` of a command that prints one document: its formats, the first being the default. */
function outputFlag<const C extends readonly [string, ...string[]]>(choices: C) {
  return flag({ name: 'output', alias: 'o', type: 'string', choices, default: choices[0], describe: 'Output format' });
}

export const RULES_FLAGS = [
  {
    ...outputFlag(['table', 'wide', 'json', 'yaml']),
    describe: 'Output format; wide adds the thresholds and what each rule reads (what a dump must hold for it)',
  },
] as const;
export const EXPLAIN_FLAGS = [outputFlag(['text', 'json', 'yaml'])] as const;
export const VERSION_FLAGS = [outputFlag(['text', 'json'])] as const;

export const GLOBAL_FLAGS = [
  flag({
    name: 'v',
    type: 'count',
    global: true,
    describe: 'Diagnostics on stderr (-v: lists and timings, -vv: every request, and whether its answer came gzipped)',
  }),
] as const;

type FlagValue<F extends Flag> = F extends { choices: readonly (infer C)[] }
  ? C
  : F extends { type: 'boolean' }
    ? boolean
    : F extends { type: 'number' | 'count' }
      ? number
      : F extends { array: true }
        ? string[]
        : string;

/** A flag with a default (or a count, which starts at 0) is always there; any other is there when given. */
type AlwaysPresent<F extends Flag> = F extends { default: string | number } ? true : F extends { type: 'count' } ? true : false;

/** The arguments a command's handler reads, derived from its flag declarations. */
export type ArgsOf<L extends readonly Flag[]> = {
  [F in L[number] as AlwaysPresent<F> extends true ? F['name'] : never]: FlagValue<F>;
} & {
  [F in L[number] as AlwaysPresent<F> extends true ? never : F['name']]?: FlagValue<F>;
};

/** The yargs options of these flags. */
export function yargsOptions(flags: readonly Flag[]): Record<string, Options> {
  return Object.fromEntries(
    flags.map((f) => {
      const option: Options = { describe: f.describe };
      // Choices say the type; yargs would print [string] before them too.
      if (f.choices === undefined) option.type = f.type;
      if (f.alias !== undefined) option.alias = f.alias;
      if (f.array) option.array = true;
      if (f.choices !== undefined) option.choices = [...f.choices];
      if (f.default !== undefined) option.default = f.default;
      if (f.group !== undefined) option.group = f.group;
      if (f.global) option.global = true;
      return [f.name, option];
    }),
  );
}

/**
 * The arguments of `flags` from what yargs parsed with yargsOptions(flags): nothing else (no camelCase copies, no
 * aliases). A value flag given without its value (`-n` last on the line, or followed by another flag) reaches us as
 * an empty string; as kubectl, that is an error, not an empty value.
 */
export function argsOf<const L extends readonly Flag[]>(flags: L, parsed: Readonly<Record<string, unknown>>): ArgsOf<L> {
  const args: Record<string, unknown> = {};
  for (const f of flags) {
    const value = parsed[f.name];
    if (value === undefined) continue;
    if (value === '' && f.type === 'string' && !f.array && !f.bareAllowed) throw new MissingValueError(f);
    args[f.name] = value;
  }
  // yargs parsed argv with these very declarations, so each value has its declared type.
  return args as ArgsOf<L>;
}

export class MissingValueError extends Error {
  constructor(flag: Flag) {
    super(`flag needs an argument: ${flag.alias ? `-${flag.alias}/` : ''}--${flag.name}`);
  }
}

/** The kubeconfig overrides the connection flags among `given` ask for (for loadKubeConfig). */
export function connectionFlags(given: Readonly<Record<string, unknown>>): ConnectionFlags {
  const out: Record<string, unknown> = {};
  for (const f of CONNECTION_FLAGS) {
    if (!('connection' in f)) continue;
    const value = given[f.name];
    const expected = f.type === 'boolean' ? 'boolean' : 'string';
    if ('array' in f ? Array.isArray(value) && value.every((v) => typeof v === expected) : typeof value === expected)
      out[f.connection] = value;
  }
  // Each value was checked above against its flag's type, which is its ConnectionFlags field's type.
  return out as ConnectionFlags;
}

/** The connection flags among `given` that the kubectl commands of a script repeat, in declaration order. */
export function passOnFlags(given: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const f of CONNECTION_FLAGS) {
    if (!('passOn' in f)) continue;
    const values = ([] as unknown[]).concat(given[f.name] ?? []);
    for (const value of values) {
      if (value === true) out.push(`--${f.name}`);
      else if (typeof value === 'string' && value !== '') out.push(`--${f.name}`, f.passOn === 'path' ? path.resolve(value) : value);
    }
  }
  return out;
}

/** How completion offers the value of `f`; undefined when it takes none (a boolean or count flag). */
export function valueSource(f: Flag): ValueSource | undefined {
  if (f.type === 'boolean' || f.type === 'count') return undefined;
  return f.complete ?? (f.choices !== undefined ? { kind: 'choices', values: f.choices } : { kind: 'free' });
}
