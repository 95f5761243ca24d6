// Rewrites deploy/crds/ from the CRDs the API server serves:
//   node --import tsx src/apiserver/custom-resources/write-crd-manifests.ts
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crdManifestFileName, crdManifestYaml } from './crd-manifest.js';
import { EXTERNAL_SECRETS_CRDS } from './external-secrets/external-secrets-crds.js';

export const CRD_DIR = new URL('../../../deploy/crds/', import.meta.url).pathname;

export async function writeCrdManifests(dir = CRD_DIR): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const crd of EXTERNAL_SECRETS_CRDS) {
    const file = join(dir, crdManifestFileName(crd));
    await writeFile(file, crdManifestYaml(crd));
    written.push(file);
  }
  return written;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const f of await writeCrdManifests()) process.stdout.write(`${f}\n`);
}
