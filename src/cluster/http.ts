import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { constants } from 'node:buffer';
import type { AgentOptions } from 'node:https';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { constants as zlibConstants, gunzip } from 'node:zlib';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { ClusterError } from '../errors.ts';
import { oneLine, type ApiResponse } from './api-response.ts';
import type { ApiProxy } from './env-proxy.ts';
import { warningTexts } from './warnings.ts';

export { oneLine, statusMessage, type ApiResponse } from './api-response.ts';

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  accept?: string;
  body?: unknown;
  contentType?: string;
}

export interface ApiClientOptions {
  /** Per request, as kubectl's --request-timeout; 0 means none. */
  timeoutMs: number;
  impersonate?: { user?: string; groups: string[] } | undefined;
  /** Do not ask for compressed answers (client-go's rest.Config DisableCompression: no Accept-Encoding). */
  disableCompression?: boolean | undefined;
  /** The most a gzipped answer may inflate to (default MAX_INFLATED_BYTES). */
  maxInflatedBytes?: number | undefined;
  debug?: ((message: string) => void) | undefined;
  /**
   * Told the text of each warning the API server answers with (Warning: 299 headers, warnings.ts), as it comes, and
   * the request it came with.
   */
  warning?: ((text: string, request: { method: string; path: string }) => void) | undefined;
  /** The proxy the kubeconfig or the environment routes requests through (kubeconfig.ts LoadedKubeConfig.proxy). */
  proxy?: ApiProxy | undefined;
}

/**
 * The one place that talks HTTP to the API server. Authentication (tokens, client certificates, exec plugins,
 * proxies) comes from client-node; the connection pool is shared by every request of a run, and repeated
 * headers (several --as-group) are sent as separate header lines, which fetch() cannot do.
 */
export class ApiClient {
  readonly server: string;
  readonly #kubeConfig: KubeConfig;
  readonly #options: ApiClientOptions;
  #dispatcher: Dispatcher | undefined;
  /** Made once: a scan's first requests (discovery's two) authenticate at once, and must share one connection pool. */
  #dispatcherMade: Promise<Dispatcher> | undefined;
  #staticHeaders: Record<string, string> | undefined;
  #requests = 0;

  constructor(kubeConfig: KubeConfig, server: string, options: ApiClientOptions) {
    this.#kubeConfig = kubeConfig;
    this.server = server.replace(/\/+$/, '');
    this.#options = options;
  }

  get requestCount(): number {
    return this.#requests;
  }

