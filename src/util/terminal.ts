import stringWidth from 'string-width';

/**
 * Cluster data is written by tenants: names, labels, annotations and condition messages can hold ESC, BEL, OSC
 * sequences or bidi overrides that a terminal would obey (recolour, retitle, write the clipboard with OSC 52, hide
 * text). Everything human-facing that can carry cluster data goes through `visible`, which shows such characters
 * as escapes instead (kubectl does the same for ESC and CR: k8s.io/cli-runtime printers.EscapeTerminal).
 * JSON and YAML output stay exact. One pass of one regular expression: linear in the text.
 */
// C0 controls (but not \n when the caller keeps line breaks), DEL, C1 controls, line/paragraph separators and the
// bidi embedding/override/isolate characters (Trojan Source, CVE-2021-42574).
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_AND_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character shown as an escape (`\e`, `\n`, `\x07`, `\u202e`): safe to print on a terminal. */
export function visible(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? CONTROL : CONTROL_AND_NEWLINE, escapeOne);
}

const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;

/**
 * Columns `text` takes on a terminal: East Asian wide characters and emoji take two, combining marks none. Tables
 * pad and wrap by this, measured on `visible` text. Linear in the text.
 */
export function displayWidth(text: string): number {
  return PRINTABLE_ASCII.test(text) ? text.length : stringWidth(text);
}
