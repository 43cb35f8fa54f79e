// KubeVela's compressed text (github.com/kubevela/pkg util/compression CompressedText, used by a ResourceTracker's
// `spec.compression`): `data` is base64(gzip|zstd(JSON)), `type` says which. Read by the KubeVela rule and by the dump
// redaction (./dump-redactions.ts), which writes a compressed tracker's entries out decoded to redact them.
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

export type Compression = 'gzip' | 'zstd';

/** The JSON value `data` holds; throws when it is not base64 of that compression of JSON. */
export function decodeCompressedJson(data: string, compression: Compression): unknown {
  const raw = Buffer.from(data, 'base64');
  return JSON.parse((compression === 'gzip' ? gunzipSync(raw) : zstdDecompressSync(raw)).toString('utf8'));
}

/** `value` encoded as vela-core stores it: base64(compress(JSON)), with the same algorithm. */
export function encodeCompressedJson(value: unknown, compression: Compression): string {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  return (compression === 'gzip' ? gzipSync(json) : zstdCompressSync(json)).toString('base64');
}
