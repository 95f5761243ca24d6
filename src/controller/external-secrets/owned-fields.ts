// Which Secret keys, labels and annotations this ExternalSecret wrote, read from metadata.managedFields under its
// field manager, as ESO does. Removing exactly those before each render lets keys that vanished from the provider
// disappear while keys other writers own survive (creationPolicy Merge, deletionPolicy Merge).
import type { V1Secret } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';

/** `externalsecrets.external-secrets.io/<name>`, or a SHA3-224 form when that exceeds 63 characters (ESO's rule). */
export function fieldManagerName(esName: string): string {
  const plain = `externalsecrets.external-secrets.io/${esName}`;
  if (plain.length <= 63) return plain;
  return `externalsecrets.external-secrets.io/sha3/${createHash('sha3-224').update(esName).digest('hex')}`;
}

export interface OwnedFields {
  data: Set<string>;
  labels: Set<string>;
  annotations: Set<string>;
}

function keysOf(fields: unknown): Set<string> {
  const out = new Set<string>();
  if (fields && typeof fields === 'object') {
    for (const k of Object.keys(fields)) if (k.startsWith('f:')) out.add(k.slice(2));
  }
  return out;
}

export function ownedFields(secret: V1Secret | undefined, manager: string): OwnedFields {
  const owned: OwnedFields = { data: new Set(), labels: new Set(), annotations: new Set() };
  for (const entry of secret?.metadata?.managedFields ?? []) {
    if (entry.manager !== manager) continue;
    const f = entry.fieldsV1 as Record<string, Record<string, unknown>> | undefined;
    for (const k of keysOf(f?.['f:data'])) owned.data.add(k);
    for (const k of keysOf(f?.['f:stringData'])) owned.data.add(k);
    const meta = f?.['f:metadata'];
    for (const k of keysOf(meta?.['f:labels'])) owned.labels.add(k);
    for (const k of keysOf(meta?.['f:annotations'])) owned.annotations.add(k);
  }
  return owned;
}
