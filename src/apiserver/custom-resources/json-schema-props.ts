// The structural OpenAPI v3 schema of a CustomResourceDefinition version (apiextensions.k8s.io/v1 JSONSchemaProps),
// as far as the external-secrets.io CRDs use it, plus small builders so the schemas read like the CRD YAML they
// become. One value feeds the server (pruning, defaulting, validation), the published OpenAPI and deploy/crds/.

export type JsonSchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface JsonSchemaProps {
  description?: string;
  type?: JsonSchemaType;
  format?: string;
  nullable?: boolean;
  default?: unknown;
  enum?: readonly unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: readonly string[];
  properties?: Readonly<Record<string, JsonSchemaProps>>;
  additionalProperties?: JsonSchemaProps;
  items?: JsonSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
}

type Extra = Omit<JsonSchemaProps, 'type' | 'properties' | 'items'>;

export const str = (description?: string, extra: Extra = {}): JsonSchemaProps => ({ ...(description ? { description } : {}), type: 'string', ...extra });
export const bool = (description?: string): JsonSchemaProps => ({ ...(description ? { description } : {}), type: 'boolean' });
export const int32 = (description?: string): JsonSchemaProps => ({ ...(description ? { description } : {}), type: 'integer', format: 'int32' });
export const int64 = (description?: string): JsonSchemaProps => ({ ...(description ? { description } : {}), type: 'integer', format: 'int64' });
export const dateTime = (description?: string, extra: Extra = {}): JsonSchemaProps => str(description, { format: 'date-time', ...extra });
export const enumOf = (values: readonly string[], description?: string, extra: Extra = {}): JsonSchemaProps => str(description, { enum: values, ...extra });

/** An object with declared properties; `required` names the properties that must be present. */
export function obj(properties: Record<string, JsonSchemaProps>, extra: Extra & { description?: string } = {}): JsonSchemaProps {
  return { ...(extra.description ? { description: extra.description } : {}), type: 'object', ...withoutDescription(extra), properties };
}

export const arrayOf = (items: JsonSchemaProps, description?: string, extra: Extra = {}): JsonSchemaProps => ({
  ...(description ? { description } : {}),
  type: 'array',
  items,
  ...extra,
});

export const stringMap = (description?: string): JsonSchemaProps => ({ ...(description ? { description } : {}), type: 'object', additionalProperties: { type: 'string' } });

/** An object whose content is kept as sent (providers Coffer does not model field by field). */
export const freeForm = (description?: string): JsonSchemaProps => ({
  ...(description ? { description } : {}),
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
});

function withoutDescription(extra: Extra & { description?: string }): Extra {
  const { description: _d, ...rest } = extra;
  return rest;
}
