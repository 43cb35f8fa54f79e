// Temporary directories for tests, removed when the test file's process exits (node --test runs each file in a
// process of its own), whatever the test did: `npm test` leaves nothing behind in the temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new directory `<tmp>/doctor-<prefix>-XXXXXX`, removed at exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `doctor-${prefix}-`));
  made.push(dir);
  return dir;
}
