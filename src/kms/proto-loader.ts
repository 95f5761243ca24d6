// The KMS gRPC services, loaded once from this project's .proto files. Field names become camelCase (key_id →
// keyId), bytes become Buffers, and every field is present with its proto3 default, as Go's generated code sees it.
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

type ServiceClientConstructor = grpc.ServiceClientConstructor;

function load(file: string, pkg: string): ServiceClientConstructor {
  const definition = loadSync(`${PROTO_DIR}${file}`, { keepCase: false, defaults: true, bytes: Buffer });
  const root = grpc.loadPackageDefinition(definition) as Record<string, Record<string, ServiceClientConstructor>>;
  return root[pkg]!.KeyManagementService!;
}

let v1: ServiceClientConstructor | undefined;
let v2: ServiceClientConstructor | undefined;

export function kmsV1beta1Service(): ServiceClientConstructor {
  return (v1 ??= load('kms-v1beta1.proto', 'v1beta1'));
}

export function kmsV2Service(): ServiceClientConstructor {
  return (v2 ??= load('kms-v2.proto', 'v2'));
}
