// `service: ParameterStore` as ESO reads it (providers/v1/aws/parameterstore/parameterstore.go): GetParameter with
// decryption (SecureString comes back in the clear, StringList as its comma-separated text); version selects
// `name:version`; property is a gjson path into the value; ParameterNotFound is "no secret". find by name: GetParameters
// ByPath (find.path, "/" by default, recursive) page by page, falling back to DescribeParameters when the role may not
// call it (AccessDeniedException); find by tags: DescribeParameters with tag:KEY filters, then GetParameter each.
import { DescribeParametersCommand, GetParameterCommand, GetParametersByPathCommand, ListTagsForResourceCommand, SSMClient, type ParameterStringFilter } from '@aws-sdk/client-ssm';
import { InvalidError } from '../../lib/errors.js';
import { compileGoRegexp } from '../external-secrets/go-regexp.js';
import { jsonValueToBytes, selectJsonPath } from '../external-secrets/gjson-path.js';
import type { FindRef, RemoteRef } from '../external-secrets/external-secret-types.js';
import { awsErrorText, awsProperty, awsSecretMap, AwsServiceProvider, recordAws, type AwsServiceContext } from './aws-service-context.js';
import { NoSecretError, type CallOptions, type SecretsProvider } from './secrets-provider.js';

const METRIC = 'AWS/ParameterStore';
/** GetParametersByPath pages hold 10, DescribeParameters 50: 1000 pages bound a find at 10,000+ parameters. */
const MAX_PAGES = 1000;

export class AwsParameterStoreProvider extends AwsServiceProvider<SSMClient> implements SecretsProvider {
  readonly metricName = METRIC;

  constructor(ctx: AwsServiceContext) {
    super(ctx, SSMClient);
  }

  private async send<T>(call: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await recordAws(this.ctx, METRIC, call, fn);
    } catch (e) {
      if ((e as { name?: string }).name === 'ParameterNotFound') throw new NoSecretError(`${what}: ${awsErrorText(e)}`);
      const err = new InvalidError(`${call} ${what}: ${awsErrorText(e)}`, { cause: e });
      throw err;
    }
  }

  private async value(name: string, opts: CallOptions): Promise<string> {
    const out = await this.send('GetParameter', name, () => this.client.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal: opts.signal }));
    if (out.Parameter?.Value === undefined) throw new InvalidError(`invalid secret received. parameter value is nil for key: ${name}`);
    return out.Parameter.Value;
  }

  async getSecret(ref: RemoteRef, opts: CallOptions): Promise<Buffer> {
    const name = this.ctx.prefix + ref.key;
    let value: string;
    if (ref.metadataPolicy === 'Fetch') {
      const out = await this.send('ListTagsForResource', name, () => this.client.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }), { abortSignal: opts.signal }));
      value = JSON.stringify(Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])));
    } else {
      value = await this.value(ref.version ? `${name}:${ref.version}` : name, opts);
    }
    if (!ref.property) return Buffer.from(value);
    return jsonValueToBytes(awsProperty(value, ref.property, ref.key, selectJsonPath));
  }

  async getSecretMap(ref: RemoteRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    return awsSecretMap(await this.getSecret(ref, opts), ref.key);
  }

  private async describe(filters: ParameterStringFilter[], opts: CallOptions): Promise<string[]> {
    const names: string[] = [];
    let next: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new InvalidError(`find describes more than ${MAX_PAGES} pages of parameters; narrow it with find.path`);
      const out = await this.send('DescribeParameters', 'parameters', () =>
        this.client.send(new DescribeParametersCommand({ ParameterFilters: filters, ...(next ? { NextToken: next } : {}) }), { abortSignal: opts.signal }),
      );
      for (const p of out.Parameters ?? []) if (p.Name) names.push(p.Name);
      next = out.NextToken;
      if (!next) return names;
    }
  }

  private async fetchAll(names: string[], opts: CallOptions): Promise<Record<string, Buffer>> {
    const data: Record<string, Buffer> = {};
    for (const name of names) {
      try {
        data[name] = Buffer.from(await this.value(name, opts));
      } catch (e) {
        if (!(e instanceof NoSecretError)) throw e; // deleted between describe and read
      }
    }
    return data;
  }

  async getAllSecrets(find: FindRef, opts: CallOptions): Promise<Record<string, Buffer>> {
    const pathFilter: ParameterStringFilter[] = find.path ? [{ Key: 'Path', Option: 'Recursive', Values: [find.path] }] : [];
    if (find.name) {
      const re = compileGoRegexp(find.name.regexp ?? '');
      const path = find.path ?? '/';
      const data: Record<string, Buffer> = {};
      let next: string | undefined;
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new InvalidError(`find reads more than ${MAX_PAGES} pages of parameters under ${path}; narrow it with find.path`);
        let out;
        try {
          out = await recordAws(this.ctx, METRIC, 'GetParametersByPath', () =>
            this.client.send(new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: true, ...(next ? { NextToken: next } : {}) }), { abortSignal: opts.signal }),
          );
        } catch (e) {
          // ESO falls back to DescribeParameters + GetParameter when the role may not call GetParametersByPath.
          if ((e as { name?: string }).name === 'AccessDeniedException') return this.fetchAll((await this.describe(pathFilter, opts)).filter((n) => re.test(n)), opts);
          throw new InvalidError(`fetching parameters by path ${path}: ${awsErrorText(e)}`, { cause: e });
        }
        for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined && re.test(p.Name)) data[p.Name] = Buffer.from(p.Value);
        next = out.NextToken;
        if (!next) return data;
      }
    }
    if (find.tags && Object.keys(find.tags).length > 0) {
      const filters: ParameterStringFilter[] = [...Object.entries(find.tags).map(([k, v]) => ({ Key: `tag:${k}`, Option: 'Equals', Values: [v] })), ...pathFilter];
      return this.fetchAll(await this.describe(filters, opts), opts);
    }
    throw new InvalidError('unexpected find operator');
  }
}
