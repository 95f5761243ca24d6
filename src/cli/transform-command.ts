// `coffer transform decrypt|encrypt`: one stored value through the EncryptionConfiguration, in either direction.
// This is the disaster-recovery path: an etcd backup, the config file and access to the KMS plugin give the
// Secrets back, without a running API server.
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { InvalidError } from '../lib/errors.js';
import { decryptStoredValue, encryptStoredValue } from '../library/transform.js';
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

/** Reads a stored value, writes its plaintext (raw bytes or the decoded object), reports provider and staleness. */
export async function runDecrypt(opts: TransformOptions, io: TransformIo = PROCESS_IO): Promise<void> {
  const result = await decryptStoredValue(await io.readStdin(), opts);
  const via = result.via.length > 0 ? result.via.join(', ') : 'identity (resource not configured)';
  io.writeStderr(`decrypted by: ${via}\nstale: ${result.stale ? 'yes (rewrite it to re-encrypt with the first provider)' : 'no'}\n`);
  if (opts.format === 'raw') {
    io.writeStdout(result.data);
    return;
  }
  const obj = decodeObject(result.data);
  io.writeStdout(opts.format === 'json' ? `${JSON.stringify(obj, null, 2)}\n` : toYaml(obj));
}

/** Encrypts plaintext (raw stored bytes, or an object as JSON/YAML) with the resource's first provider. */
export async function runEncrypt(opts: TransformOptions, io: TransformIo = PROCESS_IO): Promise<void> {
  const input = await io.readStdin();
  const plain = opts.format === 'raw' ? input : encodeObject(parseYaml(input.toString('utf8')) as Parameters<typeof encodeObject>[0]);
  io.writeStdout(await encryptStoredValue(plain, opts));
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
