// LiveSource against a scripted HTTP server, for what a real API server will not do on demand: expire a continue
// token (410), refuse metadata-only lists (406, as some aggregated API servers do), or answer 401.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/cluster/http.ts';
import { LiveSource } from '../../src/cluster/live.ts';
import { DoctorError } from '../../src/errors.ts';

type Handler = (req: IncomingMessage, url: URL) => { status: number; body: unknown } | { status: number; text: string };

async function withServer(handler: Handler, fn: (source: LiveSource, requests: string[]) => Promise<void>) {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search} accept=${req.headers.accept}`);
    const answer = handler(req, url);
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end('text' in answer ? answer.text : JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new ApiClient(kc, `http://127.0.0.1:${port}`, { timeoutMs: 5000 });
  const source = new LiveSource(client, {
    info: { type: 'live', context: 'x', cluster: 'c', user: 'u', server: '' },
    chunkSize: 2,
    concurrency: 2,
  });
  try {
    await fn(source, requests);
  } finally {
    await client.close();
    server.close();
  }
}

const aggregated = (groups: unknown[]) => ({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', items: groups });
const coreGroup = {
  metadata: { name: '' },
  versions: [
    {
      version: 'v1',
      resources: [{ resource: 'configmaps', responseKind: { kind: 'ConfigMap' }, scope: 'Namespaced', verbs: ['list', 'get'] }],
    },
  ],
};
const widgets = {
  metadata: { name: 'example.com' },
  versions: [{ version: 'v1', resources: [{ resource: 'widgets', responseKind: { kind: 'Widget' }, scope: 'Cluster', verbs: ['list'] }] }],
};
const stale = { metadata: { name: 'metrics.k8s.io' }, versions: [{ version: 'v1beta1', freshness: 'Stale' }] };
const cm = (name: string) => ({ metadata: { name, namespace: 'a', managedFields: [] }, data: { secretish: 'x' } });

function discovery(url: URL): { status: number; body: unknown } | undefined {
  if (url.pathname === '/api') return { status: 200, body: aggregated([coreGroup]) };
  if (url.pathname === '/apis') return { status: 200, body: aggregated([widgets, stale]) };
  return undefined;
}

test('aggregated discovery: preferred types, and Stale group-versions reported as failures', async () => {
  await withServer(
    (_req, url) => discovery(url) ?? { status: 404, body: {} },
    async (source) => {
      const d = await source.discover();
      assert.deepEqual(
        d.types.map((t) => `${t.resource}.${t.group}/${t.version}:${t.namespaced}`),
        ['configmaps./v1:true', 'widgets.example.com/v1:false'],
      );
      assert.deepEqual(d.failures, [
        { groupVersion: 'metrics.k8s.io/v1beta1', reason: 'stale GroupVersion discovery: metrics.k8s.io/v1beta1' },
      ]);
    },
  );
});

test('an expired continue token (410) restarts the list from the first page; items are not duplicated', async () => {
  let expired = false;
  await withServer(
    (_req, url) => {
      const d = discovery(url);
      if (d) return d;
      const token = url.searchParams.get('continue');
      if (!token) return { status: 200, body: { kind: 'ConfigMapList', metadata: { continue: 'page2' }, items: [cm('a'), cm('b')] } };
      if (!expired) {
        expired = true;
        return {
          status: 410,
          body: { kind: 'Status', reason: 'Expired', code: 410, message: 'The provided continue parameter is too old' },
        };
      }
      return { status: 200, body: { kind: 'ConfigMapList', metadata: {}, items: [cm('c')] } };
    },
    async (source, requests) => {
      const type = (await source.discover()).find('configmaps')!;
      const outcome = await source.list({ type, metadataOnly: false, namespace: 'a' });
      assert.ok(outcome.ok);
      assert.deepEqual(
        outcome.items.map((i) => i.metadata.name),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(
        outcome.items.map((i) => `${i.apiVersion}/${i.kind}`),
        ['v1/ConfigMap', 'v1/ConfigMap', 'v1/ConfigMap'],
      );
      assert.equal(source.stats().listRestarts, 1);
      assert.deepEqual(
        requests.filter((r) => r.includes('configmaps')).map((r) => r.split(' ')[1]),
        [
          '/api/v1/namespaces/a/configmaps?limit=2',
          '/api/v1/namespaces/a/configmaps?limit=2&continue=page2',
          '/api/v1/namespaces/a/configmaps?limit=2',
          '/api/v1/namespaces/a/configmaps?limit=2&continue=page2',
        ],
      );
    },
  );
});

test('metadata-only lists ask for PartialObjectMetadataList; a 406 falls back to a full list, still handed out as metadata', async () => {
  await withServer(
    (req, url) => {
      const d = discovery(url);
      if (d) return d;
      if (String(req.headers.accept).startsWith('application/json;as=PartialObjectMetadataList'))
        return { status: 406, body: { kind: 'Status', code: 406 } };
      return { status: 200, body: { kind: 'WidgetList', metadata: {}, items: [{ metadata: { name: 'w' }, spec: { big: true } }] } };
    },
    async (source, requests) => {
      const type = (await source.discover()).find('widgets.example.com')!;
      const outcome = await source.list({ type, metadataOnly: true });
      assert.ok(outcome.ok);
      assert.deepEqual(outcome.items, [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
      assert.match(
        requests.find((r) => r.includes('widgets'))!,
        /accept=application\/json;as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1,application\/json$/,
      );
    },
  );
});

test('403 is a forbidden outcome naming the resource and namespace; 401 stops the scan with a one-line error', async () => {
  await withServer(
    (_req, url) => discovery(url) ?? { status: url.pathname.includes('widgets') ? 401 : 403, body: { kind: 'Status', message: 'nope' } },
    async (source) => {
      const d = await source.discover();
      const forbidden = await source.list({ type: d.find('configmaps')!, metadataOnly: true, namespace: 'a' });
      assert.deepEqual(forbidden, { ok: false, failure: 'forbidden', reason: 'forbidden: list configmaps in namespace a' });
      await assert.rejects(
        source.list({ type: d.find('widgets.example.com')!, metadataOnly: true }),
        (err: unknown) =>
          err instanceof DoctorError && err.exitCode === 2 && /401 Unauthorized/.test(err.message) && !err.message.includes('\n'),
      );
    },
  );
});

test('servers without aggregated discovery: legacy discovery, one request per group-version, preferred first', async () => {
  await withServer(
    (_req, url) => {
      switch (url.pathname) {
        case '/api':
          return { status: 200, body: { kind: 'APIVersions', versions: ['v1'] } };
        case '/apis':
          return {
            status: 200,
            body: {
              kind: 'APIGroupList',
              groups: [{ name: 'example.com', versions: [{ version: 'v1beta1' }, { version: 'v1' }], preferredVersion: { version: 'v1' } }],
            },
          };
        case '/api/v1':
          return {
            status: 200,
            body: {
              resources: [
                { name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list'] },
                { name: 'pods/log', kind: 'Pod', namespaced: true },
              ],
            },
          };
        case '/apis/example.com/v1':
          return { status: 200, body: { resources: [{ name: 'widgets', kind: 'Widget', namespaced: false, verbs: ['list'] }] } };
        case '/apis/example.com/v1beta1':
          return { status: 503, body: { message: 'service unavailable' } };
        default:
          return { status: 404, body: {} };
      }
    },
    async (source) => {
      const d = await source.discover();
      assert.deepEqual(
        d.types.map((t) => `${t.resource}/${t.version}`),
        ['configmaps/v1', 'widgets/v1'],
      );
      assert.deepEqual(d.failures, [{ groupVersion: 'example.com/v1beta1', reason: '503 service unavailable' }]);
    },
  );
});

test('a list answered 200 with something other than a list is an error outcome naming the resource, not a crash', async () => {
  await withServer(
    (_req, url) => discovery(url) ?? { status: 200, body: '<html>login</html>' },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      const outcome = await source.list({ type, metadataOnly: false });
      assert.deepEqual(outcome, {
        ok: false,
        failure: 'error',
        reason: 'list configmaps: the API server answered 200 with JSON that is not a list (starts "\\"<html>login</html>\\"")',
      });
    },
  );
});

test('a list without items (an empty PartialObjectMetadataList) is an empty list', async () => {
  await withServer(
    (_req, url) =>
      discovery(url) ?? { status: 200, body: { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: {} } },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      assert.deepEqual(await source.list({ type, metadataOnly: true }), { ok: true, items: [], pages: 1 });
    },
  );
});

test('list items of the wrong shape are skipped and reported; the others are listed', async () => {
  await withServer(
    (_req, url) =>
      discovery(url) ?? {
        status: 200,
        body: {
          kind: 'ConfigMapList',
          metadata: {},
          items: [
            cm('good'),
            { metadata: { name: 'bad', namespace: 'a', labels: 'app=web' } },
            { metadata: { name: 'deep', namespace: 'a' }, data: JSON.parse(`${'['.repeat(300)}${']'.repeat(300)}`) },
            'text',
          ],
        },
      },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      const outcome = await source.list({ type, metadataOnly: false });
      assert.ok(outcome.ok);
      assert.deepEqual(
        outcome.items.map((i) => i.metadata.name),
        ['good'],
      );
      assert.deepEqual(outcome.skipped, [
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'bad', reason: 'metadata.labels is not a map of strings' },
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'deep', reason: 'nested deeper than 200 levels' },
        { apiVersion: 'v1', kind: 'ConfigMap', reason: 'a list item that is not an object' },
      ]);
      // Only what is kept is walked to its depth: an object the scan does not keep is counted, never a gap.
      const dropped = await source.list({ type, metadataOnly: false, keep: (o) => (o.metadata.name === 'good' ? o : undefined) });
      assert.ok(dropped.ok);
      assert.deepEqual(
        dropped.items.map((i) => i.metadata.name),
        ['good'],
      );
      assert.equal(dropped.count, 2);
      assert.deepEqual(
        dropped.skipped?.map((s) => s.name),
        ['bad', undefined],
      );
    },
  );
});

test('the next page is asked for before the page before it is read, and after the last page nothing more', async () => {
  const metadataPage = (names: string[], token?: string) => ({
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: token ? { continue: token } : {},
    items: names.map((name) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name, namespace: 'a' } })),
  });
  await withServer(
    (_req, url) => {
      const d = discovery(url);
      if (d) return d;
      const token = url.searchParams.get('continue');
      return { status: 200, body: token === null ? metadataPage(['a', 'b'], 'page2') : metadataPage(['c']) };
    },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      for (const keepNeedles of [undefined, () => ['"name":"']]) {
        const before = source.stats().listRequests!;
        const sentWhenKept: Record<string, number> = {};
        const outcome = await source.list({
          type,
          metadataOnly: true,
          ...(keepNeedles ? { keepNeedles } : {}),
          keep: (o) => {
            sentWhenKept[String(o.metadata.name)] = source.stats().listRequests! - before;
            return o;
          },
        });
        assert.ok(outcome.ok);
        // Both requests were sent when the first page's objects were read; the last page asked for nothing more.
        assert.deepEqual(sentWhenKept, { a: 2, b: 2, c: 2 }, keepNeedles ? 'page read by its text' : 'page parsed whole');
        assert.equal(source.stats().listRequests! - before, 2);
      }
    },
  );
});

