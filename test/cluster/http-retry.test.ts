// ApiClient against a scripted HTTP server: reads are retried on 429/5xx (Retry-After honoured) and on a reset
// connection, within --request-timeout; writes never are. Gzipped answers are decoded, and bounded in what they inflate to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ApiClient,
  MAX_READ_RETRIES,
  MAX_UNASKED_RETRIES,
  parseRetryAfter,
  retryDelay,
  type ApiClientOptions,
} from '../../src/cluster/http.ts';
import { ClusterError, DoctorError } from '../../src/errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function withServer(
  handler: Handler,
  timeoutMs: number,
  fn: (client: ApiClient, count: () => number) => Promise<void>,
  options: Omit<ApiClientOptions, 'timeoutMs'> = {},
) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    handler(req, res, n++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new ApiClient(kc, url, { timeoutMs, ...options });
  try {
    await fn(client, () => n);
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

test('a GET answered 429 with Retry-After waits that long and retries', async () => {
  await withServer(
    (_req, res, n) =>
      n === 0
        ? json(res, 429, { kind: 'Status', code: 429, reason: 'TooManyRequests' }, { 'Retry-After': '1' })
        : json(res, 200, { kind: 'ConfigMapList', items: [] }),
    10_000,
    async (client, count) => {
      const started = Date.now();
      const res = await client.request('GET', '/api/v1/configmaps');
      assert.equal(res.status, 200);
      assert.equal(count(), 2);
      assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started}ms for Retry-After: 1`);
    },
  );
});

test('a GET answered 500/502/503/504 without Retry-After is retried with backoff; 404 and 403 are not', async () => {
  for (const status of [500, 502, 503, 504]) {
    await withServer(
      (_req, res, n) => (n < 2 ? json(res, status, { code: status }) : json(res, 200, { ok: true })),
      10_000,
      async (client, count) => {
        assert.equal((await client.request('GET', '/api')).status, 200, `after ${status}`);
        assert.equal(count(), 3);
      },
    );
  }
  for (const status of [403, 404]) {
    await withServer(
      (_req, res) => json(res, status, { code: status }),
      10_000,
      async (client, count) => {
        assert.equal((await client.request('GET', '/api')).status, status);
        assert.equal(count(), 1);
      },
    );
  }
});

test('retries are bounded in number: a server that keeps answering 503 gets its answer back', async () => {
  await withServer(
    (_req, res) => json(res, 503, { code: 503 }, { 'Retry-After': '0' }),
    0,
    async (client, count) => {
      assert.equal((await client.request('GET', '/api')).status, 503);
      assert.equal(count(), MAX_READ_RETRIES + 1);
    },
  );
  // Without Retry-After (an aggregated API with no backend answers every request so), fewer and quicker.
  await withServer(
    (_req, res) => json(res, 503, { code: 503 }),
    0,
    async (client, count) => {
      assert.equal((await client.request('GET', '/api')).status, 503);
      assert.equal(count(), MAX_UNASKED_RETRIES + 1);
    },
  );
});

test('retries stay within --request-timeout: a Retry-After past the deadline is not waited for', async () => {
  await withServer(
    (_req, res) => json(res, 429, { code: 429 }, { 'Retry-After': '5' }),
    2_000,
    async (client, count) => {
      const started = Date.now();
      assert.equal((await client.request('GET', '/api')).status, 429);
      assert.equal(count(), 1);
      assert.ok(Date.now() - started < 1_500);
    },
  );
});

test('writes are never retried: PATCH, PUT and DELETE get the 503 back after one request', async () => {
  for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
    await withServer(
      (_req, res) => json(res, 503, { code: 503 }, { 'Retry-After': '0' }),
      10_000,
      async (client, count) => {
        assert.equal((await client.request(method, '/api/v1/namespaces/a/configmaps/b', { body: {} })).status, 503);
        assert.equal(count(), 1, method);
      },
    );
  }
});

test('a GET whose connection is reset is retried; a write whose connection is reset is an error, not retried', async () => {
  await withServer(
    (req, res, n) => (n === 0 ? req.socket.destroy() : json(res, 200, { ok: true })),
    10_000,
    async (client, count) => {
      assert.equal((await client.request('GET', '/api')).status, 200);
      assert.equal(count(), 2);
    },
  );
  await withServer(
    (req) => req.socket.destroy(),
    10_000,
    async (client, count) => {
      await assert.rejects(
        client.request('PATCH', '/api/v1/namespaces/a/configmaps/b', { body: {} }),
        (err: unknown) => err instanceof DoctorError && /connection reset|other side closed|socket/i.test(err.message),
      );
      assert.equal(count(), 1);
    },
  );
});

test('Retry-After: seconds or an HTTP date, capped; backoff grows and has jitter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  const throttled = (retryAfter?: string) => ({
    res: { status: 429, body: undefined, text: '', bytes: Buffer.alloc(0), release() {} },
    retryAfter,
  });
  assert.equal(retryDelay(throttled('3600'), 0, Infinity, now), 10_000, 'an hour is capped');
  const first = retryDelay(throttled(), 0, Infinity, now)!;
  const third = retryDelay({ err: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }, 2, Infinity, now)!;
  assert.ok(first >= 125 && first <= 250, `first ${first}`);
  assert.ok(third >= 500 && third <= 1000, `third ${third}`);
  assert.equal(retryDelay(throttled(), MAX_UNASKED_RETRIES, Infinity, now), undefined);
  assert.equal(retryDelay(throttled('1'), MAX_READ_RETRIES, Infinity, now), undefined);
  assert.equal(
    retryDelay({ err: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }, 0, Infinity, now),
    undefined,
    'refused is not transient',
  );
});

test('a pause mid-body fails within --request-timeout, and is waited out with --request-timeout 0', async () => {
  const slow: Handler = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"items":');
    setTimeout(() => res.end('[]}'), 1_500);
  };
  await withServer(slow, 0, async (client) => {
    assert.equal((await client.request('GET', '/api')).status, 200);
  });
  await withServer(slow, 1_000, async (client) => {
    await assert.rejects(client.request('GET', '/api'), /no answer within --request-timeout 1s/);
  });
});

test('answers are asked for gzipped and decoded as they stream in; one that breaks off is retried like a reset', async () => {
  const list = {
    kind: 'ConfigMapList',
    items: Array.from({ length: 2000 }, (_, i) => ({ metadata: { name: `cm-${i}`, labels: { é: 'ü' } } })),
  };
  const gzipped = gzipSync(Buffer.from(JSON.stringify(list), 'utf8'));
  const seen: (string | undefined)[] = [];
  await withServer(
    (req, res, n) => {
      seen.push(req.headers['accept-encoding']);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(gzipped.length) });
      // The first answer breaks off halfway; the second comes in small pieces, split inside multi-byte characters.
      if (n === 0) res.write(gzipped.subarray(0, gzipped.length >> 1), () => res.socket?.destroy());
      else {
        for (let at = 0; at < gzipped.length; at += 7) res.write(gzipped.subarray(at, at + 7));
        res.end();
      }
    },
    10_000,
    async (client, count) => {
      const res = await client.request('GET', '/api/v1/configmaps');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, list);
      assert.equal(count(), 2);
      assert.deepEqual(seen, ['gzip', 'gzip']);
    },
  );
});

test('-vv: the line of each request says whether its answer came gzipped, and its size on the wire and inflated', async () => {
  // As kube-apiserver: gzipped only when the request asks for it. Multi-byte characters: sizes are bytes, not characters.
  const plain = Buffer.from(
    JSON.stringify({ kind: 'ConfigMapList', items: [{ metadata: { name: 'cm', labels: { é: 'ü'.repeat(500) } } }] }),
  );
  const gzipped = gzipSync(plain);
  for (const disableCompression of [false, true]) {
    const lines: string[] = [];
    await withServer(
      (req, res) => {
        const zip = req.headers['accept-encoding'] === 'gzip';
        res.writeHead(200, { 'Content-Type': 'application/json', ...(zip ? { 'Content-Encoding': 'gzip' } : {}) });
        res.end(zip ? gzipped : plain);
      },
      10_000,
      async (client) => {
        await client.request('GET', '/api/v1/configmaps', { query: { limit: '500' } });
      },
      { disableCompression, debug: (m) => lines.push(m) },
    );
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      disableCompression
        ? new RegExp(`^GET /api/v1/configmaps\\?limit=500 200 \\d+ms, uncompressed: ${plain.length} bytes$`)
        : new RegExp(
            `^GET /api/v1/configmaps\\?limit=500 200 \\d+ms, gzip: ${gzipped.length} bytes on the wire, ${plain.length} inflated$`,
          ),
    );
  }
});

test("a byte order mark before an answer is skipped, gzipped or not, as undici's body.text() skips it", async () => {
  const json = { kind: 'ConfigMapList', items: [{ metadata: { name: 'é' } }] };
  const withMark = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(json))]);
  for (const disableCompression of [false, true]) {
    await withServer(
      (req, res) => {
        const zip = req.headers['accept-encoding'] === 'gzip';
        res.writeHead(200, { 'Content-Type': 'application/json', ...(zip ? { 'Content-Encoding': 'gzip' } : {}) });
        res.end(zip ? gzipSync(withMark) : withMark);
      },
      10_000,
      async (client) => {
        const res = await client.request('GET', '/api/v1/configmaps');
        assert.deepEqual(res.body, json);
        assert.equal(res.text, JSON.stringify(json));
        assert.deepEqual(res.bytes, Buffer.from(JSON.stringify(json)));
      },
      { disableCompression },
    );
  }
});

/** A gzipped JSON answer of exactly `bytes` bytes once inflated: `{}` after spaces, which JSON allows. */
const paddedJson = (bytes: number) => gzipSync(Buffer.from(' '.repeat(bytes - 2) + '{}'));

test('a gzipped answer may inflate to the bound and no further: past it, one line naming the request, not retried', async () => {
  const limit = 2 ** 20;
  for (const [bytes, fits] of [
    [limit, true],
    [limit + 1, false],
    [64 * limit, false],
  ] as const) {
    const gzipped = paddedJson(bytes);
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
        res.end(gzipped);
      },
      10_000,
      async (client, count) => {
        const answer = client.request('GET', '/api/v1/configmaps', { query: { limit: '500' } });
        if (fits) {
          assert.deepEqual((await answer).body, {});
        } else {
          await assert.rejects(answer, (err: unknown) => {
            assert.ok(err instanceof ClusterError);
            assert.equal(
              err.message,
              "GET /api/v1/configmaps?limit=500: the API server's gzipped answer inflates past 1 MiB, the most one answer may be; if a page of objects really is that large, lower --chunk-size, otherwise check the server and what is in front of it",
            );
            return true;
          });
        }
        assert.equal(count(), 1, `${bytes} bytes`);
      },
      { maxInflatedBytes: limit },
    );
  }
});
