// `kubectl-doctor` with the test rule of labelled-rule.ts instead of the shipped rules, as its own process: what
// bin/kubectl-doctor does, so interactive tests can run it on a real terminal.
import { main } from '../../src/cli/main.ts';
import { labelled } from './labelled-rule.ts';

const code = await main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin },
  { rules: [labelled] },
);
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
