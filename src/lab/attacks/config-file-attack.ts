// config-file: only the EncryptionConfiguration, as it leaks from configuration management or a repository. It holds
// the keys of the local providers (aescbc, aesgcm, secretbox) and, for KMS, only the plugin's socket path.
import { readFile } from 'node:fs/promises';
import type { Attack } from '../attack.js';
import { findKeyCandidates } from '../key-candidates.js';
import { emptyLoot } from '../loot.js';

export const configFileAttack: Attack = {
  id: 'config-file',
  requires: ['config-file'],
  async run(target) {
    const loot = emptyLoot();
    const file = target['config-file'];
    if (!file) return { ...loot, notApplicable: 'no EncryptionConfiguration' };
    const bytes = await readFile(file.path);
    loot.blobs.push({ label: 'config-file: EncryptionConfiguration', bytes, locate: (o) => `byte ${o}` });
    const keys = findKeyCandidates(bytes).map((k) => ({ ...k, where: `EncryptionConfiguration ${k.where}` }));
    loot.keys.push(...keys);
    loot.notes.push(`EncryptionConfiguration: ${keys.length} key(s) in it`);
    return loot;
  },
};
