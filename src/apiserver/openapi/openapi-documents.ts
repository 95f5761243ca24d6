// The OpenAPI documents of a set of served resources, built once (they change only when the served resources do) and
// kept with their hashes for kube's caching rules: `?hash=` URLs are immutable, ETags on everything.
import type { ResourceInfo } from '../resource-info.js';
import { encodeOpenApiV2 } from './openapi-v2-protobuf.js';
import { openApiV2Document } from './openapi-v2.js';
import { groupVersions, hashDocument, openApiV3Document, openApiV3Index, v3PathOf, type HashedDocument } from './openapi-v3.js';

export class OpenApiDocuments {
  readonly v3Index: HashedDocument;
  private readonly v3ByPath = new Map<string, HashedDocument>();
  readonly v2Json: HashedDocument;
  readonly v2Protobuf: Buffer;

  constructor(resources: readonly ResourceInfo[]) {
    for (const list of groupVersions(resources).values()) {
      this.v3ByPath.set(v3PathOf(list[0]!), hashDocument(openApiV3Document(list)));
    }
    this.v3Index = hashDocument(openApiV3Index(this.v3ByPath));
    const v2 = openApiV2Document(resources);
    this.v2Json = hashDocument(v2);
    this.v2Protobuf = encodeOpenApiV2(v2);
  }

  /** The document at /openapi/v3/<path> (`api/v1`, `apis/<group>/<version>`). */
  v3(path: string): HashedDocument | undefined {
    return this.v3ByPath.get(path);
  }
}
