import type { ScanProgress } from '../engine/scan.ts';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Nothing for the first second: a quick scan stays quiet. */
const DELAY_MS = 1000;
/** At most this often: a fast stream of lists must not flood a slow terminal. */
const REDRAW_MS = 100;
/** Carriage return, then erase to the end of the line (ECMA-48 EL 0): the line is rewritten in place. */
const REWRITE = '\r\u001b[K';

/**
 * The scan's progress on one terminal line, rewritten in place: "types listed / total, objects so far". Shown only
 * once the scan has taken a second, and erased at the end so the report starts on a clean line.
 */
export class ProgressLine {
  readonly #stream: ProgressStream;
  #state: ScanProgress | undefined;
  #timer: NodeJS.Timeout | undefined;
  #shown = false;
  #drawn = false;
  #lastDraw = 0;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
    this.#timer = setTimeout(() => {
      this.#shown = true;
      this.#draw();
    }, DELAY_MS);
    // A pending first draw must not keep the process alive.
    this.#timer.unref();
  }

  readonly update = (state: ScanProgress): void => {
    this.#state = state;
    if (this.#shown && Date.now() - this.#lastDraw >= REDRAW_MS) this.#draw();
  };

  /** Stops drawing and erases the line if it was drawn. */
  done(): void {
    clearTimeout(this.#timer);
    this.#shown = false;
    if (this.#drawn) this.#stream.write(REWRITE);
    this.#drawn = false;
  }

  #draw(): void {
    const s = this.#state;
    const text = s
      ? `listed ${s.listed}/${s.total} resource types, ${s.objects.toLocaleString('en-US')} objects`
      : 'discovering resource types...';
    // A line longer than the terminal would wrap, and \r would then rewrite only its last part.
    const width = (this.#stream.columns ?? 80) - 1;
    this.#stream.write(`${REWRITE}${text.slice(0, Math.max(0, width))}`);
    this.#drawn = true;
    this.#lastDraw = Date.now();
  }
}

/**
 * Progress goes to stderr when it is a terminal and nothing else writes there line by line (-v); not when a
 * program-readable report goes into a pipe or file (a job's log is no place for a line rewritten in place).
 */
export function wantsProgress(stderr: ProgressStream, verbose: number): boolean {
  // Where the report goes does not matter: `-o json > report.json` through a slow link is exactly when a blank
  // terminal leaves the user guessing. -v prints its own lines, which a rewritten line would garble.
  return stderr.isTTY === true && verbose === 0;
}
