// Secret rules (k/k pkg/apis/core/validation ValidateSecret/ValidateSecretUpdate and
// pkg/registry/core/secret/strategy.go): stringData folded into data, type defaulted and immutable, per-type required
// keys, `immutable: true` freezing data. Error values never contain Secret data ("<secret contents redacted>").
import type { FieldError } from '../api-status.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { normalizeSecretForStorage, SECRET_TYPE_OPAQUE, type Secret } from '../../objects/secret.js';
import { forbiddenField, invalidValue, required, tooLong } from './field-errors.js';
import { goJsonObjectError } from './go-json-errors.js';
import { isConfigMapKey, nameIsDnsSubdomain } from '../../lib/go/name-validation.js';
import { validateCoreObjectMeta, validateCoreObjectMetaUpdate } from './object-meta-validation.js';
import { base64DecodedLength, recordOf, sameStringMap, type Strategy } from './strategy.js';

export const MAX_SECRET_SIZE = 1048576;
const REDACTED = '<secret contents redacted>';
const IMMUTABLE = 'field is immutable when `immutable` is set';

function validateSecret(secret: Secret): FieldError[] {
  const errs = validateCoreObjectMeta(secret.metadata ?? {}, { namespaced: true, nameFn: nameIsDnsSubdomain });
  const data = recordOf(secret.data) ?? {};
  let total = 0;
  for (const key of Object.keys(data).sort()) {
    for (const msg of isConfigMapKey(key)) errs.push(invalidValue(`data[${key}]`, key, msg));
    total += base64DecodedLength(data[key]);
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));

  const has = (key: string) => Object.hasOwn(data, key);
  switch (secret.type) {
    case 'kubernetes.io/service-account-token':
      // Only the name is required; the uid annotation and token are filled in later by a controller upstream.
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockercfg':
      errs.push(...jsonKey(data, '.dockercfg'));
      break;
    case 'kubernetes.io/dockerconfigjson':
      errs.push(...jsonKey(data, '.dockerconfigjson'));
      break;
    case 'kubernetes.io/basic-auth':
      // Either key alone is enough (it may be empty); only both missing is an error.
      if (!has('username') && !has('password')) errs.push(required('data[username]'), required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (base64DecodedLength(data['ssh-privatekey']) === 0) errs.push(required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(required('data[tls.crt]'));
      if (!has('tls.key')) errs.push(required('data[tls.key]'));
      break;
    default:
  }
  return errs;
}

function jsonKey(data: Record<string, unknown>, key: string): FieldError[] {
  if (!Object.hasOwn(data, key)) return [required(`data[${key}]`)];
  const value = data[key];
  if (typeof value !== 'string') return [];
  const bytes = Buffer.from(value, 'base64');
  try {
    const error = goJsonObjectError(bytes);
    return error === undefined ? [] : [invalidValue(`data[${key}]`, REDACTED, error)];
  } finally {
    bytes.fill(0);
  }
}

export const SECRET_STRATEGY: Strategy = {
  groupKind: { group: '', kind: 'Secret' },
  resetFields: [],

  applyDefaults(obj: KubeObject, old?: KubeObject): KubeObject {
    // On update the stored type is kept when the body omits it, before defaulting would make it Opaque
    // (PrepareForUpdate, k/k pkg/registry/core/secret/strategy.go).
    const secret = obj as Secret;
    if (old !== undefined && (secret.type == null || secret.type === '')) secret.type = (old as Secret).type;
    // The registry owns obj (a decoded body or a copy): without stringData to fold in, the default is set in place,
    // as normalizeSecretForStorage would set it on its copy (a copy per create otherwise).
    if (Object.hasOwn(secret, 'stringData')) return normalizeSecretForStorage(secret);
    if (secret.type == null || secret.type === '') secret.type = SECRET_TYPE_OPAQUE;
    return secret;
  },

  prepareForCreate: (obj) => obj,
  prepareForUpdate: (obj) => obj,

  validate(obj: KubeObject): FieldError[] {
    return validateSecret(obj as Secret);
  },

  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
    const secret = obj as Secret;
    const before = old as Secret;
    const errs = validateCoreObjectMetaUpdate(secret.metadata ?? {}, before.metadata ?? {});
    if ((secret.type ?? '') !== (before.type ?? '')) errs.push(invalidValue('type', secret.type ?? '', 'field is immutable'));
    if (before.immutable === true) {
      if (secret.immutable !== true) errs.push(forbiddenField('immutable', IMMUTABLE));
      if (!sameStringMap(secret.data, before.data)) errs.push(forbiddenField('data', IMMUTABLE));
    }
    errs.push(...validateSecret(secret));
    return errs;
  },

  fieldLabelError(label: string): string | undefined {
    return label === 'metadata.name' || label === 'metadata.namespace' || label === 'type'
      ? undefined
      : `field label not supported: ${label}`;
  },

  selectableFields(obj: KubeObject): Record<string, string> {
    return {
      'metadata.name': obj.metadata?.name ?? '',
      'metadata.namespace': obj.metadata?.namespace ?? '',
      type: typeof obj.type === 'string' ? obj.type : '',
    };
  },
};
