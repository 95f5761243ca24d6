// A template's templateFrom entries, as ESO's templating.Parser merges them (pkg/controllers/templating/parser.go
// MergeTemplateFrom): for each entry, the listed keys of a ConfigMap, then of a Secret, then the literal, each
// rendered with the source values and written to the entry's target (Data, Labels or Annotations). `Values` renders
// a key's text as the value of that key; `KeysAndValues` (and a literal) renders a YAML mapping of keys to values.
// Shared by ExternalSecret (render-secret.ts) and PushSecret (push-template.ts).
import { parse as parseYaml } from 'yaml';
import { decodeValue } from './decoding-strategy.js';
import type { KubeApi } from '../kube-api.js';
import type { ExternalSecretTemplate } from './external-secret-types.js';

export type TemplateFrom = NonNullable<ExternalSecretTemplate['templateFrom']>[number];
export type TemplateTarget = 'data' | 'labels' | 'annotations';

export interface TemplateFromContext {
  /** Renders one template text (key names it in errors). */
  render(key: string, text: string): Buffer;
  /** The string values of a ConfigMap or Secret of the resource's namespace; throws when it is missing. */
  read(source: 'configMap' | 'secret', name: string): Promise<Record<string, string>>;
  /** Writes one rendered value. */
  put(target: TemplateTarget, key: string, value: Buffer): void;
  /** The error for a template that cannot be applied (each caller wraps it its own way). */
  fail(message: string): Error;
}

export async function mergeTemplateFrom(entries: readonly TemplateFrom[], ctx: TemplateFromContext): Promise<void> {
  for (const from of entries) {
    const target = (from.target ?? 'Data').toLowerCase() as TemplateTarget;
    const keysAndValues = (label: string, text: string) => {
      const rendered = ctx.render(label, text).toString('utf8');
      let parsed: unknown;
      try {
        parsed = parseYaml(rendered);
      } catch (e) {
        throw ctx.fail(`rendered ${label} is not YAML: ${(e as Error).message}`);
      }
      if (parsed === null || parsed === undefined) return;
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw ctx.fail(`rendered ${label} is not a YAML mapping`);
      for (const [k, v] of Object.entries(parsed)) ctx.put(target, k, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
    };
    for (const source of ['configMap', 'secret'] as const) {
      const ref = from[source];
      if (!ref) continue;
      const values = await ctx.read(source, ref.name);
      for (const item of ref.items ?? []) {
        const text = values[item.key];
        if (text === undefined) throw ctx.fail(`error in ${source === 'configMap' ? 'configmap' : 'secret'} ${ref.name}: missing key ${item.key}`);
        if ((item.templateAs ?? 'Values') === 'KeysAndValues') keysAndValues(item.key, text);
        else ctx.put(target, item.key, decodeValue(ctx.render(item.key, text), undefined));
      }
    }
    if (from.literal !== undefined) keysAndValues('literal', from.literal);
  }
}

/** The string values of a templateFrom ConfigMap or Secret, with ESO's text when it is missing. */
export async function readTemplateSource(kube: KubeApi, ns: string, source: 'configMap' | 'secret', name: string, signal: AbortSignal): Promise<Record<string, string>> {
  if (source === 'secret') {
    const s = await kube.getSecret(ns, name, { signal });
    if (!s) throw new Error(`error in secret ${name}: not found`);
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }
  const cm = await kube.getConfigMap(ns, name, { signal });
  if (!cm) throw new Error(`error in configmap ${name}: not found`);
  return cm.data ?? {};
}
