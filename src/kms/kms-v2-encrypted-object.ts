// The KMS v2 storage record (upstream kmsv2/v2/api.proto `EncryptedObject`), the bytes after `k8s:enc:kms:v2:<name>:`.
// Written by hand: five fields, and the writer must match Go's bytes exactly (fields in ascending order, proto3 zero
// values omitted), while the reader must accept whatever a Go writer may produce (any map order, unknown fields).
// Validation (upstream ValidateEncryptedObject) runs on every object written and read, and on Encrypt responses.
import { createHash } from 'node:crypto';
import { InvalidError } from '../lib/errors.js';
import { fullyQualifiedDomainNameError } from '../lib/go/name-validation.js';
import { ProtoReader, ProtoWriter, putUint32Varint, uint32VarintSize, WIRE_LEN, WIRE_VARINT } from '../lib/go/protobuf-wire.js';
import { sortedKeys } from '../lib/go/string-order.js';

export const AES_GCM_KEY = 0;
export const HKDF_SHA256_XNONCE_AES_GCM_SEED = 1;

export const KEY_ID_MAX_SIZE = 1024;
export const ENCRYPTED_DEK_SOURCE_MAX_SIZE = 1024;
export const ANNOTATIONS_MAX_SIZE = 32 * 1024;

export interface EncryptedObject {
  encryptedData: Uint8Array;
  keyId: string;
  encryptedDekSource: Uint8Array;
  annotations: Record<string, Uint8Array>;
  /** AES_GCM_KEY or HKDF_SHA256_XNONCE_AES_GCM_SEED; other numbers are refused by validation. */
  encryptedDekSourceType: number;
}

const FIELD_ENCRYPTED_DATA = 1;
const FIELD_KEY_ID = 2;
const FIELD_ENCRYPTED_DEK_SOURCE = 3;
const FIELD_ANNOTATIONS = 4;
const FIELD_TYPE = 5;

// ---- writer -------------------------------------------------------------------------------------------------------

/** Go's proto.Marshal output for the object (fields 1..5 ascending, map entries sorted by key bytes, zeros omitted). */
export function encodeEncryptedObject(o: EncryptedObject): Buffer {
  const tail = encodeEncryptedObjectTail(o);
  if (o.encryptedData.length === 0) return tail; // proto3 omits an empty field
  return Buffer.concat([encryptedDataHead(new Uint8Array(0), o.encryptedData.length), o.encryptedData, tail]);
}

/**
 * Fields 2..5, which every write under one KMS v2 state repeats unchanged: a writer encodes them once per state so a
 * write only adds field 1 in front (field order stays Go's, so the bytes equal encodeEncryptedObject's).
 */
export function encodeEncryptedObjectTail(o: Omit<EncryptedObject, 'encryptedData'>): Buffer {
  const w = new ProtoWriter(256);
  if (o.keyId.length > 0) w.string(FIELD_KEY_ID, o.keyId);
  if (o.encryptedDekSource.length > 0) w.bytes(FIELD_ENCRYPTED_DEK_SOURCE, o.encryptedDekSource);
  for (const key of sortedKeys(o.annotations)) {
    // Map entries always carry both key (1) and value (2), as protobuf-go writes them.
    const entry = w.beginLen(FIELD_ANNOTATIONS);
    w.string(1, key);
    w.bytes(2, o.annotations[key]!);
    w.endLen(entry);
  }
  if (o.encryptedDekSourceType !== 0) w.int64(FIELD_TYPE, o.encryptedDekSourceType);
  return w.finish();
}

/**
 * What goes before a data ciphertext of `length` bytes so that head ‖ ciphertext ‖ tail (a tail from
 * encodeEncryptedObjectTail) is the encoded object after `prefix`: the prefix, then field 1's tag and length.
 */
export function encryptedDataHead(prefix: Uint8Array, length: number): Buffer {
  // Written here rather than with a ProtoWriter (whose buffer is one more ArrayBuffer per KMS v2 write for V8 to
  // collect): the tag byte, then length as a varint.
  const head = Buffer.allocUnsafe(prefix.length + 1 + uint32VarintSize(length));
  head.set(prefix, 0);
  head[prefix.length] = (FIELD_ENCRYPTED_DATA << 3) | WIRE_LEN;
  putUint32Varint(head, prefix.length + 1, length);
  return head;
}

