// What the bundle the npm launcher and the single binary start from (scripts/bundle.ts, built before the tests)
// leaves out of @kubernetes/client-node: its generated API, which only KubeConfig.makeApiClient() uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUNDLE } from '../../scripts/bundle.ts';

test('the bundle holds client-node KubeConfig without its generated API; the stand-in says so if ever called', () => {
  const code = readFileSync(BUNDLE, 'utf8');
  assert.match(code, /KubeConfig\.makeApiClient is not available in the kubectl-doctor bundle/);
  // Model and API classes of client-node's gen/ (the package's own names, kept as strings in their serializers).
  for (const generated of ['V1PodSpec', 'CoreV1Api', 'V1CustomResourceDefinitionSpec']) {
    assert.equal(code.includes(generated), false, `${generated} is in the bundle`);
  }
});
