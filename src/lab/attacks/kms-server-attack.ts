// kms-server: full control of the key server (its data directory and root key), alone. What that yields depends on
// the deployment (the KEK that unwraps every EDEK; the KV secrets an ExternalSecret syncs from), so the deployment's
// handle does the take-over and this attack only asks for it.
import type { Attack } from '../attack.js';
import { emptyLoot } from '../loot.js';

export const kmsServerAttack: Attack = {
  id: 'kms-server',
  requires: ['kms-server'],
  async run(target, signal) {
    const server = target['kms-server'];
    if (!server) return { ...emptyLoot(), notApplicable: 'no KMS server in this deployment' };
    return server.takeOver(signal);
  },
};
