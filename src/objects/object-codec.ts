// The plaintext kube-apiserver puts under the transformers: an object serialised with the storage media type
// (protobuf by default for kube-apiserver, JSON with --storage-media-type=application/json). Reading sniffs the format,
// as upstream's storage codec reads either whichever one is configured for writes.
import { InvalidError } from '../lib/errors.js';
import { marshalJson } from '../lib/go/json.js';
import { readConfigMap, writeConfigMap } from './config-map.js';
import { readEvent, writeEvent } from './event.js';
import { beginK8sEnvelope, endK8sEnvelope, hasK8sProtobufMagic, readK8sEnvelope } from './k8s-protobuf.js';
import { readNamespace, writeNamespace } from './namespace.js';
import type { KubeObject } from './object-meta.js';
import { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';
import { normalizeSecretForStorage, readSecret, writeSecret, type Secret } from './secret.js';

export type StorageMediaType = 'protobuf' | 'json';

export interface EncodeOptions {
  /** Default 'protobuf', kube-apiserver's default storage media type. */
  mediaType?: StorageMediaType;
}

interface KindCodec {
  write(w: ProtoWriter, obj: Record<string, unknown>): void;
  read(r: ProtoReader): KubeObject;
}

const SECRET_CODEC: KindCodec = { write: writeSecret, read: readSecret };
const CONFIG_MAP_CODEC: KindCodec = { write: writeConfigMap, read: readConfigMap };
const NAMESPACE_CODEC: KindCodec = { write: writeNamespace, read: readNamespace };
const EVENT_CODEC: KindCodec = { write: writeEvent, read: readEvent };

function protobufCodec(apiVersion: string, kind: string): KindCodec | undefined {
  if (apiVersion !== 'v1') return undefined;
  if (kind === 'Secret') return SECRET_CODEC;
  if (kind === 'ConfigMap') return CONFIG_MAP_CODEC;
  if (kind === 'Namespace') return NAMESPACE_CODEC;
  if (kind === 'Event') return EVENT_CODEC;
  return undefined;
}

// Encoding is synchronous, so calls never interleave and one scratch buffer serves them all (wiped after each use).
const scratch = new ProtoWriter();

/**
 * Serialises an object for storage. resourceVersion and selfLink are never stored. A Secret must already be
 * normalised (normalizeSecretForStorage): stringData is refused rather than silently dropped.
 */
export function encodeObject(obj: KubeObject, opts?: EncodeOptions): Buffer {
  const { apiVersion, kind } = typeMetaOf(obj);
  const codec = protobufCodec(apiVersion, kind);
  if (opts?.mediaType === 'json') return codec === undefined ? encodeOtherJson(obj) : encodeKnownJson(obj, codec);
  if (codec === undefined) {
    throw new InvalidError(
      `cannot store apiVersion "${apiVersion}" kind "${kind}" as protobuf: only v1 Secret, ConfigMap, Namespace and Event are supported`,
    );
  }
  try {
    writeProtobuf(scratch, obj, codec, apiVersion, kind);
    return scratch.finish();
  } finally {
    scratch.reset();
  }
}

/** Parses a stored plaintext value (after the transformers): `k8s\0` protobuf or JSON. Throws InvalidError. */
export function decodeObject(bytes: Uint8Array): KubeObject {
  if (hasK8sProtobufMagic(bytes)) return decodeProtobuf(bytes);
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b) return decodeJson(bytes);
  if (startsWithAscii(bytes, 'k8s:enc:')) {
    throw new InvalidError('stored value is still encrypted (k8s:enc: prefix); no transformer decrypted it');
  }
  if (startsWithAscii(bytes, 'k8s')) {
    throw new InvalidError(`stored value has unsupported k8s protobuf encoding style 0x${(bytes[3] ?? 0).toString(16).padStart(2, '0')}`);
  }
  throw new InvalidError(`stored value of ${bytes.length} bytes is neither Kubernetes protobuf ("k8s\\0" prefix) nor JSON`);
}

