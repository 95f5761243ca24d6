// PushSecret spec.template, as ESO's pushsecret controller applies it (applyTemplate in
// pkg/controllers/pushsecret/pushsecret_controller_template.go): the source Secret's values are the template data;
// templateFrom is merged first (ConfigMaps and Secrets of the PushSecret's namespace, as for an ExternalSecret), then
// template.data, then template.metadata's labels and annotations, which join the source Secret's own (the
// kubernetes provider copies them to the remote Secret). The rendered keys join the source's whatever mergePolicy
// says: ESO renders onto a copy of the source Secret and never reads mergePolicy for a PushSecret. The Secret type
// becomes template.type, and an empty one Opaque (ESO's setMetadata sets it unconditionally; the kubernetes provider's
// mergePushSecretData writes Opaque for an empty type).
import type { PushSource } from '../providers/secrets-provider.js';
import type { ExternalSecretTemplate } from './external-secret-types.js';
import { GoTemplate } from './go-template.js';
import { mergeTemplateFrom, type TemplateFromContext } from './template-from.js';
import { bytesToValue, type TemplateValue } from './template-functions.js';

export type PushTemplate = ExternalSecretTemplate;

export async function applyPushTemplate(template: PushTemplate, source: PushSource, read: TemplateFromContext['read']): Promise<PushSource> {
  if (template.engineVersion && template.engineVersion !== 'v2') throw new Error(`template engineVersion ${template.engineVersion} is not supported (only v2)`);
  const values: Record<string, TemplateValue> = {};
  for (const [k, v] of Object.entries(source.data)) values[k] = bytesToValue(v);
  const render = (key: string, text: string): Buffer => {
    let tpl: GoTemplate;
    try {
      tpl = GoTemplate.parse(key, text);
    } catch (e) {
      throw new Error(`unable to parse template at key ${key}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return tpl.execute(values);
    } catch (e) {
      throw new Error(`unable to execute template at key ${key}: ${(e as Error).message}`, { cause: e });
    }
  };
  const data: Record<string, Buffer> = { ...source.data };
  const labels = { ...source.labels, ...template.metadata?.labels };
  const annotations = { ...source.annotations, ...template.metadata?.annotations };
  await mergeTemplateFrom(template.templateFrom ?? [], {
    render,
    read: (kind, name) => read(kind, name).catch((e: unknown) => Promise.reject(new Error(`error fetching templateFrom data: ${(e as Error).message}`))),
    put: (target, key, value) => {
      if (target === 'labels') labels[key] = value.toString('utf8');
      else if (target === 'annotations') annotations[key] = value.toString('utf8');
      else data[key] = value;
    },
    fail: (message) => new Error(`error fetching templateFrom data: ${message}`),
  });
  for (const [key, text] of Object.entries(template.data ?? {})) data[key] = render(key, text);
  for (const [key, text] of Object.entries(template.metadata?.labels ?? {})) labels[key] = render(key, text).toString('utf8');
  for (const [key, text] of Object.entries(template.metadata?.annotations ?? {})) annotations[key] = render(key, text).toString('utf8');
  return { data, labels, annotations, type: template.type || 'Opaque' };
}
