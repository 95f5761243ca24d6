// core/v1 Secret in the JSON API shape, and its protobuf form as kube-apiserver stores it
// (api core/v1 generated.proto: 1 metadata, 2 data map<string,bytes>, 3 type, 4 stringData, 5 immutable).
import { InvalidError } from '../lib/errors.js';
import { asOptionalBool, asRecord, asString, readMapEntry, setOwn, writeBase64Map } from './k8s-protobuf.js';
import { readObjectMeta, writeObjectMeta, type KubeObject, type ObjectMeta } from './object-meta.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

export interface Secret extends KubeObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  /** Values are standard base64, as in JSON; they become raw bytes only inside the protobuf codec. */
  data?: Record<string, string>;
  /** Input only: merged into data before storage and never stored or returned. */
  stringData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
}

export const SECRET_TYPE_OPAQUE = 'Opaque';

export function isSecret(obj: KubeObject): obj is Secret {
  return obj.apiVersion === 'v1' && obj.kind === 'Secret';
}

/**
 * What kube-apiserver does to a Secret before storing it: stringData entries overwrite data entries of the same key
 * (Convert_v1_Secret_To_core_Secret) and an empty type becomes Opaque (SetDefaults_Secret). Returns a new object.
 */
export function normalizeSecretForStorage(secret: Secret): Secret {
  // One copy; the rest pattern (a slow path in V8) only when there is a stringData to leave out.
  const { stringData } = secret;
  const out: Secret = stringData === undefined && !Object.hasOwn(secret, 'stringData') ? { ...secret } : withoutStringData(secret);
  const strings = asRecord(stringData, 'stringData');
  if (strings !== undefined && Object.keys(strings).length > 0) {
    const data: Record<string, string> = { ...asRecord(secret.data, 'data') } as Record<string, string>;
    for (const key of Object.keys(strings)) {
      const value = strings[key];
      if (typeof value !== 'string') throw new InvalidError('must be a string', { field: `stringData[${key}]` });
      setOwn(data, key, Buffer.from(value, 'utf8').toString('base64'));
    }
    out.data = data;
  }
  if (out.type == null || out.type === '') out.type = SECRET_TYPE_OPAQUE;
  return out;
}

function withoutStringData(secret: Secret): Secret {
  const { stringData: _input, ...rest } = secret;
  return rest;
}

/** The Secret message (raw of the envelope). `type` is a proto2 string the Go marshaller always emits. */
export function writeSecret(w: ProtoWriter, secret: Record<string, unknown>): void {
  const stringData = asRecord(secret.stringData, 'stringData');
  if (stringData !== undefined && Object.keys(stringData).length > 0) {
    throw new InvalidError('is never stored; merge it into data with normalizeSecretForStorage first', { field: 'stringData' });
  }
  writeObjectMeta(w, 1, secret.metadata);
  writeBase64Map(w, 2, secret.data, 'data');
  w.string(3, asString(secret.type, 'type'));
  const immutable = asOptionalBool(secret.immutable, 'immutable');
  if (immutable !== undefined) w.bool(5, immutable);
}

/** Reads the Secret message up to the reader's limit; properties in Go's JSON order, empty ones omitted. */
export function readSecret(r: ProtoReader): Secret {
  r.where = 'Secret';
  let metadata: ObjectMeta = {};
  let data: Record<string, string> | undefined;
  let stringData: Record<string, string> | undefined;
  let type = '';
  let immutable: boolean | undefined;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: metadata = readObjectMeta(r, wt); break;
      case 2: readMapEntry(r, wt, 'data', 'Secret.data', true, (data ??= {})); break;
      case 3: type = r.string(wt, 'type'); break;
      case 4: readMapEntry(r, wt, 'stringData', 'Secret.stringData', false, (stringData ??= {})); break;
      case 5: immutable = r.bool(wt, 'immutable'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  // Never written by kube-apiserver, but its decoder would fold it into data (the v1 -> internal conversion).
  if (stringData !== undefined) {
    data ??= {};
    for (const key of Object.keys(stringData)) setOwn(data, key, Buffer.from(stringData[key]!, 'utf8').toString('base64'));
  }
  const secret: Secret = { kind: 'Secret', apiVersion: 'v1', metadata };
  if (immutable !== undefined) secret.immutable = immutable;
  if (data !== undefined) secret.data = data;
  if (type !== '') secret.type = type;
  return secret;
}
