// PushSecret spec.template, as ESO's pushsecret controller applies it (applyTemplate in
// pkg/controllers/pushsecret/pushsecret_controller.go): the source Secret's values are the template data; with
// mergePolicy Replace (the default) only the templated keys are pushed, with Merge they are added to the source's.
// `type` replaces the Secret type the kubernetes provider writes. templateFrom is refused (it reads other objects).
import type { PushSource } from '../providers/secrets-provider.js';
import type { ExternalSecretTemplate } from './external-secret-types.js';
import { GoTemplate } from './go-template.js';
import { bytesToValue, type TemplateValue } from './template-functions.js';

export type PushTemplate = ExternalSecretTemplate;

export function applyPushTemplate(template: PushTemplate, source: PushSource): PushSource {
  if (template.engineVersion && template.engineVersion !== 'v2') throw new Error(`template engineVersion ${template.engineVersion} is not supported (only v2)`);
  if ((template.templateFrom ?? []).length > 0) throw new Error('spec.template.templateFrom is not supported by Coffer for PushSecret');
  const values: Record<string, TemplateValue> = {};
  for (const [k, v] of Object.entries(source.data)) values[k] = bytesToValue(v);
  const data: Record<string, Buffer> = template.mergePolicy === 'Merge' ? { ...source.data } : {};
  for (const [key, text] of Object.entries(template.data ?? {})) {
    let tpl: GoTemplate;
    try {
      tpl = GoTemplate.parse(key, text);
    } catch (e) {
      throw new Error(`unable to parse template at key ${key}: ${(e as Error).message}`, { cause: e });
    }
    try {
      data[key] = tpl.execute(values);
    } catch (e) {
      throw new Error(`unable to execute template at key ${key}: ${(e as Error).message}`, { cause: e });
    }
  }
  const type = template.type || source.type;
  return { data, ...(type ? { type } : {}) };
}
