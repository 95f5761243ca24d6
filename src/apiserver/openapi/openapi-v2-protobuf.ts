// The gnostic `openapi.v2.Document` protobuf encoding of a Swagger 2.0 document: what client-go's OpenAPISchema()
// decodes from /openapi/v2 (Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf; a JSON body is a
// decode error there). Only the parts Coffer's documents use are encoded. Field numbers follow gnostic's
// openapiv2/OpenAPIv2.proto. Vendor extensions travel as YAML text (Any.yaml), which kubectl parses back.
import { stringify as toYaml } from 'yaml';
import { ProtoWriter } from '../../lib/go/protobuf-wire.js';
import type { JsonObject } from './openapi-v2.js';

/** What clients ask for in Accept. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What the response says it is: Go's mime parser refuses the `@` of the Accept form (kube-openapi answers this). */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const asObject = (v: unknown): JsonObject | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function message(w: ProtoWriter, field: number, write: () => void): void {
  const start = w.beginLen(field);
  write();
  w.endLen(start);
}

function optString(w: ProtoWriter, field: number, v: unknown): void {
  if (typeof v === 'string' && v !== '') w.string(field, v);
}

/** `Any { string yaml = 2; }` */
function anyYaml(w: ProtoWriter, field: number, value: unknown): void {
  message(w, field, () => w.string(2, toYaml(value)));
}

/** Repeated `NamedAny { name = 1; Any value = 2; }` for every `x-` key. */
function vendorExtensions(w: ProtoWriter, field: number, obj: JsonObject): void {
  for (const [k, v] of Object.entries(obj)) {
    if (!k.startsWith('x-')) continue;
    message(w, field, () => {
      w.string(1, k);
      anyYaml(w, 2, v);
    });
  }
}

/** `Schema`: _ref 1, format 2, description 4, default 5, required 19, enum 20, additionalProperties 21, type 22, items 23, properties 25, vendor_extension 31. */
function schema(w: ProtoWriter, s: JsonObject): void {
  optString(w, 1, s.$ref);
  optString(w, 2, s.format);
  optString(w, 4, s.description);
  if (s.default !== undefined) anyYaml(w, 5, s.default);
  for (const r of asStrings(s.required)) w.string(19, r);
  for (const e of Array.isArray(s.enum) ? s.enum : []) anyYaml(w, 20, e);
  const additional = asObject(s.additionalProperties);
  if (additional) message(w, 21, () => message(w, 1, () => schema(w, additional))); // AdditionalPropertiesItem.schema
  if (typeof s.type === 'string') message(w, 22, () => w.string(1, s.type as string)); // TypeItem.value
  const items = asObject(s.items);
  if (items) message(w, 23, () => message(w, 1, () => schema(w, items))); // ItemsItem.schema
  const props = asObject(s.properties);
  if (props) {
    message(w, 25, () => {
      for (const [name, p] of Object.entries(props)) namedSchema(w, 1, name, asObject(p) ?? {}); // Properties.additional_properties
    });
  }
  vendorExtensions(w, 31, s);
}

function namedSchema(w: ProtoWriter, field: number, name: string, s: JsonObject): void {
  message(w, field, () => {
    w.string(1, name);
    message(w, 2, () => schema(w, s));
  });
}

/** A `ParametersItem` whose `parameter` (1) is a `Parameter`: body_parameter 1, or non_body_parameter 2 (query 3 / path 4). */
function parameter(w: ProtoWriter, field: number, p: JsonObject): void {
  message(w, field, () =>
    message(w, 1, () => {
      if (p.in === 'body') {
        message(w, 1, () => {
          optString(w, 2, p.name);
          optString(w, 3, p.in);
          if (p.required === true) w.bool(4, true);
          const s = asObject(p.schema);
          if (s) message(w, 5, () => schema(w, s));
        });
        return;
      }
      message(w, 2, () => {
        // Query: required 1, in 2, description 3, name 4, type 6, unique_items 20. Path: same up to name, type 5, unique_items 19.
        const isPath = p.in === 'path';
        message(w, isPath ? 4 : 3, () => {
          if (p.required === true) w.bool(1, true);
          optString(w, 2, p.in);
          optString(w, 3, p.description);
          optString(w, 4, p.name);
          optString(w, isPath ? 5 : 6, p.type);
          if (p.uniqueItems === true) w.bool(isPath ? 19 : 20, true);
        });
      });
    }),
  );
}

/** `Operation`: description 3, operation_id 5, produces 6, consumes 7, parameters 8, responses 9, vendor_extension 13. */
function operation(w: ProtoWriter, field: number, op: JsonObject): void {
  message(w, field, () => {
    optString(w, 3, op.description);
    optString(w, 5, op.operationId);
    for (const t of asStrings(op.produces)) w.string(6, t);
    for (const t of asStrings(op.consumes)) w.string(7, t);
    for (const p of Array.isArray(op.parameters) ? op.parameters : []) parameter(w, 8, asObject(p) ?? {});
    const responses = asObject(op.responses);
    if (responses) {
      // Responses.response_code 1: NamedResponseValue { name 1; ResponseValue value 2 { Response response 1 } }
      message(w, 9, () => {
        for (const [code, r] of Object.entries(responses)) {
          const resp = asObject(r) ?? {};
          message(w, 1, () => {
            w.string(1, code);
            message(w, 2, () =>
              message(w, 1, () => {
                optString(w, 1, resp.description);
                const s = asObject(resp.schema);
                if (s) message(w, 2, () => message(w, 1, () => schema(w, s))); // SchemaItem.schema
              }),
            );
          });
        }
      });
    }
    vendorExtensions(w, 13, op);
  });
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** `Document`: swagger 1, info 2, paths 8, definitions 9. */
export function encodeOpenApiV2(doc: JsonObject): Buffer {
  const w = new ProtoWriter(64 * 1024);
  optString(w, 1, doc.swagger);
  const info = asObject(doc.info);
  if (info) {
    message(w, 2, () => {
      optString(w, 1, info.title);
      optString(w, 2, info.version);
    });
  }
  const paths = asObject(doc.paths);
  if (paths) {
    message(w, 8, () => {
      for (const [path, item] of Object.entries(paths)) {
        const pathItem = asObject(item) ?? {};
        message(w, 2, () => {
          w.string(1, path);
          message(w, 2, () => {
            for (const [method, op] of Object.entries(pathItem)) {
              const f = PATH_ITEM_FIELDS[method];
              if (f !== undefined) operation(w, f, asObject(op) ?? {});
            }
            for (const p of Array.isArray(pathItem.parameters) ? pathItem.parameters : []) parameter(w, 9, asObject(p) ?? {});
          });
        });
      }
    });
  }
  const definitions = asObject(doc.definitions);
  if (definitions) {
    message(w, 9, () => {
      for (const [name, s] of Object.entries(definitions)) namedSchema(w, 1, name, asObject(s) ?? {});
    });
  }
  return w.finish();
}
