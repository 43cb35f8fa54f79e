import { visible } from '../util/terminal.ts';

/**
 * The API server's warnings (src/cluster/warnings.ts). Those on a write (--fix, restore: an admission policy's or a
 * webhook's, a deprecated API) are printed as kubectl prints them (client-go's WarningWriter with Deduplicate):
 * "Warning: <text>" on stderr, each once per run. Those on a scan's reads are diagnostics (-v): a scan lists every
 * type the server serves, and a cluster that serves a deprecated version (v1 Endpoints, v1 ComponentStatus on any
 * cluster since 1.33) would otherwise say so on every scan, about a list the user never asked for. (So nothing is
 * printed while a scan's progress line is on the terminal: a scan only reads.) In a run over several contexts each
 * warning says its context.
 */
export class ServerWarnings {
  readonly #stream: { write(text: string): unknown };
  readonly #debug: ((message: string) => void) | undefined;
  readonly #said = new Set<string>();

  constructor(stream: { write(text: string): unknown }, debug?: (message: string) => void) {
    this.#stream = stream;
    this.#debug = debug;
  }

  /** What one connection's warnings are told to (ApiClientOptions.warning); `context` in a run over several. */
  sink(context?: string): (text: string, request: { method: string; path: string }) => void {
    const prefix = context === undefined ? '' : `context ${context}: `;
    return (text, request) => {
      if (request.method === 'GET') {
        this.#debug?.(`${prefix}the API server warns on GET ${request.path}: ${text}`);
        return;
      }
      const line = `Warning: ${visible(prefix + text)}\n`;
      if (this.#said.has(line)) return;
      this.#said.add(line);
      this.#stream.write(line);
    };
  }
}
