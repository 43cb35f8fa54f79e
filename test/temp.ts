// Temporary directories for tests, removed once the test file's tests are done (node:test's after hook) and, should
// that not run, when the file's process exits (node --test runs each file in a process of its own): `npm test`
// leaves nothing behind in the temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const made: string[] = [];
const cleanup = () => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
};
after(cleanup);
process.on('exit', cleanup);

/** A new directory `<tmp>/doctor-<prefix>-XXXXXX`, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `doctor-${prefix}-`));
  made.push(dir);
  return dir;
}