  async request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);

    const headers = this.#staticHeaders ?? (await this.#authenticate(url));

    const flat: string[] = [];
    // Impersonation is ours alone: client-node also sets Impersonate-User, and a second line would send the
    // user twice (the API server then knows no such user).
    for (const [k, v] of Object.entries(headers)) if (!/^impersonate-/i.test(k)) flat.push(k, v);
    flat.push('Accept', options.accept ?? 'application/json', 'User-Agent', 'kubectl-doctor');
    // As client-go (Go's transport asks for gzip unless DisableCompression): kube-apiserver compresses answers over
    // 128 KiB (APIResponseCompression), lists mostly, to about a sixth, which a remote cluster's link feels most. On a
    // fast link that costs CPU on both ends for nothing, hence kubectl's opt-out (kubernetes/kubernetes#112296).
    if (!this.#options.disableCompression) flat.push('Accept-Encoding', 'gzip');
    if (this.#options.impersonate?.user) flat.push('Impersonate-User', this.#options.impersonate.user);
    for (const g of this.#options.impersonate?.groups ?? []) flat.push('Impersonate-Group', g);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      flat.push('Content-Type', options.contentType ?? 'application/json');
    }

    // Only reads are retried: a write whose answer was lost may have landed, and only the caller can tell.
    const deadline = this.#options.timeoutMs > 0 ? Date.now() + this.#options.timeoutMs : Infinity;
    for (let attempt = 0; ; attempt++) {
      let outcome: { res: ApiResponse; retryAfter: string | undefined } | { err: unknown };
      try {
        outcome = await this.#send(method, url, flat, body, deadline);
      } catch (err) {
        outcome = { err };
      }
      const wait = method === 'GET' ? retryDelay(outcome, attempt, deadline) : undefined;
      if (wait === undefined) {
        if ('err' in outcome && outcome.err instanceof InflatedTooLarge) {
          throw new ClusterError(`${method} ${url.pathname}${url.search}: ${outcome.err.message}`, 'error');
        }
        if ('err' in outcome) {
          const proxy = this.#options.proxy;
          const through = proxy
            ? ` through the proxy ${proxy.url} (${proxy.from === 'proxy-url' ? "the cluster's proxy-url" : proxy.from})`
            : '';
          throw new ClusterError(
            `cannot reach the API server at ${this.server}${through}: ${describeNetworkError(outcome.err, this.#options.timeoutMs)}`,
            'unreachable',
            proxy && proxy.from !== 'proxy-url'
              ? `check the proxy, or list the server's host in NO_PROXY to connect directly; check --server/--context and that the cluster is up`
              : 'check --server/--context and that the cluster is up',
          );
        }
        return outcome.res;
      }
      this.#options.debug?.(
        `${method} ${url.pathname}${url.search}: ${'err' in outcome ? describeNetworkError(outcome.err, this.#options.timeoutMs) : outcome.res.status}, retry ${attempt + 1} in ${wait}ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async #send(
    method: string,
    url: URL,
    headers: string[],
    body: string | undefined,
    deadline: number,
  ): Promise<{ res: ApiResponse; retryAfter: string | undefined }> {
    this.#requests++;
    const started = Date.now();
    const timeout = deadline === Infinity ? 0 : Math.max(1, deadline - started);
    // headersTimeout/bodyTimeout 0 turn undici's 300 s defaults off: --request-timeout 0 means no limit.
    const exchange = this.#dispatcher!.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      body: body ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    }).then(async (res) => ({
      statusCode: res.statusCode,
      headers: res.headers,
      body: await bodyBytes(res.body, res.headers['content-encoding'], this.#options.maxInflatedBytes ?? MAX_INFLATED_BYTES),
    }));
    // undici's own timeouts and abort signals do not cover the TLS handshake, so the deadline is ours.
    const res = timeout > 0 ? await withDeadline(exchange, timeout) : await exchange;
    this.#options.debug?.(`${method} ${url.pathname}${url.search} ${res.statusCode} ${Date.now() - started}ms, ${describeBody(res.body)}`);
    const warning = this.#options.warning;
    if (warning) for (const text of warningTexts(res.headers['warning'])) warning(text, { method, path: url.pathname });
    const retryAfter = res.headers['retry-after'];
    return { res: answer(res.statusCode, res.body), retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter };
  }

  /**
   * The credential headers of a request, from client-node. It re-reads the CA and makes a dispatcher it throws away
   * on every call, so the headers of a user whose credential cannot change during the run (a token, a client
   * certificate, a password: no exec plugin or auth provider, which renew theirs) are kept from the first request.
   */
  async #authenticate(url: URL): Promise<Record<string, string>> {
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    let headers: Record<string, string>;
    try {
      await this.#kubeConfig.applySecurityAuthentication(ctx);
      headers = ctx.getHeaders();
    } catch (err) {
      throw new ClusterError(`cannot authenticate to ${this.server}: ${oneLine(err)}`, 'unauthorized');
    }
    this.#dispatcherMade ??= this.#makeDispatcher(ctx.getDispatcher() as Dispatcher | undefined);
    this.#dispatcher = await this.#dispatcherMade;
    const user = this.#kubeConfig.getCurrentUser();
    if (user && !user.exec && !user.authProvider) this.#staticHeaders = headers;
    return headers;
  }

  /**
   * The dispatcher client-node would make (createDispatcherOptions: TLS options, keep-alive, an HTTP(S) proxy's
   * tunnel), with HTTP/2 flow-control windows as client-go opens them (golang.org/x/net/http2 transport.go:
   * transportDefaultConnFlow 1 GiB, transportDefaultStreamFlow 4 MiB). With undici's (512 KiB a connection, 256 KiB
   * a stream) every list of a scan, all on one connection, could get 512 KiB a round trip between them: through 50 ms
   * of latency an uncompressed scan of 20k objects took twice as long. Every answer is read whole as it arrives, so
   * the windows do not decide how much is held. With several --as-group, HTTP/1.1: over HTTP/2 repeated
   * Impersonate-Group lines arrive as one "a, b" group (seen on a real kube-apiserver), HTTP/1.1 keeps them apart,
   * as kubectl sends them. A SOCKS proxy keeps client-node's own connector.
   */
  async #makeDispatcher(fromClientNode: Dispatcher | undefined): Promise<Dispatcher> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (cluster?.proxyUrl?.startsWith('socks') && fromClientNode) return fromClientNode;
    const tls: AgentOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(tls);
    const made = this.#kubeConfig.createDispatcherOptions(cluster, tls);
    const protocol =
      (this.#options.impersonate?.groups.length ?? 0) > 1
        ? { allowH2: false }
        : { connectionWindowSize: 2 ** 30, initialWindowSize: 4 * 2 ** 20 };
    switch (made.type) {
      case 'proxy':
        return new ProxyAgent({ uri: made.uri, requestTls: made.requestTls, connect: made.connect, ...protocol });
      case 'agent':
        return new Agent({ connect: made.connect, ...protocol });
      default:
        // No TLS options (an http:// server), as client-node leaves it: keep-alive as its agents have it.
        return new Agent({ connect: { keepAlive: true, keepAliveInitialDelay: 30_000 }, ...protocol });
    }
  }

  /** Drops pooled and pending connections, so a timed-out connect cannot keep the process alive. */
  async close(): Promise<void> {
    await this.#dispatcher?.destroy().catch(() => undefined);
  }
}

/** client-go retries reads up to 10 times when the server asks (Retry-After); we keep to fewer, and to the deadline. */
export const MAX_READ_RETRIES = 5;
/**
 * A 5xx without Retry-After is often lasting (an aggregated API with no backend answers 503 to every request), and
 * client-go does not retry it at all: two quick tries cover a blip without costing a broken API seconds per list.
 */
export const MAX_UNASKED_RETRIES = 2;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 4_000;
/** A Retry-After longer than this is shortened: a scan at 3 a.m. should not sleep for minutes on one header. */
const RETRY_AFTER_MAX_MS = 10_000;
/** Answers that mean "try again": throttled, or the server (or a proxy in front of it) failing for now. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** Connection errors worth another try on a read, as client-go's IsConnectionReset / IsProbableEOF. */
const RETRYABLE_ERROR = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/**
 * How long to wait before retrying a read, or undefined when it must not be retried: not a transient failure,
 * out of retries, or the wait would not leave the next attempt any time before --request-timeout.
 * Retry-After (seconds or an HTTP date) is honoured, capped; without it, exponential backoff with jitter.
 */
export function retryDelay(
  outcome: { res: ApiResponse; retryAfter?: string | undefined } | { err: unknown },
  attempt: number,
  deadline: number,
  now = Date.now(),
): number | undefined {
  if (attempt >= MAX_READ_RETRIES) return undefined;
  let wait: number | undefined;
  if ('err' in outcome) {
    const e = outcome.err as { code?: string; cause?: { code?: string } };
    if (!RETRYABLE_ERROR.has(e.cause?.code ?? e.code ?? '')) return undefined;
  } else {
    if (!RETRYABLE_STATUS.has(outcome.res.status)) return undefined;
    wait = parseRetryAfter(outcome.retryAfter, now);
    if (wait === undefined && attempt >= MAX_UNASKED_RETRIES) return undefined;
  }
  if (wait === undefined) {
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
    wait = Math.round(backoff / 2 + Math.random() * (backoff / 2));
  }
  wait = Math.min(wait, RETRY_AFTER_MAX_MS);
  return now + wait < deadline ? wait : undefined;
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The most a gzipped answer may inflate to: the longest string V8 can make (~512 MiB), as the body becomes one, so no
 * answer we could use is refused. Without a bound, deflate's 1032:1 would let a broken or hostile server (or whatever
 * sits in front of it) turn half a MiB on the wire into all our memory.
 */
export const MAX_INFLATED_BYTES = constants.MAX_STRING_LENGTH;
/** The most deflate can expand (zlib's technical notes: 1032:1, a 258-byte match in 2 bits): a larger ISIZE lies. */
const DEFLATE_MAX_RATIO = 1032;
/** The largest output buffer sized from ISIZE; a page larger still is inflated in pieces this big. */
const MAX_INFLATE_CHUNK = 64 * 2 ** 20;

class InflatedTooLarge extends Error {
  constructor(limit: number) {
    super(
      `the API server's gzipped answer inflates past ${formatBytes(limit)}, the most one answer may be; if a page of objects really is that large, lower --chunk-size, otherwise check the server and what is in front of it`,
    );
  }
}

