// Reads support bundles as downloaded (.zip, .tar, .tar.gz/.tgz) in memory, never unpacking to disk.
// Node's zlib does the decompression; the two container formats are read here because what a dump needs of them is
// small (regular files and their names) and a reader this size is checked line by line against hostile input,
// where a dependency would bring extraction to disk, links and permissions that only widen what must be refused.
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { DoctorError } from '../errors.ts';
import { visible } from '../util/terminal.ts';

export interface ArchiveEntry {
  name: string;
  data: Buffer;
}

export interface ArchiveLimits {
  /** Uncompressed bytes of all entries together (tar: of the whole stream). */
  maxTotalSize: number;
  /** Entries of any type. */
  maxEntries: number;
  /** Only entries whose name this accepts are decompressed (zip) or kept (tar). */
  wanted: (name: string) => boolean;
}

const ARCHIVE_SUFFIXES = ['.zip', '.tar', '.tar.gz', '.tgz'] as const;

export function isArchiveName(path: string): boolean {
  const lower = path.toLowerCase();
  return ARCHIVE_SUFFIXES.some((s) => lower.endsWith(s));
}

/** The regular files of an archive; anything hostile (links, `..`, absolute names, bombs) is refused, naming the entry. */
export function readArchive(path: string, bytes: Buffer, limits: ArchiveLimits): ArchiveEntry[] {
  const lower = path.toLowerCase();
  if (lower.endsWith('.zip')) return readZip(path, bytes, limits);
  if (lower.endsWith('.tar')) return readTar(path, bytes, limits);
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limits.maxTotalSize });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw refuse(path, undefined, `uncompresses to more than ${limits.maxTotalSize} bytes`);
    throw refuse(path, undefined, `not a gzip file: ${e.message}`);
  }
  return readTar(path, tar, limits);
}

function refuse(path: string, entry: string | undefined, why: string): DoctorError {
  const where = entry === undefined ? visible(path) : `${visible(path)}: entry ${visible(entry)}`;
  return new DoctorError(`snapshot ${where}: ${why}; refusing the archive (unpack it yourself and pass the directory if you trust it)`);
}

/** `..`, absolute and drive-letter names would leave the archive if unpacked: a bundle never has them. */
function checkName(path: string, name: string): void {
  if (name.includes('\0')) throw refuse(path, name, 'a name with a NUL byte');
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) throw refuse(path, name, 'an absolute path');
  if (name.split(/[/\\]/).includes('..')) throw refuse(path, name, 'a path that leaves the archive (..)');
}

// tar (POSIX ustar, pax and GNU long names): 512-byte headers, each followed by its data padded to 512 bytes.
function readTar(path: string, tar: Buffer, limits: ArchiveLimits): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  let count = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    if (++count > limits.maxEntries) throw refuse(path, undefined, `more than ${limits.maxEntries} entries`);
    const sum = header.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 32 : b), 0);
    if (sum !== octal(header.subarray(148, 156))) throw refuse(path, undefined, `not a tar file (bad header checksum at byte ${offset})`);
    const size = tarSize(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]!);
    const prefix = header[257] === 0x75 /* ustar */ ? cString(header.subarray(345, 500)) : '';
    let name = longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = undefined;
    const start = offset + 512;
    if (size < 0 || start + size > tar.length) throw refuse(path, name, 'truncated (its size runs past the end of the archive)');
    const data = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = cString(data);
    } else if (type === 'x') {
      longName = paxPath(data);
    } else if (type === 'g') {
      continue;
    } else {
      checkName(path, name);
      if (type === '1' || type === '2') throw refuse(path, name, `a ${type === '2' ? 'symbolic' : 'hard'} link`);
      if (type === '5') continue;
      if (type !== '0' && type !== '\0' && type !== '7') throw refuse(path, name, `not a regular file (tar type ${visible(type)})`);
      name = name.replace(/^(\.\/)+/, '');
      if (limits.wanted(name)) entries.push({ name, data });
    }
  }
  return entries;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
}

function octal(bytes: Buffer): number {
  const text = cString(bytes).trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : -1;
}

/** Sizes over 8 GiB use base-256 (first byte 0x80); no dump entry is that large, so they are refused as too large. */
function tarSize(bytes: Buffer): number {
  if ((bytes[0]! & 0x80) !== 0) return Number.MAX_SAFE_INTEGER;
  return octal(bytes);
}

/** The `path` record of a pax extended header (`<length> path=<name>\n` records). */
function paxPath(data: Buffer): string | undefined {
  for (const record of data.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/s.exec(record);
    if (match) return match[1];
  }
  return undefined;
}

