// A fault-injecting HTTPS proxy on 127.0.0.1 between the CLI and the real test API server.
//
//   const proxy = await startFaultProxy((req) => req.path.endsWith('/configmaps') && req.seq === 3 ? { type: 'stall' } : undefined);
//   const kubeconfig = proxy.writeKubeconfig(dir);   // the harness kubeconfig with its server pointed at the proxy
//   await runCli(['--kubeconfig', kubeconfig, ...]);
//   proxy.requests                                     // every request seen: { seq, method, path, query, fault }
//   proxy.hook = otherHook;                            // change the faults between runs
//   await proxy.close();                               // every socket, timer and the port released
//
// The hook sees each request ({ seq, method, path, query, headers }) and returns a fault, or undefined to forward it:
//   { type: 'delay', ms }                  wait, then forward
//   { type: 'stall' }                      read the request, never answer (until close())
//   { type: 'reset' }                      destroy the connection before anything reaches the server
//   { type: 'reset', after: true }         forward, wait for the server's whole answer, then destroy the connection
//                                          unanswered: the write reached the server, the client sees a reset
//   { type: 'truncate', bytes? }           forward; answer with the server's status, headers and full Content-Length
//                                          but only `bytes` (default: half) of the body, then destroy the connection
//   { type: 'status', status, retryAfter?, message? }
//                                          answer itself with a Kubernetes Status (429, 500, 503, 410 Expired...);
//                                          retryAfter (seconds or an HTTP date) becomes the Retry-After header
//   { type: 'stop' }                       destroy this connection and stop listening: every later connection is
//                                          refused, as by a dead server, until proxy.resume()
// proxy.stop() / proxy.resume() do the same from the test.
//
// Each request record says what the client asked for (acceptEncoding), how the server answered (encoding) and how
// many body bytes the answer put on the wire (compressed, when the server compressed). (The benchmark's remote-like
// link is test/harness/tcp-link.ts: TLS and HTTP/2 end to end.)
//
// TLS: the proxy serves the harness API server's own serving certificate (for 127.0.0.1, signed by the CA the
// kubeconfig already trusts), so the CLI verifies TLS as it would against the server; upstream, the proxy verifies
// the server with that CA. With an external cluster (KUBECTL_DOCTOR_TEST_KUBECONFIG) it makes a self-signed
// certificate with openssl and the kubeconfig it writes trusts that one. Authentication stays real: requests
// are forwarded with their own Authorization header (the harness users have bearer tokens); a user with a client
// certificate cannot authenticate through a TLS-terminating proxy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { e2e } from './env.ts';
import { trackedTimers } from './timers.ts';

export type Fault =
  | { type: 'delay'; ms: number }
  | { type: 'stall' }
  | { type: 'reset'; after?: boolean }
  | { type: 'truncate'; bytes?: number }
  | { type: 'status'; status: number; retryAfter?: number | string; message?: string }
  | { type: 'stop' };

export interface ProxyRequest {
  /** 0 for the first request the proxy saw, counting every request of every connection. */
  seq: number;
  method: string;
  /** The URL path, without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export type FaultHook = (req: ProxyRequest) => Fault | undefined;

export interface FaultProxy {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  hook: FaultHook;
  /**
   * Every request seen, with the fault applied to it ('forward' when none), the Accept-Encoding it asked with, and for
   * an answer the server gave, its Content-Encoding (compression as it crossed the wire).
   */
  readonly requests: (Omit<ProxyRequest, 'headers'> & {
    fault: Fault['type'] | 'forward';
    acceptEncoding?: string;
    bytes?: number;
    encoding?: string;
  })[];
  /** Writes the harness kubeconfig (every context) with its server pointed at the proxy into `dir`; returns its path. */
  writeKubeconfig(dir: string): string;
  /** Refuse connections (as a dead server) until resume(). */
  stop(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

const STATUS_REASON: Record<number, string> = {
  410: 'Expired',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};
// Hop-by-hop headers are the proxy's own business; the body is re-sent with its length.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'host',
  'content-length',
]);