function writeProtobuf(w: ProtoWriter, obj: KubeObject, codec: KindCodec, apiVersion: string, kind: string): void {
  const raw = beginK8sEnvelope(w, apiVersion, kind);
  codec.write(w, obj);
  endK8sEnvelope(w, raw);
}

function decodeProtobuf(bytes: Uint8Array): KubeObject {
  const r = new ProtoReader(bytes, 4);
  const { apiVersion, kind, rawStart, rawEnd } = readK8sEnvelope(r);
  const codec = protobufCodec(apiVersion, kind);
  if (codec === undefined) {
    throw new InvalidError(
      `cannot decode stored protobuf object apiVersion "${apiVersion}" kind "${kind}": only v1 Secret, ConfigMap, Namespace and Event are supported`,
    );
  }
  r.pos = rawStart;
  r.limit = rawEnd;
  return codec.read(r);
}

// Known kinds go through the protobuf mapping so that JSON holds exactly what protobuf would (Go's field order, empty
// fields omitted, whole-second UTC times, unknown fields dropped as Go's typed decoding drops them).
function canonicalize(obj: KubeObject, codec: KindCodec, apiVersion: string, kind: string): KubeObject {
  try {
    writeProtobuf(scratch, obj, codec, apiVersion, kind);
    return decodeProtobuf(scratch.view());
  } finally {
    scratch.reset();
  }
}

function encodeKnownJson(obj: KubeObject, codec: KindCodec): Buffer {
  return goJson(canonicalize(obj, codec, obj.apiVersion, obj.kind));
}

function encodeOtherJson(obj: KubeObject): Buffer {
  const copy: Record<string, unknown> = { ...obj };
  if (obj.metadata != null) {
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw new InvalidError('must be an object', { field: 'metadata' });
    }
    const { resourceVersion: _rv, selfLink: _sl, ...metadata } = obj.metadata;
    copy.metadata = metadata;
  }
  return goJson(copy);
}

/**
 * Like Go's json.Encoder, which the apiserver's JSON serializer uses: HTML-safe escapes and a trailing newline. Fields
 * keep their order: a known kind's comes from its protobuf (Go struct) order, another object's as it was given.
 */
function goJson(value: unknown): Buffer {
  return Buffer.from(`${marshalJson(value, { structOrder: true })}\n`, 'utf8');
}

function decodeJson(bytes: Uint8Array): KubeObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    // The SyntaxError quotes the input, which may be Secret data; it is deliberately not kept as the cause.
    throw new InvalidError('malformed stored object: not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidError('malformed stored object: JSON value is not an object');
  }
  let obj = parsed as KubeObject;
  const { apiVersion, kind } = typeMetaOf(obj);
  const codec = protobufCodec(apiVersion, kind);
  if (codec === undefined) {
    if (obj.metadata != null && (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))) {
      throw new InvalidError('malformed stored object: metadata is not an object');
    }
    if (obj.metadata != null) {
      delete obj.metadata.resourceVersion;
      delete obj.metadata.selfLink;
    }
    return obj;
  }
  // Upstream's decoder converts to the internal version (folding stringData into data) and applies defaults.
  if (codec === SECRET_CODEC && obj.stringData != null) obj = normalizeSecretForStorage(obj as Secret);
  try {
    return canonicalize(obj, codec, apiVersion, kind);
  } catch (err) {
    if (!(err instanceof InvalidError)) throw err;
    throw new InvalidError(`malformed stored object (JSON ${kind}): ${err.message}`, { cause: err });
  }
}

function typeMetaOf(obj: KubeObject): { apiVersion: string; kind: string } {
  const { apiVersion, kind } = obj;
  if (typeof kind !== 'string' || kind === '') throw new InvalidError('object has no kind', { field: 'kind' });
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    throw new InvalidError('object has no apiVersion', { field: 'apiVersion' });
  }
  return { apiVersion, kind };
}

function startsWithAscii(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}