const gunzipAsync = promisify(gunzip);

/**
 * An answer's bytes, in memory of their own (answer's release frees it) but for a small body, which may share Node's
 * buffer pool, and for a gzipped one its size on the wire and inflated (for -vv).
 */
type Body = { bytes: Buffer; gzip?: { wireBytes: number; inflatedBytes: number } };

/**
 * The body's bytes, gunzipped when the server compressed it (inflate: why in one call), without a byte order mark
 * (as undici's body.text() skips it). Bytes, not text: a metadata-only page is read without decoding most of it
 * (metadata-page.ts), and an answer is decoded only when it is read as text (answer).
 */
async function bodyBytes(body: Readable, encoding: string | string[] | undefined, limit: number): Promise<Body> {
  if (encoding === undefined || encoding === 'identity') return { bytes: withoutByteOrderMark(await collect(body, Infinity, true)) };
  if (encoding !== 'gzip') {
    body.destroy();
    throw new Error(`the API server answered with Content-Encoding ${JSON.stringify(encoding)}, which was not asked for`);
  }
  const gzipped = await collect(body, limit, false);
  const plain = await inflate(gzipped, limit);
  return { bytes: withoutByteOrderMark(plain), gzip: { wireBytes: gzipped.length, inflatedBytes: plain.length } };
}

