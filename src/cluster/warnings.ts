// The API server's warnings: `Warning: 299 - "text"` response headers (deprecated APIs, admission webhooks, field
// validation), which kubectl prints as "Warning: text". Read as client-go reads them (rest/warnings.go handleWarnings
// over k8s.io/apimachinery/pkg/util/net ParseWarningHeaders): RFC 7234 5.5 warn-code warn-agent "warn-text" with an
// optional quoted warn-date, several to a header separated by commas; a header is read up to its first malformed
// warning; only code 299 with a text counts. The text is the server's (and its webhooks'): printed, it goes through
// visible() like any other cluster data.

/** The texts of the 299 warnings in a response's Warning headers, in order. */
export function warningTexts(headers: string | readonly string[] | undefined): string[] {
  const texts: string[] = [];
  for (const header of typeof headers === 'string' ? [headers] : (headers ?? [])) {
    for (let at = 0; ;) {
      const warning = readWarning(header, at);
      if (warning === undefined) break;
      if (warning.code === '299' && warning.text !== '') texts.push(warning.text);
      if (warning.next >= header.length) break;
      at = warning.next;
    }
  }
  return texts;
}

/** C0 controls, DEL and C1 controls: Go's unicode.IsControl, which makes a warning malformed. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * One warning of `header` from `at` (leading space allowed), and where the next begins (after its comma); undefined
 * when what is there is not a warning.
 */
function readWarning(header: string, at: number): { code: string; text: string; next: number } | undefined {
  at = skipSpace(header, at);
  const codeEnd = header.indexOf(' ', at);
  if (codeEnd < 0) return undefined;
  const code = header.slice(at, codeEnd);
  if (!/^[0-9]{3}$/.test(code)) return undefined;
  const agentEnd = header.indexOf(' ', codeEnd + 1);
  if (agentEnd < 0) return undefined;
  const agent = header.slice(codeEnd + 1, agentEnd);
  if (agent === '' || CONTROL.test(agent)) return undefined;
  const quoted = readQuoted(header, agentEnd + 1);
  if (quoted === undefined || CONTROL.test(quoted.text)) return undefined;
  let next = skipSpace(header, quoted.next);
  // An optional warn-date: quoted, with no quotes or escapes inside.
  if (header[next] === '"') {
    const close = header.indexOf('"', next + 1);
    if (close < 0) return undefined;
    next = skipSpace(header, close + 1);
  }
  if (next < header.length) {
    if (header[next] !== ',') return undefined;
    next = skipSpace(header, next + 1);
  }
  return { code, text: quoted.text, next };
}

/** A quoted string at `at` whose backslash escapes the next character; undefined without both quotes. */
function readQuoted(header: string, at: number): { text: string; next: number } | undefined {
  if (header[at] !== '"') return undefined;
  let text = '';
  let from = at + 1;
  for (let i = from; i < header.length; i++) {
    const c = header[i];
    if (c === '\\') {
      text += header.slice(from, i);
      from = i + 1;
      i++;
    } else if (c === '"') {
      return { text: text + header.slice(from, i), next: i + 1 };
    }
  }
  return undefined;
}

function skipSpace(s: string, at: number): number {
  while (at < s.length && (s[at] === ' ' || s[at] === '\t')) at++;
  return at;
}
