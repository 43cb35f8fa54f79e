/**
 * Shell completion.
 *
 * `kubectl doctor __complete WORDS... CURRENT` prints the candidates for CURRENT, one per line (`value` or
 * `value<TAB>description`), then a last line `:<directive>` — the protocol of cobra's `__complete`, which is what
 * kubectl (>= 1.26) expects from a plugin's `kubectl_complete-<plugin>` executable
 * (k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go: it runs the executable with the words after the plugin
 * name, the last one being the word under completion, possibly empty, drops empty lines and reads a trailing
 * `:<int>` as a cobra ShellCompDirective).
 *
 * `kubectl doctor completion bash|zsh|fish|powershell` prints a script that completes the `kubectl-doctor` command through
 * the same protocol; `completion kubectl` prints the `kubectl_complete-doctor` helper that makes
 * `kubectl doctor <TAB>` work.
 *
 * The flags are those declared in flags.ts, from which main.ts builds the parser too; test/cli/completion.test.ts
 * checks the command table against `--help` of every command.
 */
import type { Rule } from '../engine/rule.ts';
import type { Io } from './main.ts';
import {
  connectionFlags,
  DUMP_FLAGS,
  EXPLAIN_FLAGS,
  GLOBAL_FLAGS,
  RESTORE_FLAGS,
  RULES_FLAGS,
  SCAN_FLAGS,
  valueSource,
  VERSION_FLAGS,
  type Flag,
  type ValueSource,
} from './flags.ts';

/** cobra.ShellCompDirective bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell', 'kubectl'] as const;
export type Shell = (typeof SHELLS)[number];

interface CommandSpec {
  describe: string;
  flags: readonly Flag[];
  /** Completion of the first positional argument. */
  positional?: ValueSource;
}

/** The commands and their flags (declared in flags.ts). '' is the default command (the scan); hidden ones are not listed. */
export const COMMANDS: Record<string, CommandSpec> = {
  '': { describe: 'Scan the cluster', flags: SCAN_FLAGS },
  rules: { describe: 'List the rules', flags: RULES_FLAGS },
  explain: { describe: 'Explain a rule', flags: EXPLAIN_FLAGS, positional: { kind: 'rules', globs: false } },
  dump: {
    describe: 'Write what a scan reads to DIR or FILE.tgz, Secret values and other credentials redacted',
    flags: DUMP_FLAGS,
    positional: { kind: 'file' },
  },
  restore: { describe: 'Put back the objects a --fix run changed', flags: RESTORE_FLAGS, positional: { kind: 'dir' } },
  version: { describe: 'Print the version', flags: VERSION_FLAGS },
  completion: { describe: 'Print a shell completion script', flags: [], positional: { kind: 'choices', values: SHELLS } },
};

/** yargs' own --help, which every command has. */
const HELP: Flag = { name: 'help', alias: 'h', type: 'boolean', describe: 'Show help' };

/** The flags of a command, global ones included (for the tests and for completion). */
export function flagsOf(command: string): readonly Flag[] {
  return [...(COMMANDS[command]?.flags ?? []), ...GLOBAL_FLAGS, HELP];
}

export interface Completion {
  /** `value` or `value\tdescription`. */
  candidates: string[];
  directive: number;
}

export interface CompleteOptions {
  /** Lists the namespaces of the cluster the connection flags select; the default asks the API server. */
  listNamespaces?: (flags: Record<string, string | string[] | boolean>, timeoutMs: number) => Promise<string[]>;
}

/** The default bound on the namespace list when --request-timeout is not given (or 0): a TAB must not hang. */
const NAMESPACE_TIMEOUT_MS = 5_000;

/**
 * Completes the last of `words` (the arguments after `kubectl doctor`; the last one is the word being typed,
 * '' for a new word). Never throws: a failure means no candidates.
 */
