/**
 * Loads kubeconfig the way kubectl does (client-go tools/clientcmd): file precedence, first-wins merging,
 * relative path resolution, context selection, command-line overrides and the in-cluster fallback.
 *
 * client-node's own loaders are not used for merging: KubeConfig.loadFromDefault lets the last KUBECONFIG
 * file win and throws on duplicate names, and does not resolve `tokenFile` or a relative exec `command`.
 * We parse and merge the raw documents ourselves and hand client-node finished objects via loadFromOptions.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { getCACertificates } from 'node:tls';
// client-node's modules, not its index: the index also loads the generated API (every model and API class, half of
// the package), which a scan never uses; scripts/release.ts keeps it out of the bundle.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Cluster, Context, User } from '@kubernetes/client-node/dist/config_types.js';
import { loadAll, YAMLException } from 'js-yaml';
import { DoctorError } from '../errors.ts';
import { homeDirectory, NO_HOME } from '../util/home.ts';
import { describeFsError } from './fs-error.ts';
import { proxyFromEnvironment, type ApiProxy } from './env-proxy.ts';
import { ExecCredentialAuth, execUser, type ExecConfig, type ExecSettings } from './exec-credential.ts';

export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  token?: string;
  as?: string;
  asGroups?: string[];
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  clientCertificate?: string;
  clientKey?: string;
  tlsServerName?: string;
  disableCompression?: boolean;
}

export interface LoadedKubeConfig {
  /** client-node KubeConfig, current context set to the effective one, overrides applied. */
  kubeConfig: KubeConfig;
  /** Effective context ('' when built from --server alone, 'in-cluster' when in-cluster). */
  contextName: string;
  clusterName: string;
  userName: string;
  /** Effective server URL (no trailing slash). */
  server: string;
  /** -n flag > context namespace > 'default' (in-cluster: -n > POD_NAMESPACE > SA namespace file > 'default'). */
  namespace: string;
  /** True only when -n/--namespace was given. */
  namespaceExplicit: boolean;
  /** Kubeconfig files actually read, in precedence order. */
  files: string[];
  /**
   * Impersonation from --as / --as-group (falling back to the user's `as` / `as-groups` kubeconfig fields, as
   * kubectl does). client-node sends Impersonate-User itself (User.impersonateUser is set), but it has no
   * support for Impersonate-Group: the HTTP layer must add one Impersonate-Group header per group.
   */
  impersonate?: { user?: string; groups: string[] };
  /**
   * Do not ask for compressed answers: --disable-compression, or the cluster's `disable-compression: true`, which
   * client-node drops (its Cluster has no such field), so it is read here from the kubeconfig as parsed.
   */
  disableCompression: boolean;
  /**
   * The proxy the API server is reached through, as kubectl would: the cluster's proxy-url, else the one HTTPS_PROXY or
   * HTTP_PROXY names (NO_PROXY, loopback and localhost excepted; env-proxy.ts). `url` without credentials, for messages.
   */
  proxy?: ApiProxy;
}

export interface LoadKubeConfigOptions {
  /** Home directory used for ~/.kube/config (default: homeDirectory(): $HOME, then the user's). */
  homeDir?: string;
  /** Service-account directory for in-cluster config (default /var/run/secrets/kubernetes.io/serviceaccount). */
  inClusterDir?: string;
  /** How exec credential plugins run: their deadline and whether they may use the terminal (exec-credential.ts). */
  exec?: ExecSettings;
}

const DEFAULT_IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const IN_CLUSTER_NAME = 'in-cluster';

type RawObject = Record<string, unknown>;
type Section = 'clusters' | 'users' | 'contexts';
const BODY_KEY = { clusters: 'cluster', users: 'user', contexts: 'context' } as const satisfies Record<Section, string>;
const KIND = { clusters: 'cluster', users: 'user', contexts: 'context' } as const satisfies Record<Section, string>;

/** Where the kubeconfig files came from; decides the fix hint in error messages. */
type Source = 'flag' | 'env' | 'home';

interface Entry {
  name: string;
  body: RawObject;
  file: string;
}

