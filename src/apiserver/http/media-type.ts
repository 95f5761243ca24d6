// Content negotiation (k8s.io/apiserver pkg/endpoints/handlers/negotiation): which representation a response takes,
// from the Accept header. kube speaks JSON, YAML and protobuf; Coffer answers JSON and YAML (and accepts protobuf
// request bodies, which kubectl sends for built-in kinds, but never answers in it: every client that asks for protobuf
// also accepts JSON).
import { ApiStatusError } from '../api-status.js';

export interface MediaType {
  type: string; // "application"
  subtype: string; // "json"
  params: Record<string, string>;
  q: number;
}

/** Parses one media range (`application/json;as=Table;v=v1;g=meta.k8s.io`); lower-cases type and parameter names. */
export function parseMediaType(text: string): MediaType | undefined {
  const [range, ...rawParams] = text.split(';');
  const [type, subtype] = (range ?? '').trim().toLowerCase().split('/');
  if (!type || !subtype) return undefined;
  const params: Record<string, string> = {};
  let q = 1;
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (name === 'q') q = Number.isNaN(Number(value)) ? 0 : Number(value);
    else params[name] = value;
  }
  return { type, subtype, params, q };
}

/** The base type of a Content-Type header, parameters dropped (`application/json; charset=utf-8` → `application/json`). */
export function baseContentType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** What a response is written as. `table` asks for a meta.k8s.io Table of that version (always JSON). */
export interface Representation {
  format: 'json' | 'yaml';
  table?: 'v1' | 'v1beta1';
}

export const JSON_REPRESENTATION: Representation = { format: 'json' };

export function notAcceptable(): ApiStatusError {
  return new ApiStatusError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml');
}

/**
 * Picks the representation for an Accept header: the first acceptable range by q, in header order. `tables` says
 * whether the endpoint can answer a Table (object, list and watch endpoints can; discovery and Status cannot).
 * Nothing acceptable → 406 NotAcceptable, as kube answers.
 */
export function negotiate(accept: string | undefined, opts: { tables: boolean; yaml?: boolean }): Representation {
  if (!accept || accept.trim() === '') return JSON_REPRESENTATION;
  const ranges = accept
    .split(',')
    .map(parseMediaType)
    .filter((m): m is MediaType => m !== undefined && m.q > 0)
    .map((m, i) => ({ m, i }))
    .sort((a, b) => b.m.q - a.m.q || a.i - b.i)
    .map(({ m }) => m);
  for (const m of ranges) {
    const as = m.params.as;
    if (as !== undefined) {
      // A conversion (Table, PartialObjectMetadata, APIGroupDiscoveryList) Coffer does not offer here: try the next.
      if (!opts.tables || as !== 'Table' || m.params.g !== 'meta.k8s.io') continue;
      if (m.params.v !== 'v1' && m.params.v !== 'v1beta1') continue;
      if (!(m.type === 'application' && m.subtype === 'json')) continue;
      return { format: 'json', table: m.params.v };
    }
    if (m.type === '*' || (m.type === 'application' && (m.subtype === '*' || m.subtype === 'json'))) return JSON_REPRESENTATION;
    if (m.type === 'application' && m.subtype === 'yaml' && opts.yaml !== false) return { format: 'yaml' };
  }
  throw notAcceptable();
}
