import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set by the release bundle (esbuild --define, scripts/release.ts); undeclared when running from src/ or dist/. */
declare const __KUBECTL_DOCTOR_VERSION__: string | undefined;

/** The package version: baked into the release bundle, else read from the nearest package.json above this file. */
export function toolVersion(): string {
  if (typeof __KUBECTL_DOCTOR_VERSION__ === 'string') return __KUBECTL_DOCTOR_VERSION__;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kubectl-doctor' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0-unknown';
}