interface ParsedConfig {
  currentContext: string;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

export function loadKubeConfig(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
  opts: LoadKubeConfigOptions = {},
): LoadedKubeConfig {
  // clientcmd validateClusterInfo: "specifying a root certificates file with the insecure flag is not allowed".
  if (flags.certificateAuthority && flags.insecureSkipTlsVerify) {
    throw new DoctorError('--certificate-authority and --insecure-skip-tls-verify cannot be used together; pass only one of them');
  }

  const homeDir = opts.homeDir ?? homeDirectory(env);
  const located = locateFiles(flags, env, homeDir);
  const merged = mergeConfigs(located.files.map((file) => parseFile(file, located.source)));
  const files = located.files;

  const contextName = flags.context || merged.currentContext;

  // Nothing selects a cluster: clientcmd treats this as an empty config and falls back to in-cluster
  // (DeferredLoadingClientConfig), even when kubeconfig files were read.
  if (!contextName && !flags.cluster && !flags.server) {
    const inCluster = loadInCluster(flags, env, opts.inClusterDir ?? DEFAULT_IN_CLUSTER_DIR, files);
    if (inCluster) return inCluster;
    if (files.length === 0) {
      const missing = located.missing.length > 0 ? `none of the KUBECONFIG files exist (${located.missing.join(', ')}); ` : '';
      const home = homeDir === undefined ? ` (there is no ~/.kube/config: ${NO_HOME})` : ', or create ~/.kube/config';
      throw new DoctorError(oneLine(`no kubeconfig found: ${missing}set --kubeconfig or KUBECONFIG${home}`));
    }
    throw new DoctorError(
      oneLine(`no current context in kubeconfig (${files.join(', ')}): pass --context, or set one with kubectl config use-context`),
    );
  }

  // --- context ---
  let contextBody: RawObject = {};
  if (contextName) {
    const entry = merged.contexts.get(contextName);
    if (!entry) {
      if (flags.context) {
        throw new DoctorError(oneLine(`context "${contextName}" not found in ${where(files)}; list them with kubectl config get-contexts`));
      }
      throw new DoctorError(
        oneLine(`current-context "${contextName}" not found in ${where(files)}; pass --context or run kubectl config use-context`),
      );
    }
    contextBody = entry.body;
  }

  // --- cluster ---
  if (flags.cluster && !merged.clusters.has(flags.cluster)) {
    throw new DoctorError(oneLine(`cluster "${flags.cluster}" not found in ${where(files)}; list them with kubectl config get-clusters`));
  }
  const clusterName = flags.cluster || str(contextBody.cluster);
  const clusterEntry = merged.clusters.get(clusterName);
  if (!clusterEntry && !flags.server) {
    if (!clusterName) {
      throw new DoctorError(
        oneLine(`context "${contextName}" names no cluster in ${where(files)}; fix the context or pass --cluster or --server`),
      );
    }
    throw new DoctorError(
      oneLine(
        `context "${contextName}" refers to cluster "${clusterName}", which is not in ${where(files)}; fix the context or pass --cluster or --server`,
      ),
    );
  }
  const cluster: RawObject = { ...clusterEntry?.body };
  const clusterOrigin = clusterEntry ? `cluster "${clusterName}" in ${clusterEntry.file}` : `cluster "${clusterName}"`;
  if (flags.server) {
    cluster.server = flags.server;
    // clientcmd getCluster: setting --server clears the kubeconfig's tls-server-name.
    delete cluster['tls-server-name'];
  }
  if (flags.tlsServerName) cluster['tls-server-name'] = flags.tlsServerName;
  // clientcmd getCluster: --insecure-skip-tls-verify clears the CA; --certificate-authority clears the
  // insecure flag and any inline CA data.
  if (flags.insecureSkipTlsVerify || flags.certificateAuthority) {
    cluster['insecure-skip-tls-verify'] = flags.insecureSkipTlsVerify === true;
    if (flags.certificateAuthority) cluster['certificate-authority'] = path.resolve(flags.certificateAuthority);
    else delete cluster['certificate-authority'];
    delete cluster['certificate-authority-data'];
  }
  if (
    cluster['insecure-skip-tls-verify'] === true &&
    (str(cluster['certificate-authority']) || str(cluster['certificate-authority-data']))
  ) {
    throw new DoctorError(
      oneLine(`${clusterOrigin} sets both insecure-skip-tls-verify and a certificate authority, which kubectl rejects; remove one of them`),
    );
  }
  const rawServer = str(cluster.server);
  if (!rawServer) {
    throw new DoctorError(oneLine(`${clusterOrigin} has no server; add clusters[].cluster.server to the kubeconfig or pass --server`));
  }
  const server = normalizeServer(
    rawServer,
    Boolean(
      cluster['insecure-skip-tls-verify'] === true || str(cluster['certificate-authority']) || str(cluster['certificate-authority-data']),
    ),
    flags.server ? 'from --server' : `for ${clusterOrigin}`,
  );
  const caFile = str(cluster['certificate-authority']);
  if (caFile) {
    checkReadable(
      caFile,
      `certificate-authority ${caFile} for ${clusterOrigin}`,
      flags.certificateAuthority
        ? 'pass an existing file to --certificate-authority'
        : 'fix the path in the kubeconfig or pass --certificate-authority',
    );
  }

  // --- user ---
  if (flags.user && !merged.users.has(flags.user)) {
    throw new DoctorError(oneLine(`user "${flags.user}" not found in ${where(files)}; list them with kubectl config get-users`));
  }
  const userName = flags.user || str(contextBody.user);
  // A context may name a user that is not defined: clientcmd then connects anonymously, so do we.
  const userEntry = merged.users.get(userName);
  const userOrigin = userEntry ? `user "${userName}" in ${userEntry.file}` : `user "${userName}"`;
  let user: RawObject = { ...userEntry?.body };
  if (flags.token) {
    // --token replaces every other credential of the user (client-go also skips exec plugins when a
    // bearer token is present); impersonation settings are kept.
    user = { token: flags.token, as: user.as, 'as-groups': user['as-groups'] };
  }
  // clientcmd getAuthInfo: a client certificate or key flag replaces the kubeconfig's file and inline data.
  if (flags.clientCertificate) {
    user['client-certificate'] = path.resolve(flags.clientCertificate);
    delete user['client-certificate-data'];
  }
  if (flags.clientKey) {
    user['client-key'] = path.resolve(flags.clientKey);
    delete user['client-key-data'];
  }
  if (flags.as) user.as = flags.as;
  if (flags.asGroups && flags.asGroups.length > 0) user['as-groups'] = [...flags.asGroups];
  const impersonate = impersonation(user, flags, userOrigin);

  if (!str(user.token) && str(user.tokenFile)) {
    // clientcmd: token wins over tokenFile; the file content (trimmed) is the bearer token.
    const tokenFile = str(user.tokenFile);
    user.token = readText(tokenFile, `tokenFile ${tokenFile} for ${userOrigin}`, 'fix the path in the kubeconfig or pass --token').trim();
  }
  for (const key of ['client-certificate', 'client-key'] as const) {
    const file = str(user[key]);
    const flag = key === 'client-certificate' ? flags.clientCertificate : flags.clientKey;
    if (file)
      checkReadable(
        file,
        `${key} ${file} for ${userOrigin}`,
        flag ? `pass an existing file to --${key}` : 'fix the path in the kubeconfig',
      );
  }

  const namespace = flags.namespace || str(contextBody.namespace) || 'default';

  // --- assemble the client-node KubeConfig: every merged entry, with the effective ones replaced ---
  const clientCluster = toClientCluster(clusterName, cluster);
  const proxy = proxyOf(clientCluster.proxyUrl, server, env);
  const effectiveCluster: Cluster = withDefaultRoots({
    ...clientCluster,
    ...(proxy ? { proxyUrl: proxy.raw } : {}),
    server,
    // client-node refuses plain-http servers unless skipTLSVerify is set; kubectl allows them (e.g.
    // `kubectl proxy` on http://localhost:8001). There is no TLS to verify, so setting it is harmless.
    skipTLSVerify: cluster['insecure-skip-tls-verify'] === true || server.startsWith('http:'),
  });
  const effectiveUser: User = toClientUser(userName, user);
  const effectiveContext: Context = { name: contextName, cluster: clusterName, user: userName, namespace };

  const kubeConfig = new KubeConfig();
  kubeConfig.addAuthenticator(new ExecCredentialAuth(opts.exec ?? { timeoutMs: 0, stdinIsTerminal: () => false }));
  kubeConfig.loadFromOptions({
    clusters: [
      effectiveCluster,
      ...[...merged.clusters.values()].filter((e) => e.name !== clusterName).map((e) => toClientCluster(e.name, e.body)),
    ],
    users: [effectiveUser, ...[...merged.users.values()].filter((e) => e.name !== userName).map((e) => toClientUser(e.name, e.body))],
    contexts: [
      effectiveContext,
      ...[...merged.contexts.values()].filter((e) => e.name !== contextName).map((e) => toClientContext(e.name, e.body)),
    ],
    currentContext: contextName,
  });

  return {
    kubeConfig,
    contextName,
    clusterName,
    userName,
    server,
    namespace,
    namespaceExplicit: Boolean(flags.namespace),
    files,
    ...(impersonate ? { impersonate } : {}),
    // As clientcmd's getCluster, which merges only non-zero overrides: --disable-compression=false does not turn
    // compression back on for a cluster whose kubeconfig disables it.
    disableCompression: flags.disableCompression === true || cluster['disable-compression'] === true,
    ...(proxy ? { proxy: proxy.described } : {}),
  };
}

/**
 * The cluster, with the default roots as its CA (caData) when it is verified but names no CA. kubectl's defaults are
 * the system's roots (Go's crypto/x509 SystemCertPool: on Linux the OpenSSL paths, SSL_CERT_FILE, SSL_CERT_DIR; the
 * keychain on macOS), Node's its bundled Mozilla list only: a cluster whose private CA is installed in the system, as
 * kubectl users do, was "TLS certificate not trusted". Both: what kubectl trusts is trusted, and nothing trusted
 * before is refused. Read only for such a cluster (~40 ms with 600 roots).
 */
function withDefaultRoots(cluster: Cluster): Cluster {
  if (cluster.skipTLSVerify || cluster.caData || cluster.caFile) return cluster;
  const roots = [...new Set([...getCACertificates('bundled'), ...getCACertificates('system')])];
  return { ...cluster, caData: Buffer.from(roots.join('\n')).toString('base64') };
}

/** The cluster's proxy-url, else the environment's proxy for `server` (client-go's rest.Config.Proxy, env-proxy.ts). */
function proxyOf(proxyUrl: string | undefined, server: string, env: NodeJS.ProcessEnv): { raw: string; described: ApiProxy } | undefined {
  const chosen = proxyUrl !== undefined ? { url: proxyUrl, variable: 'proxy-url' as const } : proxyFromEnvironment(server, env);
  if (chosen === undefined) return undefined;
  return { raw: chosen.url, described: { url: withoutCredentials(chosen.url), from: chosen.variable } };
}

/** A URL without its user and password: a proxy's credentials never reach a message. */
function withoutCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username === '' && url.password === '') return raw;
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(a proxy URL that is not a URL)';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Locating and parsing files