test('a page asked for early that fails takes the list with it, as one that was asked for late', async () => {
  const head = '{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"continue":"page2"},"items":[';
  const object = (name: string) => `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"${name}"}}`;
  await withServer(
    (_req, url) => {
      const d = discovery(url);
      if (d) return d;
      const token = url.searchParams.get('continue');
      if (token === null) return { status: 200, text: `${head}${object('a')},${object('b')}]}` };
      return { status: 403, body: { kind: 'Status', code: 403, reason: 'Forbidden', message: 'configmaps is forbidden' } };
    },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      const outcome = await source.list({ type, metadataOnly: true, keepNeedles: () => ['"a"'] });
      assert.equal(outcome.ok, false);
      assert.equal(!outcome.ok && outcome.failure, 'forbidden');
    },
  );
  // The first page's list part is in kube-apiserver's form but its objects are not JSON: the list fails on it, and the
  // page asked for meanwhile is dropped, not left to reject unheard.
  await withServer(
    (_req, url) => {
      const d = discovery(url);
      if (d) return d;
      return { status: 200, text: `${head}${object('a').replace('}}', '}')},${object('b')}]}` };
    },
    async (source) => {
      const type = (await source.discover()).find('configmaps')!;
      const outcome = await source.list({ type, metadataOnly: true, keepNeedles: () => ['"a"'] });
      assert.equal(outcome.ok, false);
      assert.match(!outcome.ok ? outcome.reason : '', /^list configmaps: the API server answered 200 with a body that is not JSON/);
    },
  );
});

test('discovery answered 200 with a body that is not JSON stops the scan with one line', async () => {
  await withServer(
    () => ({ status: 200, body: undefined }),
    async (source) => {
      await assert.rejects(
        source.discover(),
        (err: unknown) =>
          err instanceof DoctorError &&
          /^discovery failed: GET \/api answered 200 with a body that is not JSON \(empty\); is --server the API server\?$/.test(
            err.message,
          ),
      );
    },
  );
});
