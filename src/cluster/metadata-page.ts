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
//
// An object whose text holds only reference needles (ListRequest.referenceNeedles: a `*` read keeps the dependents a
// foreground deletion waits for, and in a cluster that is every Pod, ReplicaSet, EndpointSlice, ...) is read as its
// name, namespace and ownerReferences alone. Go writes ObjectMeta's fields in the order of its struct (name,
// generateName, namespace, ..., labels, annotations, ownerReferences, finalizers, managedFields), so the name and
// namespace open the metadata, and `"ownerReferences":[` can only be that field: in a label or annotation it would
// be a key with a string value, in managedFields a key with a prefix (`"f:ownerReferences"`). An object in any other
// form is parsed whole, as any candidate.

const LIST_HEAD = /^\{"kind":"PartialObjectMetadataList","apiVersion":"meta\.k8s\.io\/v1","metadata":\{[^{}]*\},"items":\[$/;
/** Where the list's own part ends: a quote in a string is escaped, so this cannot be inside the list's metadata. */
const ITEMS = Buffer.from(',"items":[');
const OBJECT_HEAD = Buffer.from('{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{');
/** How an object ends and the next begins: the object's metadata and the object close, then a comma. */
const BETWEEN = Buffer.from('}},');
const OBJECTS_END = Buffer.from('}}');
const ESCAPED_SLASH = Buffer.from('\\/');
const NAME = Buffer.from('"name":');
const GENERATE_NAME = Buffer.from(',"generateName":');
const NAMESPACE = Buffer.from(',"namespace":');
const OWNER_REFERENCES = Buffer.from(',"ownerReferences":[');
/** What may follow ownerReferences in ObjectMeta: the end of the metadata, its finalizers or its managedFields. */
const AFTER_OWNER_REFERENCES = [Buffer.from('}'), Buffer.from(',"finalizers":'), Buffer.from(',"managedFields":')];

export interface MetadataPageObjects {
  /** The objects on the page. */
  count: number;
  /** The objects whose text holds a needle, parsed: what `keep` may keep (not yet validated). */
  candidates: unknown[];
}

/** A page whose list part is read: its continue token is known before its objects are read. */
export interface OpenedMetadataPage {
  /** The list's metadata.continue; undefined on the last page. */
  continueToken: string | undefined;
  /**
   * The objects, with only those holding a needle parsed; undefined when they are not in kube-apiserver's form. Of
   * an object holding only `references.needles`, only its name, namespace and ownerReferences (ReferenceMetadata).
   */
  read(needles: readonly string[], references?: References): MetadataPageObjects | undefined;
}

/** ListRequest.referenceNeedles, and whether the list's type is namespaced (its objects must name their namespace). */
export interface References {
  needles: readonly string[];
  namespaced: boolean;
}

/** What a candidate read as a reference holds: `{ metadata: ReferenceMetadata }`. */
export interface ReferenceMetadata {
  name: string;
  namespace?: string;
  ownerReferences?: unknown;
}

/**
 * The list's own part of a page (its continue token), or undefined when the page is not a metadata-only list page
 * in kube-apiserver's form: then the caller parses it whole, as any page (also when `read` finds its objects in
 * another form, or a candidate that is not JSON). Read as the bytes it came as: only the list's own part and, later,
 * the candidates are decoded (JSON's structure is ASCII, so a byte search finds what a text search would). Linear in
 * the page: one native search per needle and for the object boundaries.
 */
export function openMetadataPage(page: Buffer): OpenedMetadataPage | undefined {
  const items = page.indexOf(ITEMS);
  if (items === -1) return undefined;
  const itemsStart = items + ITEMS.length;
  const head = page.toString('utf8', 0, itemsStart);
  if (!LIST_HEAD.test(head)) return undefined;
  // The page ends with the items' `]`, the list's `}` and maybe a newline.
  let last = page.length - 1;
  while (last >= 0 && isSpace(page[last]!)) last--;
  const itemsEnd = last - 1;
  if (itemsEnd < itemsStart || page[itemsEnd] !== 0x5d /* ] */ || page[last] !== 0x7d /* } */) return undefined;
  // The list's own metadata, parsed as the page with no objects: JSON exactly, or no page.
  let continueToken: string | undefined;
  try {
    const meta = (JSON.parse(`${head}]}`) as { metadata: { continue?: unknown } }).metadata;
    if (meta.continue !== undefined && typeof meta.continue !== 'string') return undefined;
    continueToken = meta.continue === '' ? undefined : meta.continue;
  } catch {
    return undefined;
  }
  return { continueToken, read: (needles, references) => readObjects(page, itemsStart, itemsEnd, needles, references) };
}

function readObjects(
  page: Buffer,
  itemsStart: number,
  itemsEnd: number,
  needles: readonly string[],
  references: References | undefined,
): MetadataPageObjects | undefined {
  const starts: number[] = [];
  if (itemsEnd > itemsStart) {
    if (!holdsAt(page, OBJECT_HEAD, itemsStart) || !holdsAt(page, OBJECTS_END, itemsEnd - OBJECTS_END.length)) return undefined;
    starts.push(itemsStart);
    for (let at = page.indexOf(OBJECT_HEAD, itemsStart + 1); at !== -1 && at < itemsEnd; at = page.indexOf(OBJECT_HEAD, at + 1)) {
      if (!holdsAt(page, BETWEEN, at - BETWEEN.length)) return undefined;
      starts.push(at);
    }
  }
  // Each object a needle is in: true when a needle other than a reference needle is in it.
  const hit = new Map<number, boolean>();
  // A needle with an escaped `/` can only be where the page has one, which kube-apiserver does not write.
  const escapedSlash = page.indexOf(ESCAPED_SLASH, itemsStart) !== -1;
  for (const needle of needles) {
    if (!escapedSlash && needle.includes('\\/')) continue;
    const whole = references === undefined || !references.needles.includes(needle);
    const bytes = Buffer.from(needle);
    for (let at = page.indexOf(bytes, itemsStart); at !== -1 && at < itemsEnd; at = page.indexOf(bytes, at + bytes.length)) {
      const i = objectAt(starts, at);
      if (whole || !hit.has(i)) hit.set(i, whole);
    }
  }
  const candidates: unknown[] = [];
  for (const i of [...hit.keys()].sort((a, b) => a - b)) {
    const end = i + 1 < starts.length ? starts[i + 1]! - 1 : itemsEnd;
    const reference = hit.get(i) ? undefined : readReference(page, starts[i]!, end, references!.namespaced);
    if (reference !== undefined) {
      candidates.push({ metadata: reference });
      continue;
    }
    try {
      candidates.push(JSON.parse(page.toString('utf8', starts[i]!, end)));
    } catch {
      return undefined;
    }
  }
  return { count: starts.length, candidates };
}

/**
 * The name, namespace and ownerReferences of the object written in page[start, end), or undefined when it is not
 * written as Go writes ObjectMeta (module comment), so the caller parses it whole.
 */
function readReference(page: Buffer, start: number, end: number, namespaced: boolean): ReferenceMetadata | undefined {
  let at = start + OBJECT_HEAD.length;
  if (!holdsAt(page, NAME, at)) return undefined;
  const name = readString(page, at + NAME.length, end);
  if (name === undefined) return undefined;
  at = name.next;
  if (holdsAt(page, GENERATE_NAME, at)) {
    const generateName = readString(page, at + GENERATE_NAME.length, end);
    if (generateName === undefined) return undefined;
    at = generateName.next;
  }
  let namespace: string | undefined;
  if (holdsAt(page, NAMESPACE, at)) {
    const read = readString(page, at + NAMESPACE.length, end);
    if (read === undefined) return undefined;
    namespace = read.value;
    at = read.next;
  }
  // A namespaced object written with its namespace elsewhere (or a cluster-scoped one with one) is not Go's order.
  if ((namespace !== undefined) !== namespaced) return undefined;
  const reference: ReferenceMetadata = { name: name.value, ...(namespace !== undefined ? { namespace } : {}) };
  // Searched within the object: a search past it, for each object without ownerReferences, would be quadratic in a
  // page of them (a label key "blockOwnerDeletion" holds the needle too).
  const found = page.subarray(at, end).indexOf(OWNER_REFERENCES);
  if (found === -1) return reference;
  const open = at + found + OWNER_REFERENCES.length - 1;
  const close = arrayEnd(page, open, end);
  if (close === undefined || !AFTER_OWNER_REFERENCES.some((after) => holdsAt(page, after, close + 1))) return undefined;
  try {
    reference.ownerReferences = JSON.parse(page.toString('utf8', open, close + 1));
  } catch {
    return undefined;
  }
  return reference;
}

/** The JSON string starting at page[at] (a `"`), decoded, and where the text after it starts; undefined if none. */
function readString(page: Buffer, at: number, end: number): { value: string; next: number } | undefined {
  if (page[at] !== 0x22 /* " */) return undefined;
  for (let i = at + 1; i < end; i++) {
    const byte = page[i]!;
    if (byte === 0x5c /* \ */) i++;
    else if (byte === 0x22) {
      try {
        return { value: JSON.parse(page.toString('utf8', at, i + 1)) as string, next: i + 1 };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Where the JSON array opened at page[open] closes (strings skipped), or undefined before `end`. */
function arrayEnd(page: Buffer, open: number, end: number): number | undefined {
  let depth = 0;
  for (let i = open; i < end; i++) {
    const byte = page[i]!;
    if (byte === 0x22 /* " */) {
      for (i++; i < end && page[i] !== 0x22; i++) if (page[i] === 0x5c /* \ */) i++;
    } else if (byte === 0x5b /* [ */ || byte === 0x7b /* { */) depth++;
    else if (byte === 0x5d /* ] */ || byte === 0x7d /* } */) {
      if (--depth === 0) return byte === 0x5d ? i : undefined;
    }
  }
  return undefined;
}

/**
 * Whether `page` holds `bytes` at `at`. Compared here byte by byte: it is asked once per object of a page, for a few
 * bytes, and Buffer's compare() validates its four offsets in JavaScript before it calls into C++ (at 20k objects
 * 10-20 ms of a scan's CPU went to that).
 */
function holdsAt(page: Buffer, bytes: Buffer, at: number): boolean {
  if (at < 0 || at + bytes.length > page.length) return false;
  for (let i = 0; i < bytes.length; i++) if (page[at + i] !== bytes[i]) return false;
  return true;
}

/** JSON's whitespace (RFC 8259): space, tab, line feed, carriage return. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
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
