// ConfigMap rules (k/k pkg/apis/core/validation ValidateConfigMap/ValidateConfigMapUpdate): keys as for Secrets, no key
// in both data and binaryData, 1 MiB in all, `immutable: true` freezing both maps. No defaults.
import type { FieldError } from '../api-status.js';
import type { ConfigMap } from '../../objects/config-map.js';
import type { KubeObject } from '../../objects/object-meta.js';
import { forbiddenField, invalidValue, tooLong } from './field-errors.js';
import { isConfigMapKey, nameIsDnsSubdomain } from '../../lib/go/name-validation.js';
import { validateCoreObjectMeta, validateCoreObjectMetaUpdate } from './object-meta-validation.js';
import { MAX_SECRET_SIZE } from './secret-strategy.js';
import { base64DecodedLength, recordOf, sameStringMap, type Strategy } from './strategy.js';

const IMMUTABLE = 'field is immutable when `immutable` is set';

function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = validateCoreObjectMeta(cm.metadata ?? {}, { namespaced: true, nameFn: nameIsDnsSubdomain });
  const data = recordOf(cm.data) ?? {};
  const binary = recordOf(cm.binaryData) ?? {};
  let total = 0;
  for (const key of Object.keys(data).sort()) {
    for (const msg of isConfigMapKey(key)) errs.push(invalidValue(`data[${key}]`, key, msg));
    if (Object.hasOwn(binary, key)) errs.push(invalidValue(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    const value = data[key];
    total += typeof value === 'string' ? Buffer.byteLength(value) : 0;
  }
  for (const key of Object.keys(binary).sort()) {
    for (const msg of isConfigMapKey(key)) errs.push(invalidValue(`binaryData[${key}]`, key, msg));
    total += base64DecodedLength(binary[key]);
  }
  // Upstream reports the whole object with an empty path, which prints as "[]".
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('[]', MAX_SECRET_SIZE));
  return errs;
}

export const CONFIG_MAP_STRATEGY: Strategy = {
  groupKind: { group: '', kind: 'ConfigMap' },
  resetFields: [],

  applyDefaults: (obj) => obj,
  prepareForCreate: (obj) => obj,
  prepareForUpdate: (obj) => obj,

  validate(obj: KubeObject): FieldError[] {
    return validateConfigMap(obj as ConfigMap);
  },

  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[] {
    const cm = obj as ConfigMap;
    const before = old as ConfigMap;
    const errs = validateCoreObjectMetaUpdate(cm.metadata ?? {}, before.metadata ?? {});
    if (before.immutable === true) {
      if (cm.immutable !== true) errs.push(forbiddenField('immutable', IMMUTABLE));
      if (!sameStringMap(cm.data, before.data)) errs.push(forbiddenField('data', IMMUTABLE));
      if (!sameStringMap(cm.binaryData, before.binaryData)) errs.push(forbiddenField('binaryData', IMMUTABLE));
    }
    errs.push(...validateConfigMap(cm));
    return errs;
  },

  fieldLabelError(label: string): string | undefined {
    return label === 'metadata.name' || label === 'metadata.namespace'
      ? undefined
      : `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
  },

  selectableFields(obj: KubeObject): Record<string, string> {
    return { 'metadata.name': obj.metadata?.name ?? '', 'metadata.namespace': obj.metadata?.namespace ?? '' };
  },
};
