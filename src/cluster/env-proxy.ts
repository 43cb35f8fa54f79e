// The proxy the environment names for the API server, as kubectl finds it. client-go's rest.Config.Proxy is
// "nil: http.ProxyFromEnvironment is used", and a kubeconfig's proxy-url replaces it (k8s.io/client-go/rest
// config.go). Go's rules (golang.org/x/net/http/httpproxy proxy.go, FromEnvironment and ProxyFunc):
//   - HTTPS_PROXY (else https_proxy) for an https server, HTTP_PROXY (else http_proxy) for an http one; the upper-case
//     name first, no fallback from one scheme's variable to the other's;
//   - a value without a scheme is read as host[:port] of an http proxy; a URL of a scheme other than http, https and
//     socks5 Go keeps, and its transport then fails every request: here it is one line (proxyURL);
//   - never for "localhost" or a loopback address;
//   - NO_PROXY (else no_proxy): comma-separated, case-insensitive; "*" is every host; an IP or a CIDR matches
//     addresses; "foo.com" matches foo.com and its subdomains, ".foo.com" and "*.foo.com" subdomains only; an entry
//     with ":port" matches that port only; malformed entries are skipped.
// Go's refusal of HTTP_PROXY in a CGI handler (REQUEST_METHOD set) does not apply to a command-line tool.
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { DoctorError } from '../errors.ts';

/** The variable a proxy came from. */
export type ProxyVariable = 'HTTPS_PROXY' | 'https_proxy' | 'HTTP_PROXY' | 'http_proxy';

export interface EnvironmentProxy {
  /** The proxy's URL, as client-node's proxy-url takes it (with a scheme). */
  url: string;
  variable: ProxyVariable;
}

/** A proxy as messages name it: where it is (credentials left out) and what set it. */
export interface ApiProxy {
  url: string;
  from: 'proxy-url' | ProxyVariable;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** The proxy the environment names for requests to `server`, or undefined to connect directly. */
export function proxyFromEnvironment(server: string, env: NodeJS.ProcessEnv): EnvironmentProxy | undefined {
  let target: URL;
  try {
    target = new URL(server);
  } catch {
    return undefined;
  }
  const names: [ProxyVariable, ProxyVariable] | undefined =
    target.protocol === 'https:' ? ['HTTPS_PROXY', 'https_proxy'] : target.protocol === 'http:' ? ['HTTP_PROXY', 'http_proxy'] : undefined;
  if (names === undefined) return undefined;
  const variable = names.find((name) => (env[name] ?? '') !== '');
  if (variable === undefined) return undefined;
  // URL keeps an IPv6 host in brackets; an IDN host is already in its ASCII form.
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = target.port || DEFAULT_PORTS[target.protocol]!;
  if (!useProxy(host, port, env.NO_PROXY || env.no_proxy || '')) return undefined;
  const url = proxyURL(env[variable]!, variable);
  return url === undefined ? undefined : { url, variable };
}

/**
 * The proxy's URL with a scheme (http:// before a host[:port], as Go reads one), or undefined when it is not a URL
 * at all, which Go ignores. A URL of another scheme Go keeps, and its transport then fails every request: here that
 * is one line, before any.
 */
function proxyURL(value: string, variable: ProxyVariable): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return parseURL(`http://${value}`) === undefined ? undefined : `http://${value}`;
  const parsed = parseURL(value);
  if (parsed === undefined) return undefined;
  if (PROXY_SCHEMES.includes(parsed.protocol)) return value;
  throw new DoctorError(
    `${variable} names a proxy of scheme ${parsed.protocol.slice(0, -1)}: the API server is reached through http, https or socks5 proxies, as kubectl does; fix ${variable}, or list the server's host in NO_PROXY to connect directly`,
  );
}

const PROXY_SCHEMES = ['http:', 'https:', 'socks5:'];

function parseURL(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.host === '' ? undefined : url;
  } catch {
    return undefined;
  }
}

function useProxy(host: string, port: string, noProxy: string): boolean {
  if (host === 'localhost') return false;
  const family = isIP(host);
  if (family !== 0 && isLoopback(host, family)) return false;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return false;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr) {
      const cidrFamily = isIP(cidr[1]!);
      const bits = Number(cidr[2]);
      if (cidrFamily !== 0 && bits <= (cidrFamily === 4 ? 32 : 128)) {
        if (family === cidrFamily) {
          const block = new BlockList();
          block.addSubnet(cidr[1]!, bits, familyName(family));
          if (block.check(host, familyName(family))) return false;
        }
        continue;
      }
    }
    const { host: entryHost, port: entryPort } = splitHostPort(entry);
    if (entryHost === '') continue;
    if (entryPort !== '' && entryPort !== port) continue;
    const entryFamily = isIP(entryHost);
    if (entryFamily !== 0) {
      if (family !== 0 && sameAddress(entryHost, host)) return false;
      continue;
    }
    // "*.foo.com" and ".foo.com" match subdomains only, "foo.com" itself too.
    const subdomainsOnly = entryHost.startsWith('.') || entryHost.startsWith('*.');
    const name = entryHost.slice(entryHost.startsWith('*.') ? 2 : subdomainsOnly ? 1 : 0);
    const domain = domainToASCII(name) || name;
    if (host.endsWith(`.${domain}`) || (!subdomainsOnly && host === domain)) return false;
  }
  return true;
}

/** An entry's host and port: `host:port`, `[v6]:port` or `host` (Go's net.SplitHostPort, else the whole entry). */
function splitHostPort(entry: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]*)\]:(\d*)$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2]! };
  const colon = entry.lastIndexOf(':');
  // One colon only: more are an IPv6 address without a port.
  if (colon !== -1 && entry.indexOf(':') === colon) return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
  return { host: entry, port: '' };
}

function familyName(family: number): 'ipv4' | 'ipv6' {
  return family === 4 ? 'ipv4' : 'ipv6';
}

function isLoopback(host: string, family: number): boolean {
  if (family === 4) return host.startsWith('127.');
  const block = new BlockList();
  block.addAddress('::1', 'ipv6');
  block.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  return block.check(host, 'ipv6');
}

/** The same address, an IPv4 one also written as IPv4-mapped IPv6 (Go's net.IP Equal). */
function sameAddress(a: string, b: string): boolean {
  const block = new BlockList();
  block.addAddress(a, familyName(isIP(a)));
  return block.check(b, familyName(isIP(b)));
}
