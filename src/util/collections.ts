/**
 * Adds `value` to the list under `key`, creating it: groups grow in place. A copy per addition
 * (`map.set(key, [...(map.get(key) ?? []), value])`) makes a group of n objects cost n²/2 copies.
 */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * The largest of `values` (-Infinity for none, as Math.max()). `Math.max(...values)` passes each value as an argument
 * and throws RangeError (call stack size) past about 120,000 of them.
 */
export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max || Number.isNaN(v)) max = v;
  return max;
}

/**
 * Appends every item of `items` to `target`. `target.push(...items)` passes each item as an argument and throws
 * RangeError (call stack size) past about 120,000 of them: a List of that many objects, a rule with that many findings.
 */
export function pushAll<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}

/**
 * Orders strings by their UTF-16 code units, as Go's sort.Strings (kubectl) does: the same order whatever the user's
 * locale (`localeCompare` follows LANG through ICU, so a report's order changed with it), and no ICU collator to set
 * up (the first `localeCompare` of a process costs ~6 ms).
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
