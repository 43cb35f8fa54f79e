import { keyOf } from '../kube/object.ts';
import type { Finding } from '../engine/finding.ts';
import type { SourceInfo } from '../cluster/source.ts';
import type { Risk } from '../plan/actions.ts';
import { pinAction, planStop } from './execute.ts';
import { kubectlCommand, shellQuote } from './kubectl-command.ts';

export interface ScriptOptions {
  allow: Risk;
  source: SourceInfo;
  generatedAt: Date;
  /** kubectl flags that select the cluster the scan read (`--context prod`), pinned in the script. */
  kubectlArgs: string[];
}

/**
 * The plans as a bash script a person can review, commit and run. It keeps the preconditions: the first write to
 * an object tests the resourceVersion the scan saw; later writes to the same object test the values they change.
 * Steps `--fix` would not run (above --allow, after a checkpoint) are left in as comments.
 */
export function renderScript(findings: readonly Finding[], options: ScriptOptions): string {
  const out = [
    '#!/usr/bin/env bash',
    `# kubectl doctor remediation plan, generated ${options.generatedAt.toISOString()}`,
    `# from ${options.source.type === 'live' ? `context ${options.source.context || '(in-cluster)'} (${options.source.server})` : `snapshot ${options.source.paths.join(', ')}`}.`,
    `# Review every step before running it. Steps above --allow=${options.allow} or after a checkpoint are commented out.`,
    '# Every write carries a precondition: it fails, and the script stops, if the object changed since the scan.',
    'set -euo pipefail',
    '',
  ];
  if (options.kubectlArgs.length > 0) {
    out.push(`kubectl() { command kubectl ${options.kubectlArgs.map(shellQuote).join(' ')} "$@"; }`, '');
  }
  const written = new Set<string>();
  for (const [n, finding] of findings.entries()) {
    const steps = finding.remediation?.steps ?? [];
    if (steps.length === 0) continue;
    out.push(`# [${n + 1}] ${finding.severity} ${finding.rule} ${finding.object.kind} ${keyOf(finding.object)}`);
    out.push(`# ${finding.message}`);
    const stop = planStop(steps, options.allow);
    for (const [i, step] of steps.entries()) {
      const stopped = stop === undefined || i < stop.index ? undefined
        : stop.kind === 'checkpoint' ? `checkpoint: ${stop.instructions}` : `needs --allow=${stop.risk}`;
      const { action } = step;
      const head = `# step ${i + 1}/${steps.length} (${action.type === 'manual' || action.type === 'checkpoint' ? action.type : `${step.risk}, ${step.reversible ? 'reversible' : 'one-way'}`}): ${step.title}`;
      out.push(head);
      if (action.type === 'manual') {
        out.push(...step.command.split('\n').map((l) => `#   ${l}`));
        continue;
      }
      if (action.type === 'checkpoint') {
        out.push(...action.instructions.split('\n').map((l) => `#   ${l}`));
        continue;
      }
      const key = action.target.uid ?? `${action.target.resource}/${keyOf(action.target)}`;
      const rv = written.has(key) ? undefined : action.target.resourceVersion;
      const lines: string[] = [];
      if (action.type === 'delete') {
        const expect = rv ? `${action.preconditions.uid}/${rv}` : action.preconditions.uid;
        const jsonpath = rv ? '{.metadata.uid}/{.metadata.resourceVersion}' : '{.metadata.uid}';
        const get = kubectlCommand({ ...action, type: 'delete' }).replace(/^kubectl delete /, 'kubectl get ');
        lines.push(`[ "$(${get} -o jsonpath=${shellQuote(jsonpath)})" = ${shellQuote(expect)} ] || { echo ${shellQuote(`${action.target.kind} ${keyOf(action.target)} changed since the scan; stopping`)} >&2; exit 1; }`);
      }
      lines.push(kubectlCommand(pinAction(action, rv)));
      if (stopped) {
        out.push(`#   skipped (${stopped}):`, ...lines.flatMap((l) => l.split('\n')).map((l) => `#   ${l}`));
      } else {
        out.push(...lines);
        written.add(key);
      }
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