function withoutByteOrderMark(bytes: Buffer): Buffer {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

/**
 * How an answer came, for the -vv line of its request: so a user can see whether --disable-compression (or the
 * kubeconfig's disable-compression) took effect, and what gzip saved. An uncompressed body is counted as the bytes
 * it came as (but for a byte order mark).
 */
function describeBody(body: Body): string {
  return body.gzip
    ? `gzip: ${body.gzip.wireBytes} bytes on the wire, ${body.gzip.inflatedBytes} inflated`
    : `uncompressed: ${body.bytes.length} bytes`;
}

/**
 * Gunzips a whole answer in one inflate call on libuv's threadpool. zlib.gunzip alone would not: it runs Node's stream
 * engine, one threadpool round trip and JS callback per chunkSize (16 KiB) of output, which made it cost what the
 * stream did. The gzip trailer's ISIZE (RFC 1952: the inflated size, mod 2^32) sizes the output buffer so one call
 * does it all; ISIZE is the server's word, believed only as far as deflate can expand and up to MAX_INFLATE_CHUNK,
 * and maxOutputLength bounds what is really inflated. Measured at 60k objects (docs/benchmarks.md): client CPU 1.33 s
 * streamed, 1.27 s with zlib.gunzip's 16 KiB pieces (and +29 MiB peak RSS), 1.18 s in one call, as uncompressed.
 */
async function inflate(gzipped: Buffer, limit: number): Promise<Buffer> {
  const isize = gzipped.length >= 18 ? gzipped.readUInt32LE(gzipped.length - 4) : 0;
  // One byte over the expected size, so zlib sees the end of the stream within the first call.
  const chunkSize = Math.max(zlibConstants.Z_MIN_CHUNK, Math.min(isize, gzipped.length * DEFLATE_MAX_RATIO, MAX_INFLATE_CHUNK, limit) + 1);
  try {
    return await gunzipAsync(gzipped, { chunkSize, maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new InflatedTooLarge(limit);
    throw err;
  }
}

/**
 * A body, whole. A chunk is a view of the connection's read buffer, which HTTP/2 shares among its streams: `copy`
 * copies even a body of one chunk into memory of its own (as undici's body.bytes() does), so the answer may free it
 * (release). More than `limit` is refused: a compressed body is about a sixth of its text for a list page, and gzip
 * never makes a body much larger than what it inflates to.
 */
function collect(body: Readable, limit: number, copy: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        reject(new InflatedTooLarge(limit));
      } else chunks.push(chunk);
    });
    body.on('error', reject);
    body.on('end', () => {
      if (chunks.length === 1 && !copy) return resolve(chunks[0]!);
      const whole = Buffer.allocUnsafeSlow(size);
      let at = 0;
      for (const chunk of chunks) at += chunk.copy(whole, at);
      resolve(whole);
    });
  });
}