// ---- reader -------------------------------------------------------------------------------------------------------

const DECODE_ERROR = 'cannot decode KMS v2 EncryptedObject';

function malformed(detail: string): InvalidError {
  return new InvalidError(`${DECODE_ERROR}: ${detail}`);
}
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A proto3 reader tolerates unknown fields, groups included, as protobuf-go's does. */
function reader(data: Uint8Array): ProtoReader {
  const r = new ProtoReader(data, 0, data.length, { errorPrefix: DECODE_ERROR, skipGroups: true });
  r.where = 'EncryptedObject';
  return r;
}

function expectWire(field: number, wire: number, expected: number): void {
  if (wire !== expected) throw malformed(`field ${field} has wire type ${wire}, expected ${expected}`);
}

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

function readAnnotation(entry: Uint8Array): [string, Uint8Array] {
  const r = reader(entry);
  r.where = 'EncryptedObject.annotations';
  let key = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.more()) {
    const tag = r.tag();
    const [field, wire] = [tag >>> 3, tag & 7];
    if (field === 1) {
      expectWire(field, wire, WIRE_LEN);
      key = utf8(r.bytes(wire, 'key'), 'an annotation key');
    } else if (field === 2) {
      expectWire(field, wire, WIRE_LEN);
      value = r.bytes(wire, 'value');
    } else {
      r.skip(wire, field);
    }
  }
  return [key, value];
}

/**
 * Parses an EncryptedObject the way a proto3 reader does: any field order, last value wins, map entries merged,
 * unknown fields skipped. Malformed bytes throw InvalidError. Byte fields are views into `data`. Does not validate.
 */
export function decodeEncryptedObject(data: Uint8Array): EncryptedObject {
  const r = reader(data);
  // A null-prototype record: an annotation named "__proto__" must be a key like any other, not a prototype swap.
  const annotations = Object.create(null) as Record<string, Uint8Array>;
  const o: EncryptedObject = {
    encryptedData: new Uint8Array(0),
    keyId: '',
    encryptedDekSource: new Uint8Array(0),
    annotations,
    encryptedDekSourceType: AES_GCM_KEY,
  };
  while (r.more()) {
    const tag = r.tag();
    const [field, wire] = [tag >>> 3, tag & 7];
    switch (field) {
      case FIELD_ENCRYPTED_DATA:
        expectWire(field, wire, WIRE_LEN);
        o.encryptedData = r.bytes(wire, 'encryptedData');
        break;
      case FIELD_KEY_ID:
        expectWire(field, wire, WIRE_LEN);
        o.keyId = utf8(r.bytes(wire, 'keyID'), 'keyID');
        break;
      case FIELD_ENCRYPTED_DEK_SOURCE:
        expectWire(field, wire, WIRE_LEN);
        o.encryptedDekSource = r.bytes(wire, 'encryptedDEKSource');
        break;
      case FIELD_ANNOTATIONS: {
        expectWire(field, wire, WIRE_LEN);
        const [key, value] = readAnnotation(r.bytes(wire, 'annotations'));
        annotations[key] = value;
        break;
      }
      case FIELD_TYPE:
        expectWire(field, wire, WIRE_VARINT);
        o.encryptedDekSourceType = r.int32(wire, 'encryptedDEKSourceType');
        break;
      default:
        r.skip(wire, field);
    }
  }
  return o;
}

// ---- validation (upstream messages) -------------------------------------------------------------------------------

/** utilerrors.NewAggregate(...).Error(): duplicates dropped, several messages bracketed. */
function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

/** apimachinery IsFullyQualifiedDomainName(field.NewPath("annotations"), name), as a field.Error message. */
function annotationKeyError(name: string): string | undefined {
  if (name.length === 0) return 'annotations: Required value';
  const err = fullyQualifiedDomainNameError(name);
  return err && `annotations: Invalid value: ${JSON.stringify(err.value)}: ${err.detail}`;
}

function annotationsError(annotations: Record<string, Uint8Array>): string | undefined {
  const errs: string[] = [];
  let total = 0;
  for (const key of sortedKeys(annotations)) {
    const err = annotationKeyError(key);
    if (err) errs.push(err);
    total += Buffer.byteLength(key, 'utf8') + annotations[key]!.length;
  }
  if (total > ANNOTATIONS_MAX_SIZE) {
    errs.push(`total size of annotations is ${total}, which exceeds the max size of ${ANNOTATIONS_MAX_SIZE}`);
  }
  return errs.length > 0 ? aggregate(errs) : undefined;
}

