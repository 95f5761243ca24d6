// `npm run bench -- encryption`: writes and reads per second for every provider at 1 KiB and 64 KiB, each as a
// ratio to bare node:crypto AES-256-GCM (random nonce, no prefix) on the same payload in the same run.
// KMS providers talk to the base64 test plugin over a real unix socket, as a kube-apiserver talks to its plugin.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { contextForKey, type Transformer } from '../src/encryption/transformer.js';
import { PrefixTransformers } from '../src/encryption/prefix-transformers.js';
import { aesCbcProvider, aesGcmProvider, identityProvider, secretboxProvider } from '../src/encryption/local-providers.js';
import { compare, printRows, type BenchRow } from './measure.js';
import { kmsCases } from './encryption-kms-cases.js';

export interface ProviderCase {
  name: string;
  transformer: Transformer;
  /** Target ratio for writes at 1 KiB, where the issue sets one. */
  writeTarget1k?: number;
}

const ctx = contextForKey('/registry/secrets/default/bench');
const KEY = randomBytes(32);

function bareGcmWrite(payload: Uint8Array): () => Buffer {
  return () => {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', KEY, nonce);
    c.setAAD(ctx.authenticatedData);
    return Buffer.concat([nonce, c.update(payload), c.final(), c.getAuthTag()]);
  };
}

function bareGcmRead(stored: Buffer): () => Buffer {
  return () => {
    const d = createDecipheriv('aes-256-gcm', KEY, stored.subarray(0, 12));
    d.setAAD(ctx.authenticatedData);
    d.setAuthTag(stored.subarray(stored.length - 16));
    return Buffer.concat([d.update(stored.subarray(12, stored.length - 16)), d.final()]);
  };
}

function localCases(): ProviderCase[] {
  const list = (entry: ReturnType<typeof identityProvider>) => new PrefixTransformers([entry]);
  return [
    { name: 'identity', transformer: list(identityProvider()) },
    { name: 'aescbc', transformer: list(aesCbcProvider([{ name: 'k', secret: randomBytes(32) }])) },
    { name: 'aesgcm', transformer: list(aesGcmProvider([{ name: 'k', secret: randomBytes(32) }])) },
    { name: 'secretbox', transformer: list(secretboxProvider([{ name: 'k', secret: randomBytes(32) }])) },
  ];
}

export async function run(): Promise<void> {
  const kms = await kmsCases();
  try {
    const cases = [...localCases(), ...kms.cases];
    for (const size of [1024, 64 * 1024]) {
      const payload = randomBytes(size);
      const baseStored = bareGcmWrite(payload)();
      const rows: BenchRow[] = [];
      const label = size === 1024 ? '1 KiB' : '64 KiB';
      for (const c of cases) {
        const stored = await c.transformer.toStorage(payload, ctx);
        const w = await compare(bareGcmWrite(payload), () => c.transformer.toStorage(payload, ctx));
        rows.push({
          name: `${c.name} write ${label}`,
          baseline: 'bare AES-256-GCM seal',
          opsPerSec: w.candidate,
          baselineOpsPerSec: w.baseline,
          ratio: w.ratio,
          ...(size === 1024 && c.writeTarget1k !== undefined ? { target: c.writeTarget1k } : {}),
        });
        const r = await compare(bareGcmRead(baseStored), () => c.transformer.fromStorage(stored, ctx));
        rows.push({
          name: `${c.name} read ${label}`,
          baseline: 'bare AES-256-GCM open',
          opsPerSec: r.candidate,
          baselineOpsPerSec: r.baseline,
          ratio: r.ratio,
        });
      }
      printRows(`encryption providers, ${label} payload`, rows);
    }
  } finally {
    await kms.close();
  }
}