/**
 * The context, cluster and user names of the merged kubeconfig (for shell completion and --contexts), found with the
 * same file rules as loadKubeConfig, and the files read. Sorted; the current context first among contexts is left to
 * the caller.
 */
export function kubeconfigNames(
  flags: Pick<ConnectionFlags, 'kubeconfig'>,
  env: NodeJS.ProcessEnv = process.env,
  opts: Pick<LoadKubeConfigOptions, 'homeDir'> = {},
): { currentContext: string; contexts: string[]; clusters: string[]; users: string[]; files: string[] } {
  const located = locateFiles(flags, env, opts.homeDir ?? homeDirectory(env));
  const merged = mergeConfigs(located.files.map((file) => parseFile(file, located.source)));
  const names = (m: Map<string, Entry>) => [...m.keys()].sort();
  return {
    currentContext: merged.currentContext,
    contexts: names(merged.contexts),
    clusters: names(merged.clusters),
    users: names(merged.users),
    files: located.files,
  };
}

function locateFiles(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  homeDir: string | undefined,
): { files: string[]; source: Source; missing: string[] } {
  if (flags.kubeconfig) {
    // clientcmd: an explicit path must exist; KUBECONFIG and ~/.kube/config are then ignored.
    if (!fs.existsSync(flags.kubeconfig)) {
      throw new DoctorError(oneLine(`kubeconfig ${flags.kubeconfig}: no such file; pass an existing file to --kubeconfig or unset it`));
    }
    return { files: [flags.kubeconfig], source: 'flag', missing: [] };
  }
  const envList = env.KUBECONFIG;
  if (envList) {
    // clientcmd: split on the OS list separator, drop empty entries and duplicates, skip missing files.
    const listed = [...new Set(envList.split(path.delimiter).filter((p) => p !== ''))];
    const files = listed.filter((p) => fs.existsSync(p));
    return { files, source: 'env', missing: listed.filter((p) => !files.includes(p)) };
  }
  if (homeDir === undefined) return { files: [], source: 'home', missing: [] };
  const home = path.join(homeDir, '.kube', 'config');
  return { files: fs.existsSync(home) ? [home] : [], source: 'home', missing: [] };
}

