// A page of a metadata-only list, read without parsing the objects no rule keeps. A scan's `*` reads list every type
// metadata-only and keep a few objects of most (those being deleted, in a namespace being deleted, ...): parsing
// every object of such a page to drop almost all of them was most of a scan's CPU (at 20k objects, 13k ConfigMaps:
// JSON.parse ~35 ms, then checking and dropping each, then collecting the garbage). kube-apiserver writes a
// PartialObjectMetadataList in one form, which cannot occur inside a JSON string (its quotes would be escaped):
//
//   {"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{...},"items":[
//   {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{...}},{"kind":...}]}
//
// so each object starts where that prefix occurs. The objects whose text holds a needle (ListRequest.keepNeedles)
// are parsed; the others are counted. A page in any other form is left to JSON.parse.

const LIST_HEAD = /^\{"kind":"PartialObjectMetadataList","apiVersion":"meta\.k8s\.io\/v1","metadata":\{[^{}]*\},"items":\[/;
const OBJECT_HEAD = '{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{';
/** How an object ends and the next begins: the object's metadata and the object close, then a comma. */
const BETWEEN = '}},';

export interface MetadataPage {
  /** The objects on the page. */
  count: number;
  /** The objects whose text holds a needle, parsed: what `keep` may keep (not yet validated). */
  candidates: unknown[];
  /** The list's metadata.continue; undefined on the last page. */
  continueToken: string | undefined;
}

/**
 * The page read with only the objects holding a needle parsed, or undefined when the text is not a metadata-only
 * list page in kube-apiserver's form (or a candidate is not JSON): then the caller parses it whole, as any page.
 * Linear in the text: one native search per needle and for the object boundaries.
 */
export function readMetadataPage(text: string, needles: readonly string[]): MetadataPage | undefined {
  const head = LIST_HEAD.exec(text);
  if (!head) return undefined;
  // The text ends with the items' `]`, the list's `}` and maybe a newline.
  let last = text.length - 1;
  while (last >= 0 && /\s/.test(text[last]!)) last--;
  const itemsStart = head[0].length;
  const itemsEnd = last - 1;
  if (itemsEnd < itemsStart || text[itemsEnd] !== ']' || text[last] !== '}') return undefined;
  // The list's own metadata, parsed as the page with no objects: JSON exactly, or no page.
  let continueToken: string | undefined;
  try {
    const meta = (JSON.parse(`${head[0]}]}`) as { metadata: { continue?: unknown } }).metadata;
    if (meta.continue !== undefined && typeof meta.continue !== 'string') return undefined;
    continueToken = meta.continue === '' ? undefined : meta.continue;
  } catch {
    return undefined;
  }
  const starts: number[] = [];
  if (itemsEnd > itemsStart) {
    if (!text.startsWith(OBJECT_HEAD, itemsStart) || !text.startsWith('}}', itemsEnd - 2)) return undefined;
    starts.push(itemsStart);
    for (let at = text.indexOf(OBJECT_HEAD, itemsStart + 1); at !== -1 && at < itemsEnd; at = text.indexOf(OBJECT_HEAD, at + 1)) {
      if (!text.startsWith(BETWEEN, at - BETWEEN.length)) return undefined;
      starts.push(at);
    }
  }
  const hit = new Set<number>();
  // A needle with an escaped `/` can only be where the page has one, which kube-apiserver does not write.
  const escapedSlash = text.indexOf('\\/', itemsStart) !== -1;
  for (const needle of needles) {
    if (!escapedSlash && needle.includes('\\/')) continue;
    for (let at = text.indexOf(needle, itemsStart); at !== -1 && at < itemsEnd; at = text.indexOf(needle, at + needle.length)) {
      hit.add(objectAt(starts, at));
    }
  }
  const candidates: unknown[] = [];
  for (const i of [...hit].sort((a, b) => a - b)) {
    const end = i + 1 < starts.length ? starts[i + 1]! - 1 : itemsEnd;
    try {
      candidates.push(JSON.parse(text.slice(starts[i]!, end)));
    } catch {
      return undefined;
    }
  }
  return { count: starts.length, candidates, continueToken };
}

/** The index of the object whose text holds position `at` (`starts` ascending, starts[0] <= at). */
function objectAt(starts: readonly number[], at: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= at) low = mid;
    else high = mid - 1;
  }
  return low;
}
