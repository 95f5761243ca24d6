// The Parameter Store operations used by Coffer and its tests (AmazonSSM over JSON 1.1): PutParameter, GetParameter
// (`name:version` selectors), GetParametersByPath (OneLevel or Recursive, at most 10 a page), DescribeParameters
// (ParameterFilters Name/Path/Type/tag:KEY, at most 50 a page), ListTagsForResource. SecureString values are stored
// encrypted under a KMS key of this server (alias/aws/ssm by default) and only decrypted WithDecryption, so a disabled
// key breaks reads as it does on AWS. Error codes and texts follow the SSM API reference and moto's moto/ssm/models.py
// and exceptions.py (ParameterNotFound, ParameterVersionNotFound, ParameterAlreadyExists, InvalidFilterKey).
import { AwsApiError, optionalString, page, requireString, validation } from './aws-errors.js';
import type { KmsService } from './kms-service.js';

interface ParameterVersion {
  version: number;
  value: string;
  modified: number;
}

interface Parameter {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  keyId?: string;
  versions: ParameterVersion[];
  tags: { Key: string; Value: string }[];
}

const TYPES = ['String', 'StringList', 'SecureString'] as const;

export class SsmService {
  readonly parameters = new Map<string, Parameter>();

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly kms: KmsService,
  ) {}

  private arn(name: string): string {
    return `arn:aws:ssm:${this.region}:${this.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  private defaultKey(): string {
    if (!this.kms.aliases.has('alias/aws/ssm')) this.kms.aliases.set('alias/aws/ssm', this.kms.createKey('Default key that protects my SSM parameters').id);
    return 'alias/aws/ssm';
  }

  private describe(p: Parameter): Record<string, unknown> {
    const last = p.versions.at(-1)!;
    return { Name: p.name, ARN: this.arn(p.name), Type: p.type, Version: last.version, LastModifiedDate: last.modified, DataType: 'text', Tier: 'Standard', ...(p.keyId ? { KeyId: p.keyId } : {}) };
  }

  private value(p: Parameter, v: ParameterVersion, decrypt: boolean, selector?: string): Record<string, unknown> {
    let value = v.value;
    if (p.type === 'SecureString' && decrypt) {
      value = Buffer.from(this.kms.handle('Decrypt', { CiphertextBlob: v.value, EncryptionContext: { PARAMETER_ARN: this.arn(p.name) } }).Plaintext as string, 'base64').toString();
    }
    return { Name: p.name, ARN: this.arn(p.name), Type: p.type, Value: value, Version: v.version, LastModifiedDate: v.modified, DataType: 'text', ...(selector ? { Selector: selector } : {}) };
  }

  private put(input: Record<string, unknown>): Record<string, unknown> {
    const name = requireString(input, 'Name');
    const value = requireString(input, 'Value');
    const existing = this.parameters.get(name);
    if (existing && input.Overwrite !== true) {
      throw new AwsApiError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    }
    if (existing && input.Tags !== undefined) throw validation('Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.');
    const type = (optionalString(input, 'Type') ?? existing?.type) as Parameter['type'] | undefined;
    if (!type || !TYPES.includes(type)) throw validation(`1 validation error detected: Value '${String(type)}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
    const p: Parameter = existing ?? { name, type, versions: [], tags: Array.isArray(input.Tags) ? (input.Tags as Parameter['tags']) : [] };
    p.type = type;
    let stored = value;
    if (type === 'SecureString') {
      p.keyId = optionalString(input, 'KeyId') ?? this.defaultKey();
      stored = this.kms.handle('Encrypt', { KeyId: p.keyId, Plaintext: Buffer.from(value).toString('base64'), EncryptionContext: { PARAMETER_ARN: this.arn(name) } }).CiphertextBlob as string;
    }
    const version = (p.versions.at(-1)?.version ?? 0) + 1;
    p.versions.push({ version, value: stored, modified: Date.now() / 1000 });
    this.parameters.set(name, p);
    return { Version: version, Tier: 'Standard' };
  }

  private get(input: Record<string, unknown>): Record<string, unknown> {
    const raw = requireString(input, 'Name');
    const m = /^(.*?)(?::(\d+))?$/.exec(raw)!;
    const name = m[1]!;
    const p = this.parameters.get(name);
    if (!p) throw new AwsApiError('ParameterNotFound', `Parameter ${name} not found.`);
    let v = p.versions.at(-1)!;
    if (m[2] !== undefined) {
      const found = p.versions.find((x) => x.version === Number(m[2]));
      if (!found) throw new AwsApiError('ParameterVersionNotFound', `Systems Manager could not find version ${m[2]} of ${name}. Verify the version and try again.`);
      v = found;
    }
    return { Parameter: this.value(p, v, input.WithDecryption === true, m[2] !== undefined ? `:${m[2]}` : undefined) };
  }

  private inPath(name: string, path: string, recursive: boolean): boolean {
    const base = path.endsWith('/') ? path : `${path}/`;
    if (!name.startsWith(base)) return false;
    return recursive || !name.slice(base.length).includes('/');
  }

  private byPath(input: Record<string, unknown>): Record<string, unknown> {
    const path = requireString(input, 'Path');
    if (!path.startsWith('/')) throw validation(`The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can't be prefixed with "aws" or "ssm" (case-insensitive).`);
    const all = [...this.parameters.values()].filter((p) => this.inPath(p.name, path, input.Recursive === true)).sort((a, b) => (a.name < b.name ? -1 : 1));
    const { items, nextToken } = page(all, input, { default: 10, limit: 10 });
    return { Parameters: items.map((p) => this.value(p, p.versions.at(-1)!, input.WithDecryption === true)), ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  private filter(p: Parameter, f: { Key: string; Option?: string; Values?: string[] }): boolean {
    const values = f.Values ?? [];
    if (f.Key.startsWith('tag:')) {
      const key = f.Key.slice(4);
      return p.tags.some((t) => t.Key === key && (values.length === 0 || values.includes(t.Value)));
    }
    switch (f.Key) {
      case 'Name':
        return f.Option === 'BeginsWith' ? values.some((v) => p.name.startsWith(v)) : values.includes(p.name);
      case 'Path':
        return values.some((v) => this.inPath(p.name, v, f.Option === 'Recursive'));
      case 'Type':
        return values.includes(p.type);
      default:
        throw new AwsApiError('InvalidFilterKey', `The following filter key is not valid: ${f.Key}. Valid filter keys include: [Path, Name, Type, KeyId, Tier, tag:...].`);
    }
  }

  handle(action: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (action) {
      case 'PutParameter':
        return this.put(input);
      case 'GetParameter':
        return this.get(input);
      case 'GetParametersByPath':
        return this.byPath(input);
      case 'DescribeParameters': {
        const filters = Array.isArray(input.ParameterFilters) ? (input.ParameterFilters as { Key: string; Option?: string; Values?: string[] }[]) : [];
        const all = [...this.parameters.values()].filter((p) => filters.every((f) => this.filter(p, f))).sort((a, b) => (a.name < b.name ? -1 : 1));
        const { items, nextToken } = page(all, input, { default: 50, limit: 50 });
        return { Parameters: items.map((p) => this.describe(p)), ...(nextToken ? { NextToken: nextToken } : {}) };
      }
      case 'ListTagsForResource': {
        const p = this.parameters.get(requireString(input, 'ResourceId'));
        if (!p) throw new AwsApiError('InvalidResourceId', 'Invalid Resource Id');
        return { TagList: p.tags };
      }
      default:
        throw new AwsApiError('UnknownOperationException', '');
    }
  }
}