function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size) return `${Math.floor(n / size)} ${unit}`;
  }
  return `${n} bytes`;
}

/**
 * An answer whose text is decoded and body parsed when first read, once: a list page read without parsing every
 * object (metadata-page.ts) never pays for either. The body is parsed from text it does not keep (unless the text
 * was read first), so a page's text is garbage as soon as its objects are made.
 */
function answer(status: number, { bytes }: Body): ApiResponse {
  let text: string | undefined;
  let body: unknown;
  let parsed = false;
  let released = false;
  const unreleased = (): Buffer => {
    if (released) throw new Error('an answer was read after release()');
    return bytes;
  };
  return {
    status,
    get bytes() {
      return unreleased();
    },
    get text() {
      text ??= unreleased().toString('utf8');
      return text;
    },
    get body() {
      const bytes = unreleased();
      if (!parsed) {
        body = parseJson(text ?? bytes.toString('utf8'));
        parsed = true;
      }
      return body;
    },
    release() {
      released = true;
      text = undefined;
      body = undefined;
      // Detaching an ArrayBuffer frees its memory at once and empties every view of it, so only memory this answer
      // alone has a view of is detached: a copied body (collect) or zlib's output buffer, allocated by gunzip for
      // this answer, unless it was small enough to come from Node's pool, which small buffers share.
      const memory = bytes.buffer;
      if (memory instanceof ArrayBuffer && memory.byteLength > Buffer.poolSize) memory.transfer(0);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

class DeadlineExceeded extends Error {
  override name = 'TimeoutError';
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${ms}ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  // undici's ProxyAgent aborts a request whose CONNECT the proxy answered with anything but 200 (proxy-agent.js).
  const tunnel = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/.exec(e.message ?? '');
  if (tunnel) {
    const status = tunnel[1];
    return `the proxy answered ${status} to the tunnel (CONNECT) request${status === '407' ? ': it wants credentials, which go in the proxy URL (http://user:password@host:port)' : ''}`;
  }
  if (
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return timeoutMs > 0 ? `no answer within --request-timeout ${timeoutMs / 1000}s` : 'connection timed out';
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'CERT_HAS_EXPIRED':
      return `TLS certificate not trusted (${code}); set certificate-authority in the kubeconfig or --certificate-authority`;
  }
  return oneLine(err);
}
