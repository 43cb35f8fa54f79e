import { visible } from '../util/terminal.ts';

/**
 * The API server's warnings (src/cluster/warnings.ts) as kubectl prints them (client-go's WarningWriter with
 * Deduplicate): "Warning: <text>" on stderr, each once per run. While a progress line may be on the terminal they
 * are held, and printed once it is erased (release): written beside it, they would garble it. In a run over several
 * contexts each warning says its context.
 */
export class ServerWarnings {
  readonly #stream: { write(text: string): unknown };
  readonly #said = new Set<string>();
  #held: string[] | undefined;

  constructor(stream: { write(text: string): unknown }) {
    this.#stream = stream;
  }

  /** What one connection's warnings are told to (ApiClientOptions.warning); `context` in a run over several. */
  sink(context?: string): (text: string) => void {
    const prefix = context === undefined ? '' : `context ${context}: `;
    return (text) => {
      const line = `Warning: ${visible(prefix + text)}\n`;
      if (this.#said.has(line)) return;
      this.#said.add(line);
      if (this.#held) this.#held.push(line);
      else this.#stream.write(line);
    };
  }

  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const line of held) this.#stream.write(line);
  }
}
