// core/v1 ConfigMap in the JSON API shape, and its protobuf form as kube-apiserver stores it
// (api core/v1 generated.proto: 1 metadata, 2 data map<string,string>, 3 binaryData map<string,bytes>, 4 immutable).
import { asOptionalBool, readMapEntry, writeBase64Map, writeStringMap } from './k8s-protobuf.js';
import { readObjectMeta, writeObjectMeta, type KubeObject, type ObjectMeta } from './object-meta.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

export interface ConfigMap extends KubeObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  /** Values are standard base64, as in JSON. */
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

export function isConfigMap(obj: KubeObject): obj is ConfigMap {
  return obj.apiVersion === 'v1' && obj.kind === 'ConfigMap';
}

export function writeConfigMap(w: ProtoWriter, configMap: Record<string, unknown>): void {
  writeObjectMeta(w, 1, configMap.metadata);
  writeStringMap(w, 2, configMap.data, 'data');
  writeBase64Map(w, 3, configMap.binaryData, 'binaryData');
  const immutable = asOptionalBool(configMap.immutable, 'immutable');
  if (immutable !== undefined) w.bool(4, immutable);
}

/** Reads the ConfigMap message up to the reader's limit; properties in Go's JSON order, empty ones omitted. */
export function readConfigMap(r: ProtoReader): ConfigMap {
  r.where = 'ConfigMap';
  let metadata: ObjectMeta = {};
  let data: Record<string, string> | undefined;
  let binaryData: Record<string, string> | undefined;
  let immutable: boolean | undefined;
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: metadata = readObjectMeta(r, wt); break;
      case 2: readMapEntry(r, wt, 'data', 'ConfigMap.data', false, (data ??= {})); break;
      case 3: readMapEntry(r, wt, 'binaryData', 'ConfigMap.binaryData', true, (binaryData ??= {})); break;
      case 4: immutable = r.bool(wt, 'immutable'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  const configMap: ConfigMap = { kind: 'ConfigMap', apiVersion: 'v1', metadata };
  if (immutable !== undefined) configMap.immutable = immutable;
  if (data !== undefined) configMap.data = data;
  if (binaryData !== undefined) configMap.binaryData = binaryData;
  return configMap;
}