export async function complete(
  words: readonly string[],
  io: Pick<Io, 'env'>,
  rules: readonly Rule[],
  options: CompleteOptions = {},
): Promise<Completion> {
  const args = words.length > 0 ? words.slice(0, -1) : [];
  const current = words.length > 0 ? words[words.length - 1]! : '';

  // Walk the words before the current one: find the command, the positionals and the flag values given so far.
  let command = '';
  const positionals: string[] = [];
  const given: Record<string, string | string[] | boolean> = {};
  let pending: { flag: Flag; source: ValueSource } | undefined;
  let afterDashes = false;
  const record = (flag: Flag, value: string | true) => {
    const before = given[flag.name];
    given[flag.name] = flag.array && typeof value === 'string' ? [...(Array.isArray(before) ? before : []), value] : value;
  };
  for (const word of args) {
    if (pending) {
      record(pending.flag, word);
      pending = undefined;
      continue;
    }
    if (!afterDashes && word === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && word.startsWith('-') && word.length > 1) {
      const { flag, inline } = findFlag(command, word);
      if (!flag) continue;
      const source = valueSource(flag);
      if (!source) record(flag, true);
      else if (inline !== undefined) record(flag, inline);
      else pending = { flag, source };
      continue;
    }
    if (command === '' && positionals.length === 0 && word in COMMANDS && word !== '') command = word;
    else positionals.push(word);
  }

  try {
    if (pending) return await completeValue(pending.source, current, '', rules, io, given, options);
    if (!afterDashes && current.startsWith('-')) {
      const eq = current.indexOf('=');
      if (current.startsWith('--') && eq > 0) {
        const { flag } = findFlag(command, current.slice(0, eq));
        const source = flag && valueSource(flag);
        if (!source) return { candidates: [], directive: Directive.NoFileComp };
        return await completeValue(source, current.slice(eq + 1), current.slice(0, eq + 1), rules, io, given, options);
      }
      return { candidates: flagCandidates(command, current), directive: Directive.NoFileComp };
    }
    if (command === '' && positionals.length === 0) {
      const candidates = Object.entries(COMMANDS)
        .filter(([name]) => name !== '' && name.startsWith(current))
        .map(([name, spec]) => `${name}\t${spec.describe}`);
      return { candidates, directive: Directive.NoFileComp };
    }
    const positional = COMMANDS[command]?.positional;
    if (positional && positionals.length === 0) return await completeValue(positional, current, '', rules, io, given, options);
    return { candidates: [], directive: Directive.NoFileComp };
  } catch {
    return { candidates: [], directive: Directive.NoFileComp };
  }
}

function findFlag(command: string, word: string): { flag: Flag | undefined; inline?: string } {
  const flags = flagsOf(command);
  if (word.startsWith('--')) {
    const eq = word.indexOf('=');
    const name = eq > 0 ? word.slice(2, eq) : word.slice(2);
    const flag = flags.find((f) => f.name === name);
    return eq > 0 ? { flag, inline: word.slice(eq + 1) } : { flag };
  }
  // -n ns, -nns, -vv, -A
  const letter = word[1]!;
  const flag = flags.find((f) => f.alias === letter || (f.name.length === 1 && f.name === letter));
  if (flag && valueSource(flag) && word.length > 2) return { flag, inline: word.slice(word[2] === '=' ? 3 : 2) };
  return { flag };
}

function flagCandidates(command: string, current: string): string[] {
  const out: string[] = [];
  for (const f of flagsOf(command)) {
    const long = f.name.length === 1 ? `-${f.name}` : `--${f.name}`;
    if (long.startsWith(current)) out.push(`${long}\t${f.describe}`);
    if (f.alias && current.length <= 2 && `-${f.alias}`.startsWith(current)) out.push(`-${f.alias}\t${f.describe}`);
  }
  return out;
}

async function completeValue(
  value: ValueSource,
  current: string,
  prefix: string,
  rules: readonly Rule[],
  io: Pick<Io, 'env'>,
  given: Record<string, string | string[] | boolean>,
  options: CompleteOptions,
): Promise<Completion> {
  const matching = (items: Iterable<string>, describe?: (item: string) => string | undefined) => {
    const out: string[] = [];
    for (const item of items) {
      if (!item.startsWith(current)) continue;
      const d = describe?.(item);
      out.push(`${prefix}${item}${d ? `\t${d}` : ''}`);
    }
    return out;
  };
  switch (value.kind) {
    case 'choices':
      return { candidates: matching(value.values), directive: Directive.NoFileComp };
    case 'rules': {
      const { head, tail, chosen } = listParts(current);
      const summaries = new Map(rules.map((r) => [r.meta.id, r.meta.summary]));
      const globs = value.globs ? [...new Set(rules.map((r) => r.meta.id.split('/')[0]!))].map((e) => `${e}/*`) : [];
      const ids = [...rules.map((r) => r.meta.id), ...globs].filter((id) => !chosen.has(id) && id.startsWith(tail));
      return {
        candidates: ids.map((id) => `${prefix}${head}${id}${summaries.has(id) ? `\t${summaries.get(id)}` : ''}`),
        directive: Directive.NoFileComp,
      };
    }
    case 'kubeconfig': {
      const { kubeconfigNames } = await import('../cluster/kubeconfig.ts');
      const kubeconfig = typeof given.kubeconfig === 'string' ? given.kubeconfig : undefined;
      const names = kubeconfigNames(kubeconfig !== undefined ? { kubeconfig } : {}, io.env);
      const describe = (n: string) => (value.section === 'contexts' && n === names.currentContext ? 'current context' : undefined);
      if (!value.list) return { candidates: matching(names[value.section], describe), directive: Directive.NoFileComp };
      // A comma-separated list (--contexts a,b): complete the part after the last comma, keep the rest.
      const { head, tail, chosen } = listParts(current);
      return {
        candidates: names[value.section]
          .filter((n) => !chosen.has(n) && n.startsWith(tail))
          .map((n) => `${prefix}${head}${n}${describe(n) ? `\t${describe(n)}` : ''}`),
        directive: Directive.NoFileComp,
      };
    }
    case 'namespaces': {
      const timeout = timeoutOf(given['request-timeout']);
      const list = options.listNamespaces ?? listNamespaces;
      const names = await withTimeout(list(given, timeout), timeout).catch(() => []);
      return { candidates: matching(names), directive: Directive.NoFileComp };
    }
    case 'file':
      return { candidates: [], directive: Directive.Default };
    case 'dir':
      return { candidates: [], directive: Directive.FilterDirs };
    case 'free':
      return { candidates: [], directive: Directive.NoFileComp };
  }
}

