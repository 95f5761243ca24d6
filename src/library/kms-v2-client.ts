// `coffer/kms-v2-client`: the client side of the KMS v2 gRPC API (k8s.io/kms apis/v2/api.proto) as kube-apiserver
// calls a plugin on its unix socket: Status, Encrypt, Decrypt. API and examples: docs/library.md.
export { GrpcKmsV2Client } from '../kms/grpc-v2-client.js';
export type { CallOptions, KmsV2EncryptResponse, KmsV2Service, KmsV2StatusResponse } from '../kms/kms-service.js';
