import { main } from '../src/cli/main.ts';

// kubectl passes every argument after the plugin name through unchanged.
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
