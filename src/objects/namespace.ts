// core/v1 Namespace in the JSON API shape, and its protobuf form as kube-apiserver stores it (api core/v1
// generated.proto: Namespace {1 metadata, 2 spec, 3 status}; NamespaceSpec {1 finalizers}; NamespaceStatus {1 phase,
// 2 conditions}; NamespaceCondition {1 type, 2 status, 4 lastTransitionTime, 5 reason, 6 message}). The gogo
// marshallers always emit embedded messages (spec, status, the condition's time) and proto2 strings, even when empty.
import { asArray, asRecord, asString, expectedType } from './k8s-protobuf.js';
import {
  readObjectMeta,
  readTime,
  timeSeconds,
  writeObjectMeta,
  writeTime,
  type KubeObject,
  type ObjectMeta,
} from './object-meta.js';
import type { ProtoReader, ProtoWriter } from '../lib/go/protobuf-wire.js';

export interface NamespaceCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface NamespaceSpec {
  finalizers?: string[];
}

export interface NamespaceStatus {
  phase?: string;
  conditions?: NamespaceCondition[];
}

export interface Namespace extends KubeObject {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec?: NamespaceSpec;
  status?: NamespaceStatus;
}

export function isNamespace(obj: KubeObject): obj is Namespace {
  return obj.apiVersion === 'v1' && obj.kind === 'Namespace';
}

export function writeNamespace(w: ProtoWriter, ns: Record<string, unknown>): void {
  writeObjectMeta(w, 1, ns.metadata);
  const spec = asRecord(ns.spec, 'spec') ?? {};
  const specStart = w.beginLen(2);
  const finalizers = asArray(spec.finalizers, 'spec.finalizers') ?? [];
  for (let i = 0; i < finalizers.length; i++) {
    const f = finalizers[i];
    if (typeof f !== 'string') throw expectedType(`spec.finalizers[${i}]`, 'a string');
    w.string(1, f);
  }
  w.endLen(specStart);

  const status = asRecord(ns.status, 'status') ?? {};
  const statusStart = w.beginLen(3);
  w.string(1, asString(status.phase, 'status.phase'));
  const conditions = asArray(status.conditions, 'status.conditions') ?? [];
  for (let i = 0; i < conditions.length; i++) {
    const path = `status.conditions[${i}]`;
    const c = asRecord(conditions[i], path) ?? {};
    const start = w.beginLen(2);
    w.string(1, asString(c.type, `${path}.type`));
    w.string(2, asString(c.status, `${path}.status`));
    writeTime(w, 4, timeSeconds(c.lastTransitionTime, `${path}.lastTransitionTime`));
    w.string(5, asString(c.reason, `${path}.reason`));
    w.string(6, asString(c.message, `${path}.message`));
    w.endLen(start);
  }
  w.endLen(statusStart);
}

/** Reads the Namespace message up to the reader's limit. spec and status are always present, as Go's JSON has them. */
export function readNamespace(r: ProtoReader): Namespace {
  r.where = 'Namespace';
  let metadata: ObjectMeta = {};
  const spec: NamespaceSpec = {};
  const status: NamespaceStatus = {};
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: metadata = readObjectMeta(r, wt); break;
      case 2: readSpec(r, wt, spec); break;
      case 3: readStatus(r, wt, status); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  return { kind: 'Namespace', apiVersion: 'v1', metadata, spec, status };
}

function readSpec(r: ProtoReader, wireType: number, spec: NamespaceSpec): void {
  const outer = r.enter(wireType, 'spec');
  const where = r.where;
  r.where = 'NamespaceSpec';
  while (r.more()) {
    const tag = r.tag();
    if (tag >>> 3 === 1) (spec.finalizers ??= []).push(r.string(tag & 7, 'finalizers'));
    else r.skip(tag & 7, tag >>> 3);
  }
  r.leave(outer);
  r.where = where;
}

function readStatus(r: ProtoReader, wireType: number, status: NamespaceStatus): void {
  const outer = r.enter(wireType, 'status');
  const where = r.where;
  r.where = 'NamespaceStatus';
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        const phase = r.string(wt, 'phase');
        if (phase !== '') status.phase = phase;
        else delete status.phase;
        break;
      }
      case 2: (status.conditions ??= []).push(readCondition(r, wt)); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  r.leave(outer);
  r.where = where;
}

function readCondition(r: ProtoReader, wireType: number): NamespaceCondition {
  const outer = r.enter(wireType, 'conditions');
  const where = r.where;
  r.where = 'NamespaceCondition';
  let type = '';
  let status = '';
  let lastTransitionTime: string | undefined;
  let reason = '';
  let message = '';
  while (r.more()) {
    const tag = r.tag();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: type = r.string(wt, 'type'); break;
      case 2: status = r.string(wt, 'status'); break;
      case 4: lastTransitionTime = readTime(r, wt, 'lastTransitionTime'); break;
      case 5: reason = r.string(wt, 'reason'); break;
      case 6: message = r.string(wt, 'message'); break;
      default: r.skip(wt, tag >>> 3);
    }
  }
  r.leave(outer);
  r.where = where;
  // Go's JSON always emits type and status (no omitempty), the rest only when set.
  const c: NamespaceCondition = { type, status };
  if (lastTransitionTime !== undefined) c.lastTransitionTime = lastTransitionTime;
  if (reason !== '') c.reason = reason;
  if (message !== '') c.message = message;
  return c;
}
