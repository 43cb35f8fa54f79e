// The composition root: which rules ship is decided here, not in src/ (the engine and the CLI take rules as given).
// No top-level await, so scripts/release.ts bundles this very file into the CommonJS a single executable starts from.
import { main } from '../src/cli/main.ts';
import { capYoungGeneration } from '../src/util/young-generation.ts';
import { allRules } from '../rules/index.ts';

capYoungGeneration();

// Whether the API server's certificate is verified is the kubeconfig's to say (insecure-skip-tls-verify, or the flag),
// as in kubectl, which as a Go program never reads NODE_TLS_REJECT_UNAUTHORIZED. Node reads it at every TLS connect
// (tls.connect's default rejectUnauthorized), and client-node only ever sets that option to false: left in the
// environment, "0" turned verification off for every cluster, sending its credentials and --fix's writes to whoever
// answered.
delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;

// `kubectl doctor | head` closes the pipe before everything is printed. The rest is dropped rather than thrown: an
// unhandled EPIPE would end the process with a stack trace, in the middle of --fix too. The run goes on to its end
// (every write of a fix is recorded as it is made) and exits with its own code, as when all was read.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

// kubectl passes every argument after the plugin name through unchanged. (In a single executable, argv[1] is the
// executable again, so the arguments start at argv[2] there too.)
void main(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    // Node makes stdin's stream when first read (~1 ms): only --fix's prompt and interactive exec plugins use it.
    get stdin() {
      return process.stdin;
    },
  },
  { rules: allRules },
).then((code) => {
  // Exit once the output is flushed: a connection attempt that timed out must not hold the process open.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