// zip: the central directory at the end lists every entry; each entry's data follows its local header.
function readZip(path: string, zip: Buffer, limits: ArchiveLimits): ArchiveEntry[] {
  const eocd = findEndOfCentralDirectory(zip);
  if (eocd < 0) throw refuse(path, undefined, 'not a zip file (no end of central directory)');
  const total = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (total === 0xffff || offset === 0xffffffff)
    throw refuse(path, undefined, 'a ZIP64 archive (over 4 GiB or 65535 entries), which is not read');
  if (total > limits.maxEntries) throw refuse(path, undefined, `more than ${limits.maxEntries} entries`);
  const entries: ArchiveEntry[] = [];
  let budget = limits.maxTotalSize;
  for (let i = 0; i < total; i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== 0x02014b50)
      throw refuse(path, undefined, `corrupt central directory at entry ${i + 1}`);
    const madeBy = zip.readUInt16LE(offset + 4) >> 8;
    const flags = zip.readUInt16LE(offset + 8);
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    const compressed = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const next = offset + 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
    const external = zip.readUInt32LE(offset + 38);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset = next;
    checkName(path, name);
    // Unix file type bits (made on Unix); none at all is a regular file, as some writers leave them out.
    const fileType = madeBy === 3 ? (external >>> 16) & 0o170000 : 0;
    if (fileType === 0o120000) throw refuse(path, name, 'a symbolic link');
    if (name.endsWith('/') || fileType === 0o040000) continue;
    if (fileType !== 0 && fileType !== 0o100000) throw refuse(path, name, 'not a regular file');
    if (!limits.wanted(name)) continue;
    if ((flags & 1) !== 0) throw refuse(path, name, 'encrypted');
    if (size > budget) throw refuse(path, name, `the entries uncompress to more than ${limits.maxTotalSize} bytes`);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50)
      throw refuse(path, name, 'corrupt (no local header where the directory says)');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (start + compressed > zip.length) throw refuse(path, name, 'truncated');
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) {
      data = raw;
    } else if (method === 8) {
      // The declared size bounds the output: an entry that inflates past it (a zip bomb lying about its size) fails.
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
      } catch (err) {
        throw refuse(
          path,
          name,
          (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'inflates past its declared size' : 'corrupt deflate data',
        );
      }
    } else {
      throw refuse(path, name, `compression method ${method} (only stored and deflate are read)`);
    }
    if (data.length !== size || crc32(data) !== crc) throw refuse(path, name, 'corrupt (size or CRC does not match the directory)');
    budget -= size;
    entries.push({ name, data });
  }
  return entries;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535.
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) return i;
  }
  return -1;
}

// Writing (kubectl doctor dump): the same tar format the reader above takes, gzip-compressed by the caller. Regular
// files only, each a ustar header (a pax `path` record first when the name is over 100 bytes), data padded to 512.
const TAR_BLOCK = 512;

/** The header (and pax record) of one regular file of `size` bytes, mode 0600. */
export function tarFileHeader(name: string, size: number, mtime: Date): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length <= 100) return ustarHeader(nameBytes, size, mtime, '0');
  const record = (length: number) => `${length} path=${name}\n`;
  // The record's length counts its own digits.
  let length = Buffer.byteLength(record(0));
  while (Buffer.byteLength(record(length)) !== length) length = Buffer.byteLength(record(length));
  const pax = Buffer.from(record(length), 'utf8');
  return Buffer.concat([
    ustarHeader(Buffer.from('PaxHeader', 'utf8'), pax.length, mtime, 'x'),
    tarPadded(pax),
    ustarHeader(nameBytes.subarray(0, 100), size, mtime, '0'),
  ]);
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK);
}

function tarPadded(data: Buffer): Buffer {
  return Buffer.concat([data, tarPadding(data.length)]);
}

function ustarHeader(name: Buffer, size: number, mtime: Date, type: '0' | 'x'): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  const octalField = (value: number, offset: number, length: number) => {
    header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
  };
  name.copy(header, 0, 0, Math.min(name.length, 100));
  octalField(0o600, 100, 8);
  octalField(0, 108, 8);
  octalField(0, 116, 8);
  octalField(size, 124, 12);
  octalField(Math.floor(mtime.getTime() / 1000), 136, 12);
  header.write(type, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  // The checksum is computed with its own field as spaces, then written as six octal digits, NUL, space.
  header.fill(0x20, 148, 156);
  const sum = header.reduce((acc, b) => acc + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}