/** A comma-separated list being typed: what is before the last comma (kept), the part after it, the names chosen. */
function listParts(current: string): { head: string; tail: string; chosen: Set<string> } {
  const comma = current.lastIndexOf(',');
  const head = current.slice(0, comma + 1);
  return { head, tail: current.slice(comma + 1), chosen: new Set(head.split(',').filter(Boolean)) };
}

function timeoutOf(raw: unknown): number {
  if (typeof raw !== 'string') return NAMESPACE_TIMEOUT_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) return NAMESPACE_TIMEOUT_MS;
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return ms > 0 ? ms : NAMESPACE_TIMEOUT_MS;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** GET /api/v1/namespaces (metadata only) with the connection flags given so far on the command line. */
async function listNamespaces(given: Record<string, string | string[] | boolean>, timeoutMs: number): Promise<string[]> {
  const [{ ApiClient }, { loadKubeConfig }] = await Promise.all([import('../cluster/http.ts'), import('../cluster/kubeconfig.ts')]);
  const flags = connectionFlags(given);
  const loaded = loadKubeConfig(flags, process.env);
  const client = new ApiClient(loaded.kubeConfig, loaded.server, {
    timeoutMs,
    impersonate: loaded.impersonate,
    disableCompression: loaded.disableCompression,
    proxy: loaded.proxy,
  });
  try {
    const res = await client.request('GET', '/api/v1/namespaces', {
      query: { limit: '500' },
      accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
    });
    if (res.status !== 200) return [];
    const items = (res.body as { items?: { metadata?: { name?: string } }[] } | undefined)?.items ?? [];
    return items
      .map((i) => i.metadata?.name)
      .filter((n): n is string => typeof n === 'string')
      .sort();
  } finally {
    await client.close();
  }
}

/** `__complete`: prints the candidates and the directive line; always exit code 0. */
export async function runComplete(words: readonly string[], io: Io, rules: readonly Rule[]): Promise<number> {
  const { candidates, directive } = await complete(words, io, rules);
  io.stdout.write(candidates.map((c) => `${c}\n`).join('') + `:${directive}\n`);
  return 0;
}

/** The script `completion SHELL` prints. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return BASH;
    case 'zsh':
      return ZSH;
    case 'fish':
      return FISH;
    case 'powershell':
      return POWERSHELL;
    case 'kubectl':
      return KUBECTL_HELPER;
  }
}

/** The `kubectl_complete-doctor` helper shipped in the release archives (and printed by `completion kubectl`). */
export const KUBECTL_HELPER = `#!/bin/sh
# kubectl (>= 1.26) runs kubectl_complete-doctor, found on PATH, to complete \`kubectl doctor <TAB>\`.
# Put this file on PATH next to kubectl-doctor (e.g. in \${KREW_ROOT:-~/.krew}/bin) and make it executable.
exec kubectl-doctor __complete "$@"
`;

/** The Windows form of the helper (kubectl finds .cmd files through PATHEXT). */
export const KUBECTL_HELPER_CMD = `@echo off\r\nrem kubectl runs kubectl_complete-doctor to complete "kubectl doctor <TAB>".\r\nkubectl-doctor.exe __complete %*\r\n`;

const BASH = `# bash completion for kubectl-doctor. Load it with:  source <(kubectl doctor completion bash)
# (\`kubectl doctor <TAB>\` is completed by kubectl's own completion through kubectl_complete-doctor.)
_kubectl_doctor() {
  local line=\${COMP_LINE:0:COMP_POINT} cur out directive
  local -a words lines
  read -r -a words <<< "$line"
  [[ $line =~ [[:space:]]$ ]] && words+=("")
  cur=\${words[\${#words[@]}-1]}
  out=$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null) || return
  mapfile -t lines <<< "$out"
  directive=\${lines[\${#lines[@]}-1]#:}
  unset 'lines[\${#lines[@]}-1]'
  COMPREPLY=()
  local c prefix=""
  # bash splits words at = and :, so a candidate must not repeat what comes before them in the current word.
  [[ $cur == *[=:]* ]] && prefix=\${cur%"\${cur##*[=:]}"}
  for c in "\${lines[@]}"; do
    [[ -n $c ]] && COMPREPLY+=("\${c%%$'\\t'*}")
  done
  COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  (( directive & 2 )) && compopt -o nospace 2>/dev/null
  if (( directive & 16 )); then
    COMPREPLY=($(compgen -d -- "\${cur#"$prefix"}"))
  elif (( \${#COMPREPLY[@]} == 0 && !(directive & 4) )); then
    COMPREPLY=($(compgen -f -- "\${cur#"$prefix"}"))
  fi
}
complete -o default -F _kubectl_doctor kubectl-doctor
`;

