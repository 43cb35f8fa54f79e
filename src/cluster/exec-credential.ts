/**
 * Exec credential plugins (client.authentication.k8s.io), run the way client-go runs them, with two bounds kubectl
 * does not have: kubectl waits for a plugin forever (client-go starts it without a deadline, and --request-timeout
 * covers HTTP only), and a plugin that reads stdin waits with it. Here:
 *   - the plugin must finish within --request-timeout, or DEFAULT_EXEC_TIMEOUT_MS when none is set; then it is
 *     killed (with its children) and the run stops with one line naming it;
 *   - it gets stdin only when its interactiveMode allows and stdin is a terminal (client-go's rule: `Never` never,
 *     `IfAvailable` (v1beta1's default) when stdin is a terminal, `Always` requires one); otherwise /dev/null;
 *   - KUBERNETES_EXEC_INFO tells it whether it may be interactive, as client-go does;
 *   - a failure is one line: the command, its exit status and the last line it wrote to stderr, if any.
 * client-node's ExecAuth has none of this, so loadKubeConfig hands client-node exec users as an auth provider
 * of this module instead (`EXEC_AUTH_PROVIDER`).
 */
import { spawn } from 'node:child_process';
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { User } from '@kubernetes/client-node/dist/config_types.js';
import { DoctorError } from '../errors.ts';
import { visible } from '../util/terminal.ts';

export const EXEC_AUTH_PROVIDER = 'kubectl-doctor-exec';
/** Without --request-timeout: long enough for a browser or MFA login, short enough that a hung plugin is noticed. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  interactiveMode?: string;
  installHint?: string;
}

export interface ExecSettings {
  /** 0 = DEFAULT_EXEC_TIMEOUT_MS. */
  timeoutMs: number;
  /** Asked when a plugin runs, not before: making process.stdin's stream costs every start ~1 ms. */
  stdinIsTerminal: () => boolean;
}

interface Credential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/** The client-node user for an exec user: its exec block rides in the auth provider config (ExecAuth must not see it). */
export function execUser(exec: ExecConfig): { name: string; config: { execConfig: ExecConfig } } {
  return { name: EXEC_AUTH_PROVIDER, config: { execConfig: exec } };
}

