import { main } from '../src/cli/main.ts';

// kubectl passes every argument after the plugin name through unchanged.
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin });
// Exit once the output is flushed: a connection attempt that timed out must not hold the process open.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
