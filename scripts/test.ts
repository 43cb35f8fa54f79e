// `npm test`: checks the Node.js version, type-checks everything, builds dist/ (the CLI the tests run as a
// subprocess), then runs every test file; the global setup starts a real kube-apiserver for the e2e tests.
//   npm test                 everything
//   npm test -- --unit       no API server: unit tests only (fast inner loop)
//   npm test -- FILE...      only these test files (with the API server)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  process.stderr.write(`\n> ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    process.stderr.write(`\nnpm test: ${title} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
process.stderr.write(`node ${process.version} (${process.execPath})\n`);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write('npm test: needs Node.js >= 22.19; run `npm ci` so the `node` devDependency (Node 24) comes first on PATH\n');
  process.exit(1);
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const files = args.filter((a) => !a.startsWith('--'));

run('format check (prettier; `npm run format` fixes it)', bin('prettier'), [
  '--check',
  '--log-level=warn',
  '{cmd,src,rules,test,scripts}/**/*.ts',
  'bin/kubectl-doctor',
]);
run('type-check (tsc -p tsconfig.json)', bin('tsc'), ['-p', 'tsconfig.json']);
run('build dist/kubectl-doctor.cjs (scripts/bundle.ts)', process.execPath, ['scripts/bundle.ts']);

const testArgs = ['--test', '--test-concurrency=2', '--test-reporter=spec'];
if (unitOnly) {
  testArgs.push('test/{cluster,engine,report,rules,cli,fix,plan,util}/**/*.test.ts');
} else {
  testArgs.push('--test-global-setup=test/harness/global-setup.ts', ...(files.length > 0 ? files : ['test/**/*.test.ts']));
}
// Tests clean up after themselves. They run with a temp dir of their own (TMPDIR, sticky and open to all like /tmp,
// since one test reads a dump as another user); whatever is left in it afterwards is a leak, and fails the run.
const testTmp = mkdtempSync(join(tmpdir(), 'doctor-npm-test-'));
chmodSync(testTmp, 0o1777);
process.on('exit', () => rmSync(testTmp, { recursive: true, force: true }));
run(unitOnly ? 'unit tests' : 'tests (unit and end-to-end)', process.execPath, testArgs, { ...process.env, TMPDIR: testTmp });
// node-compile-cache: Node's own module cache (npx starts Node with it on), not a test's.
const leaked = readdirSync(testTmp).filter((e) => e !== 'node-compile-cache');
if (leaked.length > 0) {
  process.stderr.write(
    `\nnpm test: the tests left ${leaked.length} entr${leaked.length === 1 ? 'y' : 'ies'} in the temp dir: ${leaked.slice(0, 10).join(', ')}${leaked.length > 10 ? ', ...' : ''}\n`,
  );
  process.exit(1);
}
