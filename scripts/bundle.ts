// `npm run build`: bundles the CLI into dist/kubectl-doctor.cjs with the release's esbuild settings (scripts/release.ts
// bundle()). The npm launcher (bin/kubectl-doctor) starts from this file, as the single executable starts from the
// same bundle: one load path, one file to read and compile instead of a tree of modules.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, ROOT } from './release.ts';

export const BUNDLE = join(ROOT, 'dist', 'kubectl-doctor.cjs');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  await bundle(BUNDLE, version);
  process.stderr.write(`bundle: ${relative(ROOT, BUNDLE)} (v${version})\n`);
}
