// KMS plugin endpoints as kube-apiserver reads them: a URL whose scheme is `unix` and whose PATH is the socket
// (`unix:///var/run/kms.sock`); a path starting `/@` names a Linux abstract socket. Beware `unix://tmp/x.sock`: like
// Go's url.Parse, "tmp" is then the host and the socket is `/x.sock`.
import { InvalidError } from '../lib/errors.js';

export interface KmsEndpoint {
  /** The socket path; for abstract sockets, the name with its leading `@`. */
  path: string;
  abstract: boolean;
  /** What grpc-js connects or binds to (an abstract name starts with a NUL byte, as Linux expects). */
  grpcTarget: string;
}

export function parseKmsEndpoint(endpoint: string): KmsEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidError(`invalid KMS endpoint ${JSON.stringify(endpoint)}: not a URL`);
  }
  if (url.protocol !== 'unix:') {
    throw new InvalidError(`invalid KMS endpoint ${JSON.stringify(endpoint)}: scheme must be unix, got ${JSON.stringify(url.protocol.slice(0, -1))}`);
  }
  const path = decodeURIComponent(url.pathname);
  if (path === '' || path === '/') {
    throw new InvalidError(`invalid KMS endpoint ${JSON.stringify(endpoint)}: no socket path`);
  }
  if (path.startsWith('/@')) {
    const name = path.slice(1);
    return { path: name, abstract: true, grpcTarget: `unix:\0${name.slice(1)}` };
  }
  return { path, abstract: false, grpcTarget: `unix://${path}` };
}
