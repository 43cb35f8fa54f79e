// The composition root: which rules ship is decided here, not in src/ (the engine and the CLI take rules as given).
// No top-level await, so scripts/release.ts bundles this very file into the CommonJS a single executable starts from.
import { main } from '../src/cli/main.ts';
import { capYoungGeneration } from '../src/util/young-generation.ts';
import { allRules } from '../rules/index.ts';

capYoungGeneration();

// kubectl passes every argument after the plugin name through unchanged. (In a single executable, argv[1] is the
// executable again, so the arguments start at argv[2] there too.)
void main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin },
  { rules: allRules },
).then((code) => {
  // Exit once the output is flushed: a connection attempt that timed out must not hold the process open.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