function fixHint(source: Source): string {
  switch (source) {
    case 'flag':
      return 'fix the file or pass another one to --kubeconfig';
    case 'env':
      return 'fix the file or remove it from KUBECONFIG';
    case 'home':
      return 'fix the file or pass another one with --kubeconfig';
  }
}

function parseFile(file: string, source: Source): ParsedConfig {
  const text = readText(file, `kubeconfig ${file}`, fixHint(source));
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch (err) {
    if (err instanceof YAMLException) {
      const line = err.mark ? ` at line ${err.mark.line + 1}` : '';
      throw new DoctorError(oneLine(`kubeconfig ${file}: invalid YAML${line}: ${err.reason}; ${fixHint(source)}`));
    }
    throw err;
  }
  // Like sigs.k8s.io/yaml, only the first document counts; an empty file is an empty config.
  const doc = docs[0];
  const empty: ParsedConfig = { currentContext: '', clusters: new Map(), users: new Map(), contexts: new Map() };
  if (doc === null || doc === undefined) return empty;
  if (!isObject(doc)) {
    throw new DoctorError(
      oneLine(`kubeconfig ${file}: not a kubeconfig (expected a mapping at the top level, got ${describe(doc)}); ${fixHint(source)}`),
    );
  }
  const current = doc['current-context'];
  if (current !== null && current !== undefined && typeof current !== 'string') {
    throw new DoctorError(oneLine(`kubeconfig ${file}: current-context must be a string; ${fixHint(source)}`));
  }
  const dir = path.dirname(path.resolve(file));
  return {
    currentContext: current ?? '',
    clusters: parseSection(doc, 'clusters', file, dir, source),
    users: parseSection(doc, 'users', file, dir, source),
    contexts: parseSection(doc, 'contexts', file, dir, source),
  };
}

