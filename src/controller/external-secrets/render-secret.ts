// Stage 2 of the pipeline: the desired Secret, built by changing a copy of the existing one (or a new object) from
// the fetched data, the template and the ownership rules (ESO's
// pkg/controllers/externalsecret/externalsecret_controller_template.go, applyOwnership). Pure apart from reading
// templateFrom ConfigMaps/Secrets, so the same inputs always give the same Secret and an unchanged one is not written.
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { CofferError } from '../../lib/errors.js';
import type { KubeApi } from '../kube-api.js';
import { ANNOTATION_DATA_HASH, API_VERSION, LABEL_CREATED_BY, LABEL_MANAGED, type ExternalSecret } from './external-secret-types.js';
import { GoTemplate } from './go-template.js';
import { fieldManagerName, ownedFields } from './owned-fields.js';
import { hashSecretData, hashString } from './object-hash.js';
import { mergeTemplateFrom, readTemplateSource } from './template-from.js';
import { bytesToValue, type TemplateValue } from './template-functions.js';

/** A render failure; `reason` is the condition message ESO uses for it. */
export class RenderError extends CofferError {
  constructor(
    readonly conditionMessage: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function targetName(es: ExternalSecret): string {
  return es.spec?.target?.name || es.metadata.name!;
}

export function createdByLabel(es: ExternalSecret): string {
  return hashString(`${es.metadata.namespace}/${es.metadata.name}`);
}

function decodeData(secret: V1Secret | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret?.data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/**
 * ESO's controller-side checks of privileged templates (ValidateSecretTemplate, external-secrets
 * apis/externalsecrets/v1/externalsecret_validator.go), enforced without a webhook too.
 */
function checkTemplateRules(es: ExternalSecret): void {
  const t = es.spec?.target?.template;
  if (!t) return;
  if (t.type === 'bootstrap.kubernetes.io/token') throw new RenderError('could not update secret', 'template type bootstrap.kubernetes.io/token is not allowed');
  if (t.type === 'kubernetes.io/service-account-token') {
    const viaAnnotation = t.metadata?.annotations?.['kubernetes.io/service-account.name'] !== undefined;
    const viaTemplateFrom = (t.templateFrom ?? []).some((f) => (f.target ?? '').toLowerCase() === 'annotations');
    if (viaAnnotation || viaTemplateFrom) {
      throw new RenderError('could not update secret', 'templates of type kubernetes.io/service-account-token may not set kubernetes.io/service-account.name');
    }
  }
  for (const f of t.templateFrom ?? []) {
    if (!['', 'data', 'annotations', 'labels'].includes((f.target ?? '').toLowerCase())) {
      throw new RenderError('could not update secret', `templateFrom target=${JSON.stringify(f.target)} is not allowed when targeting a Secret, must be one of "Data", "Annotations" or "Labels"`);
    }
  }
}

function render(key: string, text: string, data: TemplateValue): Buffer {
  let tpl: GoTemplate;
  try {
    tpl = GoTemplate.parse(key, text);
  } catch (e) {
    throw new RenderError('could not update secret', `could not apply template: unable to parse template at key ${key}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return tpl.execute(data);
  } catch (e) {
    throw new RenderError('could not update secret', `could not apply template: unable to execute template at key ${key}: ${(e as Error).message}`, { cause: e });
  }
}

export interface RenderInput {
  es: ExternalSecret;
  existing: V1Secret | undefined;
  data: Record<string, Buffer>;
  kube: KubeApi;
  signal: AbortSignal;
}

export async function renderSecret(input: RenderInput): Promise<V1Secret> {
  const { es, existing, data } = input;
  checkTemplateRules(es);
  const target = es.spec?.target ?? {};
  const policy = target.creationPolicy ?? 'Owner';
  const name = targetName(es);
  const manager = fieldManagerName(es.metadata.name!);
  const secret: V1Secret = existing
    ? structuredClone(existing)
    : { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: es.metadata.namespace! } };
  const meta = secret.metadata!;
  meta.labels ??= {};
  meta.annotations ??= {};
  if (target.immutable) secret.immutable = true;

  if (!existing || !target.immutable) {
    const owned = ownedFields(existing, manager);
    for (const k of owned.labels) delete meta.labels[k];
    for (const k of owned.annotations) delete meta.annotations[k];
    let out: Record<string, Buffer> = {};
    if (policy === 'Merge' || policy === 'CreateOrMerge') {
      out = decodeData(existing);
      for (const k of owned.data) delete out[k];
    }
    const template = target.template;
    const templateData: Record<string, TemplateValue> = {};
    for (const [k, v] of Object.entries(data)) templateData[k] = bytesToValue(v);
    if (!template) {
      Object.assign(meta.labels, es.metadata.labels ?? {});
      Object.assign(meta.annotations, es.metadata.annotations ?? {});
      Object.assign(out, data);
    } else {
      if (template.engineVersion && template.engineVersion !== 'v2') throw new RenderError('could not update secret', `template engineVersion ${template.engineVersion} is not supported (only v2)`);
      if (template.type) secret.type = template.type;
      for (const f of template.metadata?.finalizers ?? []) if (!meta.finalizers?.includes(f)) (meta.finalizers ??= []).push(f);
      const hasTemplates = Object.keys(template.data ?? {}).length > 0 || (template.templateFrom ?? []).length > 0;
      if (template.mergePolicy === 'Merge' || !hasTemplates) Object.assign(out, data);
      await mergeTemplateFrom(template.templateFrom ?? [], {
        render: (key, text) => render(key, text, templateData),
        read: (source, name) =>
          readTemplateSource(input.kube, input.es.metadata.namespace!, source, name, input.signal).catch((e: unknown) => Promise.reject(new RenderError('could not update secret', (e as Error).message))),
        put: (where, k, v) => {
          if (where === 'labels') meta.labels![k] = v.toString('utf8');
          else if (where === 'annotations') meta.annotations![k] = v.toString('utf8');
          else out[k] = v;
        },
        fail: (m) => new RenderError('could not update secret', m.startsWith('error in ') ? m : `could not apply template: ${m}`),
      });
      for (const [k, text] of Object.entries(template.data ?? {})) out[k] = render(k, text, templateData);
      for (const [k, text] of Object.entries(template.metadata?.labels ?? {})) meta.labels[k] = render(k, text, templateData).toString('utf8');
      for (const [k, text] of Object.entries(template.metadata?.annotations ?? {})) meta.annotations[k] = render(k, text, templateData).toString('utf8');
    }
    secret.data = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toString('base64')]));
  }
  delete secret.stringData;
  applyOwnership(secret, es, policy);
  meta.labels[LABEL_MANAGED] = 'true';
  meta.annotations[ANNOTATION_DATA_HASH] = hashSecretData(decodeData(secret));
  return secret;
}

/**
 * Owner: controller reference + created-by label; other policies: remove both if they are ours (ESO's applyOwnership in
 * pkg/controllers/externalsecret/externalsecret_controller.go).
 */
function applyOwnership(secret: V1Secret, es: ExternalSecret, policy: string): void {
  const meta = secret.metadata!;
  const refs = meta.ownerReferences ?? [];
  const controller = refs.find((r) => r.controller);
  const isUs = (r: V1OwnerReference) => r.apiVersion.startsWith('external-secrets.io/') && r.kind === 'ExternalSecret' && r.name === es.metadata.name;
  if (controller && controller.kind === 'ExternalSecret' && controller.apiVersion.startsWith('external-secrets.io/') && controller.name !== es.metadata.name) {
    throw new RenderError('target is owned by another ExternalSecret', `secret is owned by another ExternalSecret: ${controller.name}`);
  }
  if (policy === 'Owner') {
    if (controller && !isUs(controller)) {
      throw new RenderError('failed to take ownership of target secret', `Object ${meta.namespace}/${meta.name} is already owned by another ${controller.kind} controller ${controller.name}`);
    }
    const ref: V1OwnerReference = { apiVersion: API_VERSION, kind: 'ExternalSecret', name: es.metadata.name!, uid: es.metadata.uid!, controller: true, blockOwnerDeletion: true };
    meta.ownerReferences = [...refs.filter((r) => !isUs(r)), ref];
    meta.labels![LABEL_CREATED_BY] = createdByLabel(es);
  } else {
    if (controller && isUs(controller)) meta.ownerReferences = refs.filter((r) => !isUs(r));
    if (meta.ownerReferences?.length === 0) delete meta.ownerReferences;
    delete meta.labels![LABEL_CREATED_BY];
  }
}

export function checkImmutableChange(existing: V1Secret | undefined, desired: V1Secret): void {
  if (!existing?.immutable) return;
  const same = JSON.stringify(sortKeys(existing.data ?? {})) === JSON.stringify(sortKeys(desired.data ?? {})) && (existing.type ?? 'Opaque') === (desired.type ?? 'Opaque');
  if (!same) throw new RenderError('could not update secret, target is immutable', `unable to update secret ${existing.metadata?.name}: secret is immutable`);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

