// The OpenAPI documents of a set of served resources, built on first request and kept (they change only when the
// served resources do) with their hashes for kube's caching rules: `?hash=` URLs are immutable, ETags on everything.
// Not built at start: encoding them takes a good part of a second, which `coffer up` need not spend before it is ready.
import type { ResourceInfo } from '../resource-info.js';
import { encodeOpenApiV2 } from './openapi-v2-protobuf.js';
import { openApiV2Document, type JsonObject } from './openapi-v2.js';
import { groupVersions, hashDocument, openApiV3Document, openApiV3Index, v3PathOf, type HashedDocument } from './openapi-v3.js';

export class OpenApiDocuments {
  private v3Built?: { index: HashedDocument; byPath: Map<string, HashedDocument> };
  private v2Built?: JsonObject;
  private v2JsonBuilt?: HashedDocument;
  private v2ProtobufBuilt?: Buffer;

  constructor(private readonly resources: readonly ResourceInfo[]) {}

  private get v3Documents(): { index: HashedDocument; byPath: Map<string, HashedDocument> } {
    if (!this.v3Built) {
      const byPath = new Map<string, HashedDocument>();
      for (const list of groupVersions(this.resources).values()) byPath.set(v3PathOf(list[0]!), hashDocument(openApiV3Document(list)));
      this.v3Built = { index: hashDocument(openApiV3Index(byPath)), byPath };
    }
    return this.v3Built;
  }

  get v3Index(): HashedDocument {
    return this.v3Documents.index;
  }

  /** The document at /openapi/v3/<path> (`api/v1`, `apis/<group>/<version>`). */
  v3(path: string): HashedDocument | undefined {
    return this.v3Documents.byPath.get(path);
  }

  private get v2(): JsonObject {
    return (this.v2Built ??= openApiV2Document(this.resources));
  }

  get v2Json(): HashedDocument {
    return (this.v2JsonBuilt ??= hashDocument(this.v2));
  }

  get v2Protobuf(): Buffer {
    return (this.v2ProtobufBuilt ??= encodeOpenApiV2(this.v2));
  }
}
