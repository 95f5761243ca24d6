// Checks a manifest against the Kubernetes API schema of the kind it claims, as `kubectl apply --validate=strict`
// would: every field must exist in that kind's schema with the right type (the field tables are those of
// @kubernetes/client-node's generated models, which come from the upstream OpenAPI document), and the fields the
// upstream OpenAPI document marks required must be present. No API server is needed.
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}

/** apiVersion/kind -> model name in @kubernetes/client-node. */
const MODELS: Record<string, string> = {
  'v1/Pod': 'V1Pod',
  'v1/Namespace': 'V1Namespace',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'apps/v1/Deployment': 'V1Deployment',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
  'apiextensions.k8s.io/v1/CustomResourceDefinition': 'V1CustomResourceDefinition',
};

/** The `required` lists of the upstream OpenAPI definitions for the types these manifests use. */
const REQUIRED: Record<string, string[]> = {
  V1PodSpec: ['containers'],
  V1Container: ['name'],
  V1ContainerPort: ['containerPort'],
  V1EnvVar: ['name'],
  V1Volume: ['name'],
  V1VolumeMount: ['name', 'mountPath'],
  V1HostPathVolumeSource: ['path'],
  V1KeyToPath: ['key', 'path'],
  V1HTTPGetAction: ['port'],
  V1TCPSocketAction: ['port'],
  V1DeploymentSpec: ['selector', 'template'],
  V1PolicyRule: ['verbs'],
  V1ClusterRoleBinding: ['roleRef'],
  V1RoleBinding: ['roleRef'],
  V1RoleRef: ['apiGroup', 'kind', 'name'],
  RbacV1Subject: ['kind', 'name'],
  V1SeccompProfile: ['type'],
  V1CustomResourceDefinition: ['spec'],
  V1CustomResourceDefinitionSpec: ['group', 'names', 'scope', 'versions'],
  V1CustomResourceDefinitionNames: ['plural', 'kind'],
  V1CustomResourceDefinitionVersion: ['name', 'served', 'storage'],
  V1CustomResourceColumnDefinition: ['name', 'type', 'jsonPath'],
};

function attributes(model: string): Attribute[] | undefined {
  const cls = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[model];
  return cls?.getAttributeTypeMap?.();
}

function checkValue(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) errors.push(`${path}: want a list, got ${JSON.stringify(value)}`);
    else value.forEach((v, i) => checkValue(v, array[1]!, `${path}[${i}]`, errors));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) errors.push(`${path}: want a map, got ${JSON.stringify(value)}`);
    else for (const [k, v] of Object.entries(value)) checkValue(v, map[1]!, `${path}.${k}`, errors);
    return;
  }
  switch (type) {
    case 'any':
    case 'object':
      return;
    case 'string':
    case 'Date':
      if (typeof value !== 'string') errors.push(`${path}: want a string, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(`${path}: want a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${path}: want a boolean, got ${JSON.stringify(value)}`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && !Number.isInteger(value)) errors.push(`${path}: want an integer or a string, got ${JSON.stringify(value)}`);
      return;
  }
  const attrs = attributes(type);
  if (!attrs) {
    errors.push(`${path}: no schema for type ${type}`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`${path}: want an object (${type}), got ${JSON.stringify(value)}`);
    return;
  }
  const byName = new Map(attrs.map((a) => [a.baseName, a]));
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const a = byName.get(k);
    if (!a) errors.push(`${path}.${k}: unknown field "${k}" in ${type}`);
    else checkValue(v, a.type, `${path}.${k}`, errors);
  }
  for (const r of REQUIRED[type] ?? []) if (obj[r] === undefined) errors.push(`${path}.${r}: required by ${type}`);
}

/** Every schema error of one object, each naming the field path; empty when the object is valid. */
export function validateManifest(obj: unknown): string[] {
  if (typeof obj !== 'object' || obj === null) return [`want an object, got ${JSON.stringify(obj)}`];
  const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
  const model = MODELS[`${String(o.apiVersion)}/${String(o.kind)}`];
  if (!model) return [`no schema known for apiVersion ${JSON.stringify(o.apiVersion)} kind ${JSON.stringify(o.kind)}`];
  const errors: string[] = [];
  if (typeof o.metadata?.name !== 'string' || o.metadata.name === '') errors.push('metadata.name: required');
  checkValue(obj, model, String(o.kind), errors);
  return errors;
}
