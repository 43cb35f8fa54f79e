import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';
import type { Rule } from '../../src/engine/rule.ts';
import { allRules } from '../../rules/index.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'kubectl-doctor');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI exactly as a user does (`kubectl-doctor ARGS`), with a clean environment. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', ...options.env },
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** Runs a command to its end, collecting its output; killed after `timeoutMs` (default 120 s). */
export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The formats our schemas and SARIF's use, checked rather than ignored with a warning: RFC 3339 times, URIs. */
export const SCHEMA_FORMATS = {
  'date-time': (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
  uri: (s: string) => URL.canParse(s),
  // A URI or a relative reference (SARIF's artifact locations): anything that resolves against a base.
  'uri-reference': (s: string) => URL.canParse(s, 'file:///'),
};

const ajv = new Ajv2020({ allErrors: true, strict: false, formats: SCHEMA_FORMATS });
const validateReport = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')));

// Its items are Reports: `$ref: report.schema.json` resolves against the Report schema compiled above (its $id).
const validateReportList = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'report-list.schema.json'), 'utf8')));

/** Throws with the schema errors when `doc` does not validate against schema/report-list.schema.json. */
export function assertValidReportList(doc: unknown): void {
  if (!validateReportList(doc)) {
    throw new Error(`report list does not match schema/report-list.schema.json: ${ajv.errorsText(validateReportList.errors)}`);
  }
}

const validateRuleList = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'rule-list.schema.json'), 'utf8')));

/** Throws with the schema errors when `doc` does not validate against schema/rule-list.schema.json. */
export function assertValidRuleList(doc: unknown): void {
  if (!validateRuleList(doc)) {
    throw new Error(`rule list does not match schema/rule-list.schema.json: ${ajv.errorsText(validateRuleList.errors)}`);
  }
}

/** Throws with the schema errors when `report` does not validate against schema/report.schema.json. */
export function assertValidReport(report: unknown): void {
  if (!validateReport(report)) {
    throw new Error(`report does not match schema/report.schema.json: ${ajv.errorsText(validateReport.errors)}`);
  }
}

/**
 * Runs the CLI in-process (main()) with `rules` (the shipped ones by default), collecting what it writes. With
 * `terminal`, stdout is a terminal that many columns wide (as process.stdout on a TTY says), else a pipe. `env` is
 * all the environment it sees (none by default).
 */
export async function runMain(
  args: string[],
  rules: readonly Rule[] = allRules,
  options: { terminal?: { columns: number }; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    args,
    {
      stdout: {
        write: (t: string) => {
          stdout += t;
        },
        ...(options.terminal ? { isTTY: true, columns: options.terminal.columns } : {}),
      },
      stderr: {
        write: (t: string) => {
          stderr += t;
        },
      },
      env: options.env ?? {},
    },
    { rules },
  );
  return { code, stdout, stderr };
}
