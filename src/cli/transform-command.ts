// `coffer transform decrypt|encrypt`: one stored value through the EncryptionConfiguration, in either direction.
// This is the disaster-recovery path: an etcd backup, the config file and access to the KMS plugin give the
// Secrets back, without a running API server.
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { readEncryptionConfigurationFile } from '../encryption/encryption-config.js';
import { EncryptionEngine } from '../encryption/encryption-engine.js';
import { groupResourceFromStorageKey, parseGroupResource, type GroupResource } from '../encryption/group-resource.js';
import { contextForKey } from '../encryption/transformer.js';
import { DecryptError, InvalidError } from '../lib/errors.js';
import { decodeObject, encodeObject } from '../objects/object-codec.js';

export type ObjectFormat = 'raw' | 'json' | 'yaml';

export interface TransformOptions {
  encryptionConfig: string;
  key: string;
  /** `secrets`, `deployments.apps`, ...; derived from a `/registry/<resource>/...` key when absent. */
  resource?: string;
  format: ObjectFormat;
}

export interface TransformIo {
  readStdin(): Promise<Buffer>;
  writeStdout(data: Uint8Array | string): void;
  writeStderr(text: string): void;
}

const PROCESS_IO: TransformIo = {
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  writeStdout: (data) => process.stdout.write(data),
  writeStderr: (text) => process.stderr.write(text),
};

function resolveResource(opts: TransformOptions): GroupResource {
  if (opts.resource) return parseGroupResource(opts.resource);
  const gr = groupResourceFromStorageKey(opts.key);
  if (!gr) {
    throw new InvalidError(`cannot tell the resource from ${JSON.stringify(opts.key)}; give --resource`, { field: '--key' });
  }
  return gr;
}

async function withEngine<T>(opts: TransformOptions, fn: (engine: EncryptionEngine) => Promise<T>): Promise<T> {
  const config = await readEncryptionConfigurationFile(opts.encryptionConfig);
  const engine = await EncryptionEngine.create(config);
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/**
 * AES-GCM (aesgcm, and the DEK of KMS v2) authenticates the storage key with the value, so Go's bare "message
 * authentication failed" has three causes a user can act on; name them, and the --key that was used.
 */
function explainDecryptFailure(e: unknown, key: string): unknown {
  if (!(e instanceof Error) || !e.message.includes('message authentication failed')) return e;
  return new DecryptError(
    `authentication failed: wrong key, wrong storage key, or tampered (check that --encryption-config holds the key that wrote it and that --key ${JSON.stringify(key)} is the exact key it is stored under; ${e.message})`,
    { cause: e },
  );
}

/** Reads a stored value, writes its plaintext (raw bytes or the decoded object), reports provider and staleness. */
export async function runDecrypt(opts: TransformOptions, io: TransformIo = PROCESS_IO): Promise<void> {
  const gr = resolveResource(opts);
  const stored = await io.readStdin();
  await withEngine(opts, async (engine) => {
    const result = await engine
      .transformerFor(gr)
      .fromStorage(stored, contextForKey(opts.key))
      .catch((e: unknown) => {
        throw explainDecryptFailure(e, opts.key);
      });
    const via = result.via && result.via.length > 0 ? result.via.join(', ') : 'identity (resource not configured)';
    io.writeStderr(`decrypted by: ${via}\nstale: ${result.stale ? 'yes (rewrite it to re-encrypt with the first provider)' : 'no'}\n`);
    if (opts.format === 'raw') {
      io.writeStdout(result.data);
      return;
    }
    const obj = decodeObject(result.data);
    io.writeStdout(opts.format === 'json' ? `${JSON.stringify(obj, null, 2)}\n` : toYaml(obj));
  });
}

/** Encrypts plaintext (raw stored bytes, or an object as JSON/YAML) with the resource's first provider. */
export async function runEncrypt(opts: TransformOptions, io: TransformIo = PROCESS_IO): Promise<void> {
  const gr = resolveResource(opts);
  const input = await io.readStdin();
  const plain = opts.format === 'raw' ? input : encodeObject(parseYaml(input.toString('utf8')) as Parameters<typeof encodeObject>[0]);
  await withEngine(opts, async (engine) => {
    io.writeStdout(await engine.transformerFor(gr).toStorage(plain, contextForKey(opts.key)));
  });
}

function parseFormat(value: string): ObjectFormat {
  if (value === 'raw' || value === 'json' || value === 'yaml') return value;
  throw new InvalidError(`must be raw, json or yaml, got ${JSON.stringify(value)}`, { field: '--output' });
}

export function registerTransformCommand(program: Command): void {
  const transform = program
    .command('transform')
    .description('Decrypt or encrypt one stored value with an EncryptionConfiguration (disaster recovery)');
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--encryption-config <file>', 'the EncryptionConfiguration file')
      .requiredOption('--key <etcd-key>', 'the storage key, e.g. /registry/secrets/default/mysecret')
      .option('--resource <resource>', 'the resource (secrets, configmaps, name.group); derived from --key by default');
  common(transform.command('decrypt'))
    .description('read a stored value (as etcdctl get --print-value-only prints it) on stdin, write its plaintext')
    .option('-o, --output <format>', 'raw | json | yaml', 'raw')
    .action(async (o: { encryptionConfig: string; key: string; resource?: string; output: string }) => {
      await runDecrypt({ ...o, format: parseFormat(o.output) });
    });
  common(transform.command('encrypt'))
    .description('read plaintext on stdin, write the value kube-apiserver would store, using the first provider')
    .option('--input <format>', 'raw (stored plaintext bytes) | json | yaml (an object, encoded as kube-apiserver does)', 'raw')
    .action(async (o: { encryptionConfig: string; key: string; resource?: string; input: string }) => {
      await runEncrypt({ ...o, format: parseFormat(o.input) });
    });
}