/** The exec block of a client-node user built by loadKubeConfig, if it has one. */
export function execConfigOf(user: User | null | undefined): ExecConfig | undefined {
  const provider = user?.authProvider as { name?: string; config?: { execConfig?: ExecConfig } } | undefined;
  return provider?.name === EXEC_AUTH_PROVIDER ? provider.config?.execConfig : undefined;
}

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export class ExecCredentialAuth implements Authenticator {
  readonly #settings: ExecSettings;
  /** Per user; a pending promise is shared, so concurrent first requests start the plugin once. */
  readonly #cache = new Map<string, { credential: Promise<Credential>; expires: number }>();

  constructor(settings: ExecSettings) {
    this.#settings = settings;
  }

  isAuthProvider(user: User): boolean {
    return execConfigOf(user) !== undefined;
  }

  async applyAuthentication(user: User, opts: { headers?: Record<string, unknown>; cert?: unknown; key?: unknown }): Promise<void> {
    const exec = execConfigOf(user)!;
    let cached = this.#cache.get(user.name);
    if (!cached || cached.expires <= Date.now()) {
      const credential = runExecPlugin(exec, this.#settings);
      cached = { credential, expires: Infinity };
      this.#cache.set(user.name, cached);
      const entry = cached;
      credential.then(
        (c) => {
          entry.expires = c.expirationTimestamp ? Date.parse(c.expirationTimestamp) || 0 : Infinity;
        },
        () => this.#cache.delete(user.name),
      );
    }
    const credential = await cached.credential;
    if (credential.clientCertificateData && credential.clientKeyData) {
      opts.cert = credential.clientCertificateData;
      opts.key = credential.clientKeyData;
    }
    if (credential.token) {
      opts.headers ??= {};
      opts.headers['Authorization'] = `Bearer ${credential.token}`;
    }
  }
}

/** Runs one plugin to its ExecCredential status; every failure is a DoctorError of one line. */
export function runExecPlugin(exec: ExecConfig, settings: ExecSettings): Promise<Credential> {
  const name = visible([exec.command, ...(exec.args ?? [])].join(' '));
  const what = `exec credential plugin "${name}"`;
  const mode = exec.interactiveMode ?? 'IfAvailable';
  const stdinIsTerminal = settings.stdinIsTerminal();
  if (mode === 'Always' && !stdinIsTerminal) {
    return Promise.reject(
      new DoctorError(`${what} needs a terminal (interactiveMode: Always) but stdin is not one; run it from a terminal or log in first`),
    );
  }
  const interactive = mode !== 'Never' && stdinIsTerminal;
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1beta1';
  const env = { ...process.env };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive } });
  const timeoutMs = settings.timeoutMs > 0 ? settings.timeoutMs : DEFAULT_EXEC_TIMEOUT_MS;

  return new Promise<Credential>((resolve, reject) => {
    // Its own process group (unless it may use the terminal, which a background group cannot read), so a
    // timeout kills the plugin's children too: a shell script's `sleep` would otherwise keep its pipes open.
    const child = spawn(exec.command, exec.args ?? [], {
      env,
      stdio: [interactive ? 'inherit' : 'ignore', 'pipe', interactive ? 'inherit' : 'pipe'],
      detached: !interactive,
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: Credential) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(interactive ? child.pid : -child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      const flag =
        settings.timeoutMs > 0
          ? `--request-timeout ${settings.timeoutMs / 1000}s`
          : `${timeoutMs / 1000}s (set --request-timeout to change it)`;
      finish(new DoctorError(`${what} did not finish within ${flag}; check that it can run without a terminal, or log in first`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4096);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'ENOENT'
          ? `not found${exec.installHint ? `; ${oneLine(exec.installHint)}` : '; install it or fix users[].user.exec.command in the kubeconfig'}`
          : `cannot be started (${err.code ?? err.message})`;
      finish(new DoctorError(`${what} ${hint}`));
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const last = stderr
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '')
          .pop();
        const status = code === null ? `was killed by ${signal}` : `exited with status ${code}`;
        finish(
          new DoctorError(`${what} ${status}${last ? `: ${visible(last)}` : ' and wrote nothing to stderr'}; run it by hand to see why`),
        );
        return;
      }
      finish(...parseCredential(stdout, apiVersion, what));
    });
  });
}

function parseCredential(stdout: string, apiVersion: string, what: string): [Error | undefined, Credential?] {
  let parsed: { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    return [new DoctorError(`${what} did not print an ExecCredential (its output is not JSON)`)];
  }
  if (parsed?.kind !== 'ExecCredential' || parsed.apiVersion !== apiVersion) {
    return [
      new DoctorError(
        `${what} printed ${typeof parsed?.kind === 'string' ? visible(parsed.kind) : 'something'} of ${typeof parsed?.apiVersion === 'string' ? visible(parsed.apiVersion) : 'no apiVersion'}, not an ExecCredential of ${apiVersion}`,
      ),
    ];
  }
  const status = parsed.status ?? {};
  const credential: Credential = {};
  for (const key of ['token', 'clientCertificateData', 'clientKeyData', 'expirationTimestamp'] as const) {
    if (typeof status[key] === 'string' && status[key] !== '') credential[key] = status[key];
  }
  if (!credential.token && !(credential.clientCertificateData && credential.clientKeyData)) {
    return [new DoctorError(`${what} printed an ExecCredential with neither a token nor a client certificate and key`)];
  }
  return [undefined, credential];
}

function oneLine(s: string): string {
  return visible(s.replace(/\s*[\r\n]+\s*/g, ' '));
}
