import { KubeConfig, RequestContext, HttpMethod } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { DoctorError } from '../errors.ts';
import { oneLine, type ApiResponse } from './api-response.ts';

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
  debug?: ((message: string) => void) | undefined;
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

    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    let headers: Record<string, string>;
    try {
      await this.#kubeConfig.applySecurityAuthentication(ctx);
      headers = ctx.getHeaders();
    } catch (err) {
      throw new DoctorError(`cannot authenticate to ${this.server}: ${oneLine(err)}`);
    }
    this.#dispatcher ??= await this.#makeDispatcher(ctx.getDispatcher() as Dispatcher | undefined);

    const flat: string[] = [];
    // Impersonation is ours alone: client-node also sets Impersonate-User, and a second line would send the
    // user twice (the API server then knows no such user).
    for (const [k, v] of Object.entries(headers)) if (!/^impersonate-/i.test(k)) flat.push(k, v);
    flat.push('Accept', options.accept ?? 'application/json', 'User-Agent', 'kubectl-doctor');
    if (this.#options.impersonate?.user) flat.push('Impersonate-User', this.#options.impersonate.user);
    for (const g of this.#options.impersonate?.groups ?? []) flat.push('Impersonate-Group', g);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      flat.push('Content-Type', options.contentType ?? 'application/json');
    }

    this.#requests++;
    const started = Date.now();
    const timeout = this.#options.timeoutMs;
    try {
      const exchange = this.#dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: flat,
        body: body ?? null,
        ...(timeout > 0 ? { headersTimeout: timeout, bodyTimeout: timeout } : {}),
      }).then(async (res) => ({ statusCode: res.statusCode, text: await res.body.text() }));
      // undici's own timeouts and abort signals do not cover the TLS handshake, so the deadline is ours.
      const res = timeout > 0 ? await withDeadline(exchange, timeout) : await exchange;
      const text = res.text;
      this.#options.debug?.(`${method} ${url.pathname}${url.search} ${res.statusCode} ${Date.now() - started}ms`);
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed, text };
    } catch (err) {
      throw new DoctorError(`cannot reach the API server at ${this.server}: ${describeNetworkError(err, timeout)}; check --server/--context and that the cluster is up`);
    }
  }

  /**
   * client-node's dispatcher (TLS, client certificates, proxies), except with several --as-group: undici speaks
   * HTTP/2 to the API server when it can, and there repeated Impersonate-Group lines arrive as one "a, b" group
   * (seen on a real kube-apiserver). HTTP/1.1 keeps them apart, as kubectl sends them.
   */
  async #makeDispatcher(fromClientNode: Dispatcher | undefined): Promise<Dispatcher> {
    const groups = this.#options.impersonate?.groups ?? [];
    const proxied = Boolean(this.#kubeConfig.getCurrentCluster()?.proxyUrl);
    if (groups.length > 1 && !proxied) {
      const tls: Record<string, unknown> = {};
      await this.#kubeConfig.applyToHTTPSOptions(tls);
      const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = tls;
      const connect = Object.fromEntries(Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }).filter(([, v]) => v !== undefined));
      return new Agent({ allowH2: false, connect: { ...connect, keepAlive: true } });
    }
    return fromClientNode ?? new Agent({ connect: { keepAlive: true } });
  }

  /** Drops pooled and pending connections, so a timed-out connect cannot keep the process alive. */
  async close(): Promise<void> {
    await this.#dispatcher?.destroy().catch(() => undefined);
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
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return timeoutMs > 0 ? `no answer within --request-timeout ${timeoutMs / 1000}s` : 'connection timed out';
  }
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': return 'host not found';
    case 'ECONNRESET': return 'connection reset';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'CERT_HAS_EXPIRED':
      return `TLS certificate not trusted (${code}); set certificate-authority in the kubeconfig or --certificate-authority`;
  }
  return oneLine(err);
}
