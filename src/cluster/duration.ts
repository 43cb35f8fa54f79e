import { DoctorError } from '../errors.ts';

/** Nanoseconds per unit, as Go's time.ParseDuration spells them. */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.Duration is an int64 of nanoseconds; larger values are "invalid duration" there. */
const MAX_DURATION_NS = 9_223_372_036_854_775_807n;

// The micro signs as escapes: the bundle stays ASCII, which bin/kubectl-doctor reads faster (runBundle).
const COMPONENT = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;

/**
 * Parses a duration flag the way kubectl parses --request-timeout (clientcmd.ParseTimeout):
 * a bare non-negative integer is seconds ("30"), otherwise a Go duration ("500ms", "1.5s", "1h30m").
 * Returns milliseconds; 0 means "no timeout". Positive sub-millisecond durations round up to 1 so they
 * never turn into "no timeout". Negative values are rejected (kubectl would accept a negative Go
 * duration, but it is never meaningful for our flags).
 *
 * @param flag the flag name for the error message, with or without leading dashes ("request-timeout" or
 *   "--request-timeout" both print as `--request-timeout`).
 * @param examples what the error message offers as valid values (the meaning of 0 differs between flags).
 */
export function parseDuration(value: string, flag: string, examples = '30s, 2m or 0 for no timeout'): number {
  const ns = parseNanoseconds(value.trim());
  if (ns === undefined) {
    const negative = /^-\s*[\d.]/.test(value.trim()) ? 'a duration cannot be negative; ' : '';
    throw new DoctorError(
      `invalid ${flag.startsWith('-') ? flag : `--${flag}`} ${JSON.stringify(value)}: ${negative}use a duration such as ${examples}`,
    );
  }
  // Round up to whole milliseconds.
  return Number((ns + 999_999n) / 1_000_000n);
}

function parseNanoseconds(input: string): bigint | undefined {
  if (input === '') return undefined;
  // Plain integer: seconds (strconv.ParseInt accepts a leading sign).
  if (/^[+-]?\d+$/.test(input)) {
    const n = BigInt(input);
    if (n < 0n) return undefined;
    const ns = n * UNIT_NS.s!;
    return ns > MAX_DURATION_NS ? undefined : ns;
  }
  let rest = input;
  if (rest.startsWith('+')) rest = rest.slice(1);
  if (rest.startsWith('-')) return undefined;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) return undefined;
    const [whole, intPart = '', fracPart = '', unit = ''] = m;
    // Go requires at least one digit on one side of the dot: ".5s" and "5.s" are valid, ".s" is not.
    if (intPart === '' && fracPart === '') return undefined;
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined) return undefined;
    let ns = BigInt(intPart === '' ? '0' : intPart) * unitNs;
    if (fracPart !== '') {
      // Go truncates the fractional part to whole nanoseconds.
      ns += (BigInt(fracPart) * unitNs) / 10n ** BigInt(fracPart.length);
    }
    total += ns;
    if (total > MAX_DURATION_NS) return undefined;
    rest = rest.slice(whole.length);
  }
  return total;
}
