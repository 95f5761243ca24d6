// Edits of an EncryptionConfiguration file for `coffer rotate`: add a key second, make it first, remove the old one.
// Each edit is checked by loading the result exactly as kube-apiserver would before the file is replaced, and the file
// is replaced atomically (a reloading API server never reads half a file). Comments in the file are not kept.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadEncryptionConfiguration, wipeEncryptionConfigurationKeys } from '../encryption/encryption-config.js';
import { CofferError } from '../lib/errors.js';

export type LocalType = 'aescbc' | 'aesgcm' | 'secretbox';
export const LOCAL_TYPES: readonly LocalType[] = ['aescbc', 'aesgcm', 'secretbox'];

export interface KeyRef {
  type: LocalType;
  name: string;
}

interface RawKey {
  name: string;
  secret: string;
}
type RawProvider = Partial<Record<LocalType, { keys: RawKey[] }>> & Record<string, unknown>;
interface RawRule {
  resources: string[];
  providers: RawProvider[];
}
export interface RawConfig {
  resources: RawRule[];
  [k: string]: unknown;
}

export async function readRawConfig(file: string): Promise<{ raw: RawConfig; bytes: Buffer }> {
  const bytes = await readFile(file);
  wipeEncryptionConfigurationKeys(loadEncryptionConfiguration(bytes, { sourceName: file, reload: true }));
  return { raw: parse(bytes.toString('utf8')) as RawConfig, bytes };
}

/** The index of the rule that names `resource` (exactly, or by `*.` / `*.*`); rotate works on that rule. */
export function ruleIndexFor(raw: RawConfig, resource: string): number {
  const i = raw.resources.findIndex((r) => r.resources.includes(resource) || r.resources.includes('*.') || r.resources.includes('*.*'));
  if (i < 0) throw new CofferError(`the configuration has no rule for ${JSON.stringify(resource)}; nothing to rotate`);
  return i;
}

export function providerType(p: RawProvider): string {
  return Object.keys(p)[0] ?? '';
}

/** The key that writes (first key of the first provider) when the first provider is a local one. */
export function writingKey(raw: RawConfig, rule: number): KeyRef | undefined {
  const first = raw.resources[rule]!.providers[0];
  if (!first) return undefined;
  const type = providerType(first);
  if (!(LOCAL_TYPES as readonly string[]).includes(type)) return undefined;
  return { type: type as LocalType, name: first[type as LocalType]!.keys[0]!.name };
}

export function hasKey(raw: RawConfig, rule: number, key: KeyRef): boolean {
  return raw.resources[rule]!.providers.some((p) => p[key.type]?.keys.some((k) => k.name === key.name));
}

/** A new 32-byte key (valid for aescbc, aesgcm and secretbox) added second: into the writing provider when the type
 * is the same, else as a new provider right after it. */
export function addKeySecond(raw: RawConfig, rule: number, key: KeyRef): void {
  const secret = randomBytes(32);
  const entry = { name: key.name, secret: secret.toString('base64') };
  secret.fill(0);
  const providers = raw.resources[rule]!.providers;
  const first = providers[0]!;
  if (first[key.type]) first[key.type]!.keys.splice(1, 0, entry);
  else providers.splice(1, 0, { [key.type]: { keys: [entry] } });
}

/** Makes the key the writer: first in its provider, and its provider first. */
export function promoteKey(raw: RawConfig, rule: number, key: KeyRef): void {
  const providers = raw.resources[rule]!.providers;
  const at = providers.findIndex((p) => p[key.type]?.keys.some((k) => k.name === key.name));
  const [provider] = providers.splice(at, 1);
  providers.unshift(provider!);
  const keys = provider![key.type]!.keys;
  const k = keys.findIndex((x) => x.name === key.name);
  keys.unshift(...keys.splice(k, 1));
}

/** Removes the key; a provider left without keys goes too. */
export function removeKey(raw: RawConfig, rule: number, key: KeyRef): void {
  const providers = raw.resources[rule]!.providers;
  for (let i = providers.length - 1; i >= 0; i--) {
    const p = providers[i]![key.type];
    if (!p) continue;
    p.keys = p.keys.filter((k) => k.name !== key.name);
    if (p.keys.length === 0) providers.splice(i, 1);
  }
}

/** Validates the new content as kube-apiserver would, then replaces the file atomically (0600). Returns its hash. */
export async function writeRawConfig(file: string, raw: RawConfig): Promise<string> {
  const text = stringify(raw);
  const config = loadEncryptionConfiguration(text, { sourceName: file, reload: true });
  wipeEncryptionConfigurationKeys(config);
  const tmp = join(dirname(file), `.${Date.now()}-${process.pid}.coffer-rotate.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return config.hash;
}
