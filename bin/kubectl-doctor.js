#!/usr/bin/env node
// Launcher: check the Node.js version before loading anything that needs a newer one.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: kubectl-doctor needs Node.js >= 22.19 (this is ${process.version}); install a newer Node.js or use a release binary\n`,
  );
  process.exit(2);
}
await import('../dist/cmd/kubectl-doctor.js');