function parseSection(doc: RawObject, section: Section, file: string, dir: string, source: Source): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const list = doc[section];
  if (list === null || list === undefined) return out; // missing/empty sections are fine
  if (!Array.isArray(list)) {
    throw new DoctorError(oneLine(`kubeconfig ${file}: ${section} must be a list, got ${describe(list)}; ${fixHint(source)}`));
  }
  list.forEach((item: unknown, i: number) => {
    if (!isObject(item)) {
      throw new DoctorError(oneLine(`kubeconfig ${file}: ${section}[${i}] must be a mapping; ${fixHint(source)}`));
    }
    const name = item.name;
    // Nameless entries cannot be referenced by a context; ignore them rather than fail.
    if (typeof name !== 'string' || name === '') return;
    const body = item[BODY_KEY[section]];
    if (body !== null && body !== undefined && !isObject(body)) {
      throw new DoctorError(
        oneLine(`kubeconfig ${file}: ${section}[${i}] ("${name}") ${BODY_KEY[section]} must be a mapping; ${fixHint(source)}`),
      );
    }
    // clientcmd's v1 conversion rejects duplicate names within one file.
    if (out.has(name)) {
      throw new DoctorError(oneLine(`kubeconfig ${file}: duplicate ${KIND[section]} name "${name}"; rename or remove one of them`));
    }
    out.set(name, { name, body: resolvePaths(section, structuredClone(body ?? {}), dir), file });
  });
  return out;
}

