// The pieces every cpu-ab script loads from a build: `label=provider:distdir` parsed, the build's modules, and an
// EncryptionEngine for Secrets with one provider (identity, aesgcm with a random key, or KMS v2 over the base64 test
// plugin, started once per process from the first build that needs it, as the bench serves it in its own process).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let plugin;

/** `label=provider:distdir` → { label, provider, dist } (dist as a file URL). */
export function parseTarget(arg) {
  const [label, spec] = arg.split('=');
  const [provider, distDir] = spec.split(':');
  return { label, provider, dist: pathToFileURL(resolve(distDir)).href };
}

/** The build's store, engine and API server modules, and an engine for Secrets under `provider`. */
export async function loadBuild(dist, provider) {
  const { SqliteStore } = await import(`${dist}/storage/sqlite/sqlite-store.js`);
  const { EncryptionEngine } = await import(`${dist}/encryption/encryption-engine.js`);
  const { loadEncryptionConfiguration } = await import(`${dist}/encryption/encryption-config.js`);
  const { startApiServer } = await import(`${dist}/apiserver/api-server.js`);
  const { createResourceStores } = await import(`${dist}/apiserver/registry/resource-stores.js`);
  if (provider === 'kms' && !plugin) plugin = await (await import(`${dist}/kms/testing/base64-kms-plugin.js`)).startBase64KmsPlugin();
  const yaml = {
    identity: '      - identity: {}\n',
    aesgcm: `      - aesgcm:\n          keys:\n            - name: k\n              secret: ${randomBytes(32).toString('base64')}\n`,
    kms: `      - kms:\n          apiVersion: v2\n          name: bench\n          endpoint: ${plugin?.endpoint}\n`,
  }[provider];
  if (!yaml) throw new Error(`unknown provider ${provider}`);
  const config = `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${yaml}`;
  const engine = await EncryptionEngine.create(loadEncryptionConfiguration(config));
  return { SqliteStore, startApiServer, createResourceStores, engine };
}

/** Stops the KMS plugin, if one was started. */
export async function closePlugin() {
  await plugin?.close();
}
