// Request bodies: read with kube's 3 MiB limit (413 beyond it, before anything is decoded or stored), then decoded by
// Content-Type as kube-apiserver accepts them on POST/PUT: JSON, YAML, or Kubernetes protobuf (k8s.io/apiserver
// pkg/endpoints/handlers/negotiation).
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { bodyTooDeep, DEPTH_ERROR, jsonTooDeep, MAX_NESTING_DEPTH } from '../../objects/nesting-depth.js';
import { decodeObject } from '../../objects/object-codec.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { ApiStatusError, badRequest, requestEntityTooLarge } from '../api-status.js';
import { goJsonObjectError } from '../registry/go-json-errors.js';
import type { ResourceInfo } from '../resource-info.js';
import { baseContentType } from './media-type.js';

/** kube-apiserver's maxRequestBodyBytes. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

const BODY_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

export function unsupportedMediaType(accepted: readonly string[]): ApiStatusError {
  return new ApiStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

/**
 * Reads the whole body; a declared or actual size over the limit is refused without reading the rest. Read with
 * 'data'/'end' listeners rather than `for await` (an async iterator, its end-of-stream watcher and a promise per chunk
 * on every write), and a body of one chunk (any small object) is that chunk, not a copy of it.
 */
export function readBody(req: IncomingMessage, limit = MAX_REQUEST_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume(); // drain, so the 413 reaches the client instead of a reset connection
    return Promise.reject(requestEntityTooLarge(limit));
  }
  // What `for await` did on a stream already over: nothing more to read, or the premature close of a destroyed one.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(req.errored ?? prematureClose());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.resume();
        reject(requestEntityTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    // A request closed before its end (the client went away): what the async iterator threw.
    const onClose = () => {
      done();
      reject(prematureClose());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * False when the body holds at most `max` bytes `{` and `[` together: each level opens with one, so it cannot nest
 * deeper, and jsonTooDeep's byte-by-byte walk (as long as JSON.parse itself on a 1 KiB Secret) is not needed. The bytes
 * are found with indexOf (native): a handful of calls for a usual object.
 */
export function mayNestDeeperThan(body: Buffer, max: number): boolean {
  let openers = 0;
  for (let i = body.indexOf(0x7b); i >= 0; i = body.indexOf(0x7b, i + 1)) if (++openers > max) return true;
  for (let i = body.indexOf(0x5b); i >= 0; i = body.indexOf(0x5b, i + 1)) if (++openers > max) return true;
  return false;
}

function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** A JSON or YAML document that must be an object (a patch, DeleteOptions, an apply configuration). */
export function parseJsonOrYamlObject(body: Buffer, what: string): Record<string, unknown> {
  if (bodyTooDeep(body)) throw badRequest(`error decoding ${what}: ${DEPTH_ERROR}`);
  let value: unknown;
  const text = body.toString('utf8');
  try {
    value = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' });
  } catch (e) {
    const goError = goJsonObjectError(body);
    throw badRequest(`error decoding ${what}: ${goError ?? firstLine(e)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`error decoding ${what}: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type map[string]interface {}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The object of a POST or PUT, decoded by its Content-Type. Errors use kube's texts: an undecodable body is "the
 * object provided is unrecognized (must be of type Secret)", never echoing body bytes (they may be Secret values).
 */
export function decodeObjectBody(body: Buffer, contentType: string | undefined, info: ResourceInfo): KubeObject {
  const type = baseContentType(contentType) || 'application/json';
  const unrecognized = (detail: string) =>
    badRequest(`the object provided is unrecognized (must be of type ${info.kind}): ${detail}`);
  if (type === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeObject(body);
    } catch (e) {
      throw unrecognized(firstLine(e));
    }
  }
  let value: unknown;
  if (type === 'application/json') {
    if (mayNestDeeperThan(body, MAX_NESTING_DEPTH) && jsonTooDeep(body)) throw unrecognized(`couldn't get version/kind; json parse error: ${DEPTH_ERROR}`);
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (e) {
      // JSON.parse accepts exactly Go's JSON syntax, so Go's scanner runs only for its error text (a walk of the body
      // less on every valid one).
      const goError = goJsonObjectError(body);
      if (goError !== undefined) throw unrecognized(`couldn't get version/kind; json parse error: ${goError}`);
      throw e;
    }
  } else if (type === 'application/yaml') {
    if (bodyTooDeep(body)) throw unrecognized(`error converting YAML to JSON: yaml: ${DEPTH_ERROR}`);
    try {
      value = parseYaml(body.toString('utf8'), { logLevel: 'error' });
    } catch (e) {
      throw unrecognized(`error converting YAML to JSON: ${firstLine(e)}`);
    }
  } else {
    throw unsupportedMediaType(BODY_TYPES);
  }
  if (value === null || value === undefined) throw unrecognized("couldn't get version/kind; json parse error: unexpected end of JSON input");
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw unrecognized(`couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
  }
  return value as KubeObject;
}