/**
 * clientcmd ResolveLocalPaths: relative file references resolve against the directory of the file that
 * defined the entry: cluster certificate-authority; user client-certificate, client-key, tokenFile; and the
 * exec command only when it contains a path separator (a bare name is looked up on PATH).
 */
function resolvePaths(section: Section, body: RawObject, dir: string): RawObject {
  const resolve = (key: string, obj: RawObject) => {
    const v = obj[key];
    if (typeof v === 'string' && v !== '' && !path.isAbsolute(v)) obj[key] = path.join(dir, v);
  };
  if (section === 'clusters') {
    resolve('certificate-authority', body);
  } else if (section === 'users') {
    resolve('client-certificate', body);
    resolve('client-key', body);
    resolve('tokenFile', body);
    const exec = body.exec;
    if (isObject(exec) && typeof exec.command === 'string' && exec.command.includes(path.sep)) {
      resolve('command', exec);
    }
  }
  return body;
}

/** clientcmd merge: the first file to define a name (or a current-context) wins; later ones never override it. */
function mergeConfigs(configs: ParsedConfig[]): ParsedConfig {
  const merged: ParsedConfig = { currentContext: '', clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const config of configs) {
    if (!merged.currentContext) merged.currentContext = config.currentContext;
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      for (const [name, entry] of config[section]) {
        if (!merged[section].has(name)) merged[section].set(name, entry);
      }
    }
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------------------
// In-cluster

function loadInCluster(flags: ConnectionFlags, env: NodeJS.ProcessEnv, dir: string, files: string[]): LoadedKubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  // clientcmd inClusterClientConfig.Possible: both variables set and the token is a regular file.
  if (!host || !port || !isFile(tokenFile)) return undefined;
  checkReadable(tokenFile, `in-cluster service account token ${tokenFile}`, "check the pod's service account mount or pass --kubeconfig");

  // rest.InClusterConfig: always https; the CA is used only if the file exists.
  // clientcmd applies only --server, --token and --certificate-authority in-cluster; we also honour
  // --insecure-skip-tls-verify, --as/--as-group and --disable-compression rather than silently ignoring them.
  const server = flags.server
    ? normalizeServer(flags.server, true, 'from --server')
    : `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const defaultCa = path.join(dir, 'ca.crt');
  let caFile: string | undefined = isFile(defaultCa) ? defaultCa : undefined;
  if (flags.certificateAuthority) {
    caFile = path.resolve(flags.certificateAuthority);
    checkReadable(caFile, `certificate-authority ${caFile}`, 'pass an existing file to --certificate-authority');
  } else if (flags.insecureSkipTlsVerify) {
    caFile = undefined;
  }

  const user: RawObject = flags.token
    ? { token: flags.token }
    : // client-node's FileAuth re-reads the token file (projected tokens rotate), as client-go does.
      { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } };
  if (flags.as) user.as = flags.as;
  if (flags.asGroups && flags.asGroups.length > 0) user['as-groups'] = [...flags.asGroups];
  const impersonate = impersonation(user, flags, 'the in-cluster user');

  let namespace = flags.namespace || env.POD_NAMESPACE || '';
  if (!namespace) {
    try {
      namespace = fs.readFileSync(path.join(dir, 'namespace'), 'utf8').trim();
    } catch {
      // no namespace file: fall through to 'default'
    }
  }
  namespace ||= 'default';

  // rest.InClusterConfig leaves Proxy nil too: the pod's HTTPS_PROXY applies unless NO_PROXY names the service.
  const proxy = proxyOf(undefined, server, env);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      withDefaultRoots({
        name: IN_CLUSTER_NAME,
        server,
        caFile,
        skipTLSVerify: flags.insecureSkipTlsVerify === true || server.startsWith('http:'),
        ...(proxy ? { proxyUrl: proxy.raw } : {}),
      }),
    ],
    users: [toClientUser(IN_CLUSTER_NAME, user)],
    contexts: [{ name: IN_CLUSTER_NAME, cluster: IN_CLUSTER_NAME, user: IN_CLUSTER_NAME, namespace } satisfies Context],
    currentContext: IN_CLUSTER_NAME,
  });
  return {
    kubeConfig,
    contextName: IN_CLUSTER_NAME,
    clusterName: IN_CLUSTER_NAME,
    userName: IN_CLUSTER_NAME,
    server,
    namespace,
    namespaceExplicit: Boolean(flags.namespace),
    files,
    ...(impersonate ? { impersonate } : {}),
    disableCompression: flags.disableCompression === true,
    ...(proxy ? { proxy: proxy.described } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Conversion to client-node objects (same shape as client-node's config_types newClusters/newUsers/newContexts)

function toClientCluster(name: string, body: RawObject): Cluster {
  return {
    name,
    server: str(body.server).replace(/\/$/, ''),
    caData: optStr(body['certificate-authority-data']),
    caFile: optStr(body['certificate-authority']),
    skipTLSVerify: body['insecure-skip-tls-verify'] === true,
    tlsServerName: optStr(body['tls-server-name']),
    proxyUrl: optStr(body['proxy-url']),
  };
}

function toClientUser(name: string, body: RawObject): User {
  let authProvider: unknown = body['auth-provider'];
  const token = optStr(body.token);
  const tokenFile = optStr(body.tokenFile);
  // Users other than the effective one (whose tokenFile is read eagerly) get client-node's lazy FileAuth.
  if (!token && tokenFile && !authProvider) authProvider = { name: 'tokenFile', config: { tokenFile } };
  // Exec plugins run through ExecCredentialAuth (bounded, no stdin), not client-node's ExecAuth.
  if (isObject(body.exec) && typeof body.exec.command === 'string' && body.exec.command !== '')
    authProvider = execUser(body.exec as unknown as ExecConfig);
  return {
    name,
    authProvider: authProvider ?? undefined,
    certData: optStr(body['client-certificate-data']),
    certFile: optStr(body['client-certificate']),
    keyData: optStr(body['client-key-data']),
    keyFile: optStr(body['client-key']),
    token,
    username: optStr(body.username),
    password: optStr(body.password),
    // client-node sends this as the Impersonate-User header.
    impersonateUser: optStr(body.as),
  };
}

function toClientContext(name: string, body: RawObject): Context {
  return { name, cluster: str(body.cluster), user: str(body.user), namespace: optStr(body.namespace) };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function impersonation(user: RawObject, flags: ConnectionFlags, origin: string): { user?: string; groups: string[] } | undefined {
  const as = str(user.as);
  const rawGroups = user['as-groups'];
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string' && g !== '') : [];
  if (!as && groups.length > 0) {
    // clientcmd validateAuthInfo: "requesting uid, groups or user-extra for <user> without impersonating a user".
    if (flags.asGroups && flags.asGroups.length > 0) {
      throw new DoctorError('--as-group requires --as; pass the user to impersonate with --as');
    }
    throw new DoctorError(oneLine(`${origin} sets as-groups without as; add as to the kubeconfig user or pass --as`));
  }
  if (!as) return undefined;
  return { user: as, groups };
}

/**
 * rest.DefaultServerURL: a server without a scheme gets https:// when TLS is configured, http:// otherwise.
 * Returns the URL without trailing slash (as client-node stores it).
 */
function normalizeServer(raw: string, tls: boolean, origin: string): string {
  let s = raw.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) s = `${tls ? 'https' : 'http'}://${s}`;
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    throw new DoctorError(oneLine(`invalid server URL "${raw}" ${origin}: use a URL such as https://host:6443`));
  }
  return s.replace(/\/+$/, '');
}

function readText(file: string, what: string, fix: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DoctorError(oneLine(`${what}: ${describeFsError(err)}; ${fix}`));
  }
}

function checkReadable(file: string, what: string, fix: string): void {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    throw new DoctorError(oneLine(`${what} cannot be read (${describeFsError(err)}); ${fix}`));
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function where(files: string[]): string {
  return files.length > 0 ? `kubeconfig (${files.join(', ')})` : 'kubeconfig (no kubeconfig file was found)';
}

function isObject(v: unknown): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return `a ${typeof v}`;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function optStr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
