// Discovery and the OpenAPI v3 documents kubectl 1.32 needs (spec kubernetes-api-for-kubectl.md §1, §2). The OpenAPI
// document is the minimum that lets `kubectl apply/create -f` validate on the server: a patch operation per kind with
// its group-version-kind and the fieldValidation parameter. It lists no strategic-merge content type, so kubectl
// computes apply patches from its compiled-in types, as the spec's rule 3 allows.
import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../resource-info.js';

export function versionDocument(): object {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0+coffer',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'node' + process.versions.node,
    compiler: 'coffer',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

export function apiVersionsDocument(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function coreResourceListDocument(resources: readonly ResourceInfo[]): object {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: resources.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    })),
  };
}

export function apiGroupListDocument(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

function patchOperation(r: ResourceInfo): object {
  return {
    'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
    parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
    requestBody: {
      content: Object.fromEntries(
        ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'].map((t) => [
          t,
          { schema: { type: 'object' } },
        ]),
      ),
    },
    responses: { '200': { description: 'OK' } },
  };
}

export function openApiV3CoreDocument(resources: readonly ResourceInfo[]): object {
  const paths: Record<string, object> = {};
  for (const r of resources) {
    const item = r.namespaced ? `/api/v1/namespaces/{namespace}/${r.plural}/{name}` : `/api/v1/${r.plural}/{name}`;
    paths[item] = { patch: patchOperation(r) };
  }
  return { openapi: '3.0.0', info: { title: 'Coffer', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}

export function openApiV3IndexDocument(core: object): object {
  const hash = createHash('sha512').update(JSON.stringify(core)).digest('hex').toUpperCase();
  return { paths: { 'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${hash}` } } };
}