export async function startFaultProxy(hook: FaultHook = () => undefined): Promise<FaultProxy> {
  const env = e2e();
  const config = JSON.parse(readFileSync(env.kubeconfigPath, 'utf8')) as KubeconfigJson;
  const cluster = config.clusters[0]!.cluster;
  const upstream = new URL(cluster.server);
  const upstreamCa = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64') : undefined;
  const tls = serverTls(env.kubeconfigPath);
  const agent = new Agent({ keepAlive: true, ...(upstreamCa ? { ca: upstreamCa } : {}) });

  const sockets = new Set<Socket>();
  const timers = trackedTimers();
  const requests: FaultProxy['requests'] = [];
  let seq = 0;
  let stopped = false;
  let port = 0;

  const { later } = timers;

  const forward = (
    req: IncomingMessage,
    body: Buffer,
    then: (status: number, headers: IncomingHttpHeaders, payload: Buffer) => void,
    fail: () => void,
  ) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers['content-length'] = String(body.length);
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => then(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
      res.on('error', fail);
    });
    out.on('error', fail);
    out.end(body);
  };

  const reply = (res: ServerResponse, status: number, headers: IncomingHttpHeaders, payload: Buffer, limit?: number, seqOf?: number) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    out['content-length'] = String(payload.length);
    if (seqOf !== undefined) {
      const seen = requests.find((r) => r.seq === seqOf);
      if (seen) {
        seen.bytes = limit ?? payload.length;
        const encoding = headers['content-encoding'];
        if (encoding !== undefined) seen.encoding = encoding;
      }
    }
    res.writeHead(status, out);
    if (limit === undefined) {
      res.end(payload);
    } else {
      // Flushed before the reset, so the client has the headers and part of the body.
      res.write(payload.subarray(0, limit), () => res.socket?.destroy());
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const seen: ProxyRequest = {
      seq: seq++,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    };
    let fault: Fault | undefined;
    try {
      fault = proxy.hook(seen);
    } catch (err) {
      fault = { type: 'status', status: 500, message: `fault hook threw: ${String(err)}` };
    }
    const acceptEncoding = req.headers['accept-encoding'];
    requests.push({
      seq: seen.seq,
      method: seen.method,
      path: seen.path,
      query: seen.query,
      fault: fault?.type ?? 'forward',
      ...(acceptEncoding !== undefined ? { acceptEncoding } : {}),
    });
    if (fault?.type === 'reset' && !fault.after) {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'stop') {
      req.socket.destroy();
      void proxy.stop();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const failed = () => {
        if (!res.headersSent) reply(res, 502, { 'content-type': 'text/plain' }, Buffer.from('fault proxy: upstream failed'));
      };
      switch (fault?.type) {
        case undefined:
          forward(req, body, (s, h, p) => reply(res, s, h, p, undefined, seen.seq), failed);
          return;
        case 'delay':
          later(fault.ms, () => forward(req, body, (s, h, p) => reply(res, s, h, p, undefined, seen.seq), failed));
          return;
        case 'stall':
          return;
        case 'reset':
          forward(
            req,
            body,
            () => req.socket.destroy(),
            () => req.socket.destroy(),
          );
          return;
        case 'truncate': {
          const bytes = fault.bytes;
          forward(req, body, (s, h, p) => reply(res, s, h, p, bytes ?? Math.floor(p.length / 2)), failed);
          return;
        }
        case 'status': {
          const status = fault.status;
          const headers: IncomingHttpHeaders = { 'content-type': 'application/json' };
          if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
          const message =
            fault.message ??
            (status === 410
              ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
              : `fault proxy: ${status}`);
          const details = typeof fault.retryAfter === 'number' ? { details: { retryAfterSeconds: fault.retryAfter } } : {};
          reply(
            res,
            status,
            headers,
            Buffer.from(
              JSON.stringify({
                kind: 'Status',
                apiVersion: 'v1',
                metadata: {},
                status: 'Failure',
                message,
                reason: STATUS_REASON[status] ?? 'Unknown',
                code: status,
                ...details,
              }),
            ),
          );
        }
      }
    });
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  const closeListener = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  await listen();

  const proxy: FaultProxy = {
    url: `https://127.0.0.1:${port}`,
    hook,
    requests,
    writeKubeconfig(dir) {
      const copy = structuredClone(config);
      for (const c of copy.clusters) {
        c.cluster.server = proxy.url;
        if (tls.ca) c.cluster['certificate-authority-data'] = tls.ca.toString('base64');
        delete c.cluster['tls-server-name'];
      }
      const path = join(dir, 'kubeconfig-fault-proxy');
      writeFileSync(path, JSON.stringify(copy, null, 2), { mode: 0o600 });
      return path;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeListener();
    },
    async resume() {
      if (!stopped) return;
      stopped = false;
      await listen();
    },
    async close() {
      timers.clear();
      if (!stopped) {
        stopped = true;
        await closeListener();
      }
      agent.destroy();
      tls.cleanup();
    },
  };
  return proxy;
}

interface KubeconfigJson {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'tls-server-name'?: string } }[];
  [key: string]: unknown;
}

/** The harness server's own certificate, or (external cluster) a self-signed one the written kubeconfig trusts. */
function serverTls(kubeconfigPath: string): { cert: Buffer; key: Buffer; ca?: Buffer; cleanup(): void } {
  const certs = join(dirname(kubeconfigPath), 'certs');
  if (existsSync(join(certs, 'serving.crt')) && existsSync(join(certs, 'serving.key'))) {
    return { cert: readFileSync(join(certs, 'serving.crt')), key: readFileSync(join(certs, 'serving.key')), cleanup: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'doctor-fault-proxy-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    return { cert, key: readFileSync(join(dir, 'key.pem')), ca: cert, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
