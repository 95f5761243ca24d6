// Legacy discovery documents (k8s.io/apiserver pkg/endpoints/discovery): /version, /api, /api/v1, /apis, /apis/<group>,
// /apis/<group>/<version>. kubectl 1.32 asks for aggregated discovery first but falls back by the response
// Content-Type, so plain JSON documents are fully compatible; Coffer serves only those.
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceInfo } from '../resource-info.js';

/** Reported as 1.32 so kubectl 1.32 prints no version-skew warning; gitVersion must parse as semver. */
export function versionDocument(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0+coffer',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'coffer',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/**
 * base64 of the first 8 bytes of sha256("<group>/<version>/<kind>") of the version objects are stored in, as kube
 * computes it (every served version of a custom resource reports its storage version's hash).
 */
export function storageVersionHash(r: ResourceInfo): string {
  const version = r.customResource?.storageVersion ?? r.version;
  return createHash('sha256').update(`${r.group}/${version}/${r.kind}`).digest().subarray(0, 8).toString('base64');
}

/** A subresource served over HTTP, listed after its resource (client-node picks the first entry of a kind). */
export interface SubresourceInfo {
  resource: ResourceInfo;
  name: string; // "status"
  verbs: string[];
}

export function apiVersionsDocument(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function resourceListDocument(
  groupVersion: string,
  resources: readonly ResourceInfo[],
  subresources: readonly SubresourceInfo[] = [],
): Record<string, unknown> {
  const entries: Record<string, unknown>[] = [];
  for (const r of [...resources].sort((a, b) => a.plural.localeCompare(b.plural))) {
    entries.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
      storageVersionHash: storageVersionHash(r),
    });
    for (const s of subresources.filter((x) => x.resource === r)) {
      entries.push({ name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: s.verbs });
    }
  }
  // The core group's documents carry no apiVersion; named groups' do (kube strips it only for /api).
  return groupVersion === 'v1'
    ? { kind: 'APIResourceList', groupVersion, resources: entries }
    : { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: entries };
}

function groupDocument(name: string, versions: string[]): Record<string, unknown> {
  const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** Named groups of the served resources (the core group is not one), each with its versions in served order. */
export function namedGroups(resources: readonly ResourceInfo[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    if (r.group === '') continue;
    const versions = groups.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    groups.set(r.group, versions);
  }
  return groups;
}

export function apiGroupListDocument(resources: readonly ResourceInfo[]): Record<string, unknown> {
  const groups = [...namedGroups(resources)].map(([name, versions]) => groupDocument(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroupDocument(resources: readonly ResourceInfo[], group: string): Record<string, unknown> | undefined {
  const versions = namedGroups(resources).get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group, versions) } : undefined;
}

/** The resources of one group-version (`v1`, `external-secrets.io/v1`). */
export function resourcesOf(resources: readonly ResourceInfo[], groupVersion: string): ResourceInfo[] {
  return resources.filter((r) => apiVersionOf(r) === groupVersion);
}
