// `coffer/encryption`: kube-apiserver's encryption at rest as a library — read an EncryptionConfiguration, build the
// engine, and turn a resource's stored bytes into plaintext and back, byte-compatible with kube-apiserver
// (k8s.io/apiserver pkg/server/options/encryptionconfig). API and examples: docs/library.md.
export { EncryptionEngine, type EncryptionEngineOptions } from '../encryption/encryption-engine.js';
export {
  loadEncryptionConfiguration,
  readEncryptionConfigurationFile,
  EncryptionConfigurationError,
  type EncryptionConfiguration,
} from '../encryption/encryption-config.js';
export { contextForKey, type Transformer } from '../encryption/transformer.js';
export { parseGroupResource, groupResourceFromStorageKey, type GroupResource } from '../encryption/group-resource.js';
