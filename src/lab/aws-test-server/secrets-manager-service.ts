// The Secrets Manager operations used by Coffer and its tests (secretsmanager over JSON 1.1): CreateSecret,
// PutSecretValue, GetSecretValue, DescribeSecret, ListSecrets, DeleteSecret. Version staging (AWSCURRENT moves to a new
// version and the old one becomes AWSPREVIOUS), lookup by name or ARN, ListSecrets filters (name/tag-key/tag-value are
// case-sensitive prefix matches, a leading "!" negates; values of one filter OR, filters AND) and every error text
// follow the Secrets Manager API reference and moto's moto/secretsmanager/models.py, exceptions.py and
// list_secrets/filters.py.
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsApiError, optionalString, page, requireString, validation } from './aws-errors.js';

interface Version {
  id: string;
  string?: string;
  binary?: Buffer;
  stages: Set<string>;
  created: number;
}

interface Secret {
  name: string;
  arn: string;
  description?: string;
  tags: { Key: string; Value: string }[];
  versions: Map<string, Version>;
  deleted?: number;
  created: number;
}

const notFound = () => new AwsApiError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

export class SecretsManagerService {
  readonly secrets = new Map<string, Secret>();

  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  /** SecretId is a name or a full ARN (ARNs end in a random 6-character suffix, as AWS makes them). */
  private find(id: string, opts: { allowDeleted?: boolean } = {}): Secret {
    const s = id.startsWith('arn:') ? [...this.secrets.values()].find((x) => x.arn === id) : this.secrets.get(id);
    if (!s) throw notFound();
    if (s.deleted !== undefined && !opts.allowDeleted) {
      throw new AwsApiError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    return s;
  }

  private value(input: Record<string, unknown>): { string?: string; binary?: Buffer } {
    const str = optionalString(input, 'SecretString');
    const bin = optionalString(input, 'SecretBinary');
    if (str !== undefined && bin !== undefined) throw new AwsApiError('InvalidParameterException', 'You must provide either SecretString or SecretBinary, but not both.');
    return str !== undefined ? { string: str } : bin !== undefined ? { binary: Buffer.from(bin, 'base64') } : {};
  }

  private addVersion(s: Secret, value: { string?: string; binary?: Buffer }, token: string | undefined, stages: string[] = ['AWSCURRENT']): Version {
    const id = token ?? randomUUID();
    if (s.versions.has(id)) throw new AwsApiError('ResourceExistsException', `A resource with the ID you requested already exists.`);
    if (stages.includes('AWSCURRENT')) {
      for (const v of s.versions.values()) v.stages.delete('AWSPREVIOUS');
      for (const v of s.versions.values()) {
        if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
      }
    }
    const v: Version = { id, ...value, stages: new Set(stages), created: Date.now() / 1000 };
    s.versions.set(id, v);
    return v;
  }

  private versionStages(s: Secret): Record<string, string[]> {
    return Object.fromEntries([...s.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]]));
  }

  private entry(s: Secret): Record<string, unknown> {
    return {
      ARN: s.arn, Name: s.name, ...(s.description ? { Description: s.description } : {}), CreatedDate: s.created,
      ...(s.tags.length ? { Tags: s.tags } : {}), SecretVersionsToStages: this.versionStages(s), ...(s.deleted ? { DeletedDate: s.deleted } : {}),
    };
  }

  private tags(input: Record<string, unknown>): { Key: string; Value: string }[] {
    const t = input.Tags;
    if (t === undefined) return [];
    if (!Array.isArray(t) || t.some((x: { Key?: unknown; Value?: unknown }) => typeof x?.Key !== 'string' || typeof x?.Value !== 'string')) throw validation('Tags must be a list of {Key, Value}');
    return t as { Key: string; Value: string }[];
  }

  private matches(s: Secret, filters: { Key: string; Values: string[] }[]): boolean {
    const prefix = (patterns: string[], values: string[]) =>
      patterns.some((p) => (p.startsWith('!') ? values.some((v) => !v.startsWith(p.slice(1))) : values.some((v) => v.startsWith(p))));
    return filters.every((f) => {
      switch (f.Key) {
        case 'name':
          return prefix(f.Values, [s.name]);
        case 'tag-key':
          return prefix(f.Values, s.tags.map((t) => t.Key));
        case 'tag-value':
          return prefix(f.Values, s.tags.map((t) => t.Value));
        case 'description':
          return prefix(f.Values, s.description ? [s.description] : []);
        default:
          throw validation(`1 validation error detected: Value '${f.Key}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]`);
      }
    });
  }

  handle(action: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (action) {
      case 'CreateSecret': {
        const name = requireString(input, 'Name');
        if (this.secrets.has(name)) throw new AwsApiError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
        const s: Secret = {
          name, arn: `arn:aws:secretsmanager:${this.region}:${this.account}:secret:${name}-${randomBytes(4).toString('base64url').slice(0, 6)}`,
          tags: this.tags(input), versions: new Map(), created: Date.now() / 1000,
          ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
        };
        const value = this.value(input);
        this.secrets.set(name, s);
        const v = value.string !== undefined || value.binary ? this.addVersion(s, value, optionalString(input, 'ClientRequestToken')) : undefined;
        return { ARN: s.arn, Name: s.name, ...(v ? { VersionId: v.id } : {}) };
      }
      case 'PutSecretValue': {
        const s = this.find(requireString(input, 'SecretId'));
        const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : undefined;
        const v = this.addVersion(s, this.value(input), optionalString(input, 'ClientRequestToken'), stages);
        return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages] };
      }
      case 'GetSecretValue': {
        const s = this.find(requireString(input, 'SecretId'));
        const versionId = optionalString(input, 'VersionId');
        const stage = optionalString(input, 'VersionStage');
        let v: Version | undefined;
        if (versionId !== undefined) {
          v = s.versions.get(versionId);
          if (!v) throw new AwsApiError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
          if (stage !== undefined && !v.stages.has(stage)) {
            throw new AwsApiError('InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
          }
        } else {
          const want = stage ?? 'AWSCURRENT';
          v = [...s.versions.values()].find((x) => x.stages.has(want));
          if (!v) throw new AwsApiError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${want}`);
        }
        return {
          ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages], CreatedDate: v.created,
          ...(v.string !== undefined ? { SecretString: v.string } : {}), ...(v.binary ? { SecretBinary: v.binary.toString('base64') } : {}),
        };
      }
      case 'DescribeSecret':
        return this.entry(this.find(requireString(input, 'SecretId'), { allowDeleted: true }));
      case 'DeleteSecret': {
        const s = this.find(requireString(input, 'SecretId'));
        if (input.ForceDeleteWithoutRecovery === true) this.secrets.delete(s.name);
        else s.deleted = Date.now() / 1000;
        return { ARN: s.arn, Name: s.name, DeletionDate: Date.now() / 1000 };
      }
      case 'ListSecrets': {
        const filters = Array.isArray(input.Filters) ? (input.Filters as { Key: string; Values: string[] }[]) : [];
        // Secrets marked for deletion are left out unless IncludePlannedDeletion (API reference, ListSecrets).
        const all = [...this.secrets.values()].filter((s) => (s.deleted === undefined || input.IncludePlannedDeletion === true) && this.matches(s, filters));
        const { items, nextToken } = page(all, input, { default: 100, limit: 100 });
        return { SecretList: items.map((s) => this.entry(s)), ...(nextToken ? { NextToken: nextToken } : {}) };
      }
      default:
        throw new AwsApiError('UnknownOperationException', '');
    }
  }
}