const ZSH = `#compdef kubectl-doctor
# zsh completion for kubectl-doctor. Load it with:  source <(kubectl doctor completion zsh)
# (\`kubectl doctor <TAB>\` is completed by kubectl's own completion through kubectl_complete-doctor.)
_kubectl_doctor() {
  local -a words_before lines candidates
  local out directive line
  words_before=("\${(@)words[2,CURRENT-1]}")
  out=$(kubectl-doctor __complete "\${words_before[@]}" "\${words[CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  directive=\${lines[-1]#:}
  lines=("\${(@)lines[1,-2]}")
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    if [[ $line == *$'\\t'* ]]; then
      candidates+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else
      candidates+=("\${line//:/\\\\:}")
    fi
  done
  if (( directive & 16 )); then
    _files -/
  elif (( \${#candidates} > 0 )); then
    if (( directive & 2 )); then _describe 'kubectl-doctor' candidates -S ''; else _describe 'kubectl-doctor' candidates; fi
  elif (( !(directive & 4) )); then
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _kubectl_doctor "$@"; else compdef _kubectl_doctor kubectl-doctor; fi
`;

const FISH = `# fish completion for kubectl-doctor. Load it with:  kubectl doctor completion fish | source
# (\`kubectl doctor <TAB>\` is completed by kubectl's own completion through kubectl_complete-doctor.)
function __kubectl_doctor_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l cur (commandline -ct)
    set -l out (kubectl-doctor __complete $args "$cur" 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories "$cur"
    else if test (count $out) -gt 0
        printf '%s\\n' $out
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path "$cur"
    end
end
complete -c kubectl-doctor -f -a '(__kubectl_doctor_complete)'
`;

// As cobra's PowerShell completion asks the program: __complete with the words before the cursor, an empty word as
// "" (written `"`" before PowerShell 7.2 and under legacy argument passing, which drop a bare ""), and the same
// `:directive` protocol as the other shells.
const POWERSHELL = `# PowerShell completion for kubectl-doctor. Load it with (e.g. in $PROFILE):
#   kubectl-doctor completion powershell | Out-String | Invoke-Expression
# (\`kubectl doctor <TAB>\` is completed by kubectl's own completion through kubectl_complete-doctor.)
Register-ArgumentCompleter -Native -CommandName 'kubectl-doctor', 'kubectl-doctor.exe' -ScriptBlock {
    param($WordToComplete, $CommandAst, $CursorPosition)
    $elements = @($CommandAst.CommandElements | Where-Object { $_.Extent.StartOffset -lt $CursorPosition })
    $program = $elements[0].ToString()
    $quoted = @($elements | Select-Object -Skip 1 | ForEach-Object { "'" + ($_.ToString() -replace "'", "''") + "'" })
    if ($WordToComplete -eq '') {
        if ($PSVersionTable.PSVersion -lt [version]'7.2.0' -or $PSNativeCommandArgumentPassing -eq 'Legacy') {
            $quoted += '\`"\`"'
        } else {
            $quoted += '""'
        }
    }
    $out = @(Invoke-Expression -Command "& '$($program -replace "'", "''")' __complete $($quoted -join ' ') 2>\$null")
    if ($out.Count -eq 0) { return }
    $directive = [int]($out[-1] -replace '^:', '')
    $lines = @($out | Select-Object -SkipLast 1 | Where-Object { $_ -ne '' })
    if (($directive -band 16) -ne 0) {
        return Get-ChildItem -Directory -Path "$WordToComplete*" | ForEach-Object {
            [System.Management.Automation.CompletionResult]::new($_.Name, $_.Name, 'ProviderContainer', $_.Name)
        }
    }
    if ($lines.Count -eq 0) {
        if (($directive -band 4) -eq 0) { return $null }
        return ''
    }
    foreach ($line in $lines) {
        $name, $description = $line -split "\`t", 2
        if (-not $description) { $description = $name }
        $text = $name
        if (($directive -band 2) -eq 0) { $text = "$name " }
        [System.Management.Automation.CompletionResult]::new($text, $name, 'ParameterValue', $description)
    }
}
`;
