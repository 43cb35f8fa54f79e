// The krew manifest as krew-index takes it: the rules its validate-krew-manifest enforces
// (internal/index/validation/validate.go) and the index bot's, for the checked-in template and the generated ones.
import assert from 'node:assert/strict';
import semver from 'semver';

export interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
  files: { from: string; to: string }[];
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { version: string; homepage: string; shortDescription: string; description: string; caveats?: string; platforms: Platform[] };
}

/** The os/arch pairs krew-index accepts. */
export const SUPPORTED = new Set([
  'windows/386',
  'windows/amd64',
  'windows/arm64',
  'linux/386',
  'linux/amd64',
  'linux/arm',
  'linux/arm64',
  'linux/ppc64le',
  'darwin/386',
  'darwin/amd64',
  'darwin/arm64',
]);

/** Asserts the krew-index rules; `uri` is what every platform's URI must look like in this manifest. */
export function assertKrewIndexRules(m: Manifest, uri: RegExp): void {
  assert.equal(m.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
  assert.equal(m.kind, 'Plugin');
  assert.match(m.metadata.name, /^[\w-]+$/);
  assert.match(m.spec.version, /^v/);
  assert.ok(semver.valid(m.spec.version), 'semver version');
  assert.ok(m.spec.shortDescription.length <= 50, 'shortDescription <= 50 characters');
  assert.doesNotMatch(m.spec.shortDescription, /[\r\n]/);
  for (const line of m.spec.description.split('\n')) assert.ok(line.length <= 80, `description wraps at 80: ${line}`);
  const seen = new Set<string>();
  for (const p of m.spec.platforms) {
    const labels = p.selector.matchLabels ?? {};
    assert.deepEqual(Object.keys(labels).sort(), ['arch', 'os'], 'selectors use only os and arch');
    const key = `${labels.os}/${labels.arch}`;
    assert.ok(SUPPORTED.has(key), `supported platform ${key}`);
    assert.ok(!seen.has(key), `no overlapping selectors (${key})`);
    seen.add(key);
    assert.match(p.sha256, /^[a-f0-9]{64}$/);
    assert.match(p.uri, uri);
    if (labels.os === 'windows') assert.match(p.bin, /\.exe$/);
    assert.ok(p.files && p.files.length > 0 && p.files.every((f) => f.from && f.to));
    assert.ok(
      p.files.some((f) => f.from === 'LICENSE'),
      'LICENSE in every archive',
    );
    assert.ok(
      p.files.some((f) => f.from === p.bin),
      'the binary is extracted',
    );
  }
}
