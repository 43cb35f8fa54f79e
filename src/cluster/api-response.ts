// What callers need of API responses, apart from http.ts: importing this does not load @kubernetes/client-node,
// whose import alone costs about half a second, so snapshot scans and `version` stay fast.

export interface ApiResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body was empty or not JSON (parsed when first read). */
  readonly body: unknown;
  /** The body as text (decoded when first read). */
  readonly text: string;
  /** The body as it came (inflated when it came gzipped). */
  readonly bytes: Buffer;
  /**
   * Done with the answer: its bytes, text and parsed body are let go, and a body this process inflated or copied is
   * freed now; reading any of them after this throws. Without this, a list page's bytes outlive V8's young
   * generation (they are in use while other pages arrive), and once dead they wait for a full collection: at 20k
   * objects ~18 MiB of them were still held as a scan ended, the difference between the scan's peak RSS and a bare
   * client's.
   */
  release(): void;
}

export function oneLine(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const message = e?.message ?? String(err);
  const cause = e?.cause?.message && e.cause.message !== message ? ` (${e.cause.message})` : '';
  return `${message}${cause}`.replace(/\s*\n\s*/g, ' ').trim();
}

/** The Kubernetes Status `message` of an error response, or the raw text. */
export function statusMessage(res: ApiResponse): string {
  const message = (res.body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : res.text.slice(0, 300).replace(/\s+/g, ' ').trim() || `HTTP ${res.status}`;
}
