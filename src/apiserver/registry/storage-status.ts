// The Status of a storage failure, as upstream turns storage errors into API errors (k8s.io/apiserver
// pkg/storage/errors/storage.go). Failures of the Store itself (a driver's text) are an opaque 500: the client sees no
// internals, the log keeps the cause.
import { StorageError } from '../../storage/object-storage.js';
import { ApiStatusError, alreadyExists, badRequest, internalError, notFound, opaqueInternalError, serviceUnavailable } from '../api-status.js';
import type { ResourceInfo } from '../resource-info.js';

export function storageStatus(err: unknown, info: ResourceInfo, name = ''): ApiStatusError {
  if (err instanceof ApiStatusError) return err;
  if (!(err instanceof StorageError)) return opaqueInternalError(err);
  const gr = { group: info.group, resource: info.plural };
  switch (err.code) {
    case 'KeyNotFound':
      return notFound(gr, name);
    case 'KeyExists':
      return alreadyExists(gr, name);
    case 'Unencodable':
      // Worded as kube's decoder words an object it cannot handle.
      return badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${err.message}`);
    case 'Unavailable':
      return serviceUnavailable(err.message);
    case 'Internal':
      return internalError(err.message);
  }
}