/** Upstream ValidateKeyID; also applied to every Status response. Returns the error message or undefined. */
export function keyIdError(keyId: string): string | undefined {
  const size = Buffer.byteLength(keyId, 'utf8');
  if (size === 0) return 'keyID is empty';
  if (size > KEY_ID_MAX_SIZE) return `keyID is ${size} bytes, which exceeds the max size of ${KEY_ID_MAX_SIZE}`;
  return undefined;
}

function encryptedDekSourceError(source: Uint8Array): string | undefined {
  if (source.length === 0) return 'encrypted DEK source is empty';
  if (source.length > ENCRYPTED_DEK_SOURCE_MAX_SIZE) {
    return `encrypted DEK source is ${source.length} bytes, which exceeds the max size of ${ENCRYPTED_DEK_SOURCE_MAX_SIZE}`;
  }
  return undefined;
}

/** Upstream ValidateEncryptedObject, with its messages and its order of checks. Throws InvalidError. */
export function validateEncryptedObject(o: EncryptedObject): void {
  const type = o.encryptedDekSourceType;
  if (type !== AES_GCM_KEY && type !== HKDF_SHA256_XNONCE_AES_GCM_SEED) {
    throw new InvalidError(`unknown encryptedDEKSourceType: ${type}`);
  }
  if (o.encryptedData.length === 0) throw new InvalidError('encrypted data is empty');
  const sourceErr = encryptedDekSourceError(o.encryptedDekSource);
  if (sourceErr) throw new InvalidError(`failed to validate encrypted DEK source: ${sourceErr}`);
  const keyErr = keyIdError(o.keyId);
  if (keyErr) throw new InvalidError(`failed to validate key id: ${keyErr}`);
  const annErr = annotationsError(o.annotations);
  if (annErr) throw new InvalidError(`failed to validate annotations: ${annErr}`);
}

/** How upstream logs a key ID: `sha256:<hex>` of its bytes, or "" when empty (GetHashIfNotEmpty). */
export function keyIdHash(keyId: string): string {
  return keyId.length > 0 ? `sha256:${createHash('sha256').update(keyId, 'utf8').digest('hex')}` : '';
}

function u16len(bytes: Uint8Array): Buffer {
  if (bytes.length > 0xffff) throw new InvalidError(`cache key component of ${bytes.length} bytes exceeds 65535`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  out.set(bytes, 2);
  return out;
}

/**
 * Upstream generateCacheKey (k8s.io/apiserver pkg/storage/value/encrypt/envelope/kmsv2/envelope.go):
 * uint32_BE(type) ‖ u16len(encryptedDEKSource) ‖ u16len(keyID) ‖ [if annotations:
 * uint32_BE(count) ‖ per key in byte order: u16len(key) ‖ u16len(value)]. The decrypt cache is keyed by its SHA-256.
 */
export function encryptedObjectCacheKey(
  o: Pick<EncryptedObject, 'encryptedDekSourceType' | 'encryptedDekSource' | 'keyId' | 'annotations'>,
): Buffer {
  const type = Buffer.allocUnsafe(4);
  type.writeUInt32BE(o.encryptedDekSourceType >>> 0, 0);
  const parts = [type, u16len(o.encryptedDekSource), u16len(Buffer.from(o.keyId, 'utf8'))];
  const keys = sortedKeys(o.annotations);
  if (keys.length > 0) {
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32BE(keys.length, 0);
    parts.push(count);
    for (const key of keys) parts.push(u16len(Buffer.from(key, 'utf8')), u16len(o.annotations[key]!));
  }
  return Buffer.concat(parts);
}

/** The decrypt cache's map key: hex SHA-256 of encryptedObjectCacheKey, as upstream's simpleCache hashes its keys. */
export function decryptCacheKey(
  o: Pick<EncryptedObject, 'encryptedDekSourceType' | 'encryptedDekSource' | 'keyId' | 'annotations'>,
): string {
  return createHash('sha256').update(encryptedObjectCacheKey(o)).digest('hex');
}
