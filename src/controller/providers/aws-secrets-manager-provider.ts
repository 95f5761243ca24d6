// `service: SecretsManager` as ESO reads it (providers/v1/aws/secretsmanager/secretsmanager.go): remoteRef.key is a
// name or ARN; version `uuid/<id>` is a VersionId and anything else a staging label (AWSCURRENT by default,
// AWSPREVIOUS...); property is a gjson path into SecretString (or the binary as text); a binary secret without a
// property is returned as its bytes. ResourceNotFoundException (and a secret marked for deletion) is "no secret".
// find: ListSecrets with filters, page by page, then GetSecretValue for each match.
import { DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient, type Filter, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { InvalidError } from '../../lib/errors.js';
import { compileGoRegexp } from '../external-secrets/go-regexp.js';
import { jsonValueToBytes, selectJsonPath } from '../external-secrets/gjson-path.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';
import { awsErrorText, awsProperty, awsSecretMap, AwsServiceProvider, recordAws, type AwsServiceContext } from './aws-service-context.js';
import { NoSecretError, type CallOptions, type SecretsProvider } from './secrets-provider.js';

const METRIC = 'AWS/SecretsManager';
/** Pages a find may read: 100 secrets each, so 100,000 secrets; a bound on what one store spec can make us fetch. */
const MAX_PAGES = 1000;

export class AwsSecretsManagerProvider extends AwsServiceProvider<SecretsManagerClient> implements SecretsProvider {
  readonly metricName = METRIC;

  constructor(ctx: AwsServiceContext) {
    super(ctx, SecretsManagerClient);
  }

  private async fetch(ref: RemoteRef, opts: CallOptions): Promise<GetSecretValueCommandOutput> {
    const key = this.ctx.prefix + ref.key;
    const version = ref.version || 'AWSCURRENT';
    if (ref.metadataPolicy === 'Fetch') {
      const d = await this.send('DescribeSecret', () => this.client.send(new DescribeSecretCommand({ SecretId: key }), { abortSignal: opts.signal }), key);
      // ESO turns the tags into a JSON object (awsutil.SecretTagsToJSONString).
      const tags = Object.fromEntries((d.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      return { $metadata: {}, Name: d.Name, ARN: d.ARN, SecretString: JSON.stringify(tags) };
    }
    const input = version.startsWith('uuid/') ? { SecretId: key, VersionId: version.slice(5) } : { SecretId: key, VersionStage: version };
    return this.send('GetSecretValue', () => this.client.send(new GetSecretValueCommand(input), { abortSignal: opts.signal }), key);
  }

  private async send<T>(call: string, fn: () => Promise<T>, key: string): Promise<T> {
    try {
      return await recordAws(this.ctx, METRIC, call, fn);
    } catch (e) {
      const name = (e as { name?: string }).name;
      const text = awsErrorText(e);
      if (name === 'ResourceNotFoundException') throw new NoSecretError(`${key}: ${text}`);
      if ((name === 'InvalidRequestException' || name === 'InvalidParameterException') && text.includes('marked for deletion')) throw new NoSecretError(`${key}: ${text}`);
      throw new InvalidError(`${call} ${key}: ${text}`, { cause: e });
    }
  }

  async getSecret(ref: RemoteRef, opts: CallOptions): Promise<Buffer> {
    const out = await this.fetch(ref, opts);
    if (!ref.property) {
      if (out.SecretString !== undefined) return Buffer.from(out.SecretString);
      if (out.SecretBinary) return Buffer.from(out.SecretBinary);
      throw new InvalidError(`invalid secret received. no secret string nor binary for key: ${ref.key}`);
    }
    const payload = out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : (out.SecretString ?? '');
    return jsonValueToBytes(awsProperty(payload, ref.property, ref.key, selectJsonPath));
  }

  async getSecretMap(ref: RemoteRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    return awsSecretMap(await this.getSecret(ref, opts), ref.key);
  }

  async getAllSecrets(find: FindRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    const filters: Filter[] = [];
    let match: (name: string, tags: Record<string, string>) => boolean;
    if (find.name) {
      const re = compileGoRegexp(find.name.regexp ?? '');
      match = (name) => re.test(name);
    } else if (find.tags && Object.keys(find.tags).length > 0) {
      const want = Object.entries(find.tags);
      for (const [k, v] of want) filters.push({ Key: 'tag-key', Values: [k] }, { Key: 'tag-value', Values: [v] });
      // AWS matches tag-key and tag-value separately and by prefix; only secrets carrying each exact pair are kept.
      match = (_name, tags) => want.every(([k, v]) => tags[k] === v);
    } else throw new InvalidError('unexpected find operator');
    if (find.path) filters.push({ Key: 'name', Values: [find.path] });
    const names: string[] = [];
    let next: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new InvalidError(`find lists more than ${MAX_PAGES} pages of secrets; narrow it with find.path`);
      const out = await this.send('ListSecrets', () => this.client.send(new ListSecretsCommand({ Filters: filters, ...(next ? { NextToken: next } : {}) }), { abortSignal: opts.signal }), find.path ?? '*');
      for (const s of out.SecretList ?? []) {
        const tags = Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        if (s.Name && match(s.Name, tags)) names.push(s.Name);
      }
      next = out.NextToken;
      if (!next) break;
    }
    const data: Record<string, Buffer> = {};
    for (const name of names) {
      try {
        const out = await this.fetch({ key: name.startsWith(this.ctx.prefix) ? name.slice(this.ctx.prefix.length) : name }, opts);
        if (out.SecretString !== undefined) data[name] = Buffer.from(out.SecretString);
        if (out.SecretBinary) data[name] = Buffer.from(out.SecretBinary);
      } catch (e) {
        if (!(e instanceof NoSecretError)) throw e; // deleted between list and read
      }
    }
    return data;
  }
}
