// The kubeconfig `coffer up` writes for its admin: the server URL, the CA to trust, and the admin token. Owner-only
// (0600) because it holds the token; rewritten on every start because the listen address may have changed.
import { stringify } from 'yaml';
import { writePrivateFile } from '../../lib/private-file.js';

export interface KubeconfigOptions {
  server: string; // https://127.0.0.1:6443
  caPem: string;
  token: string;
  namespace?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'coffer', cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } }],
    users: [{ name: 'coffer-admin', user: { token: o.token } }],
    contexts: [{ name: 'coffer', context: { cluster: 'coffer', user: 'coffer-admin', namespace: o.namespace ?? 'default' } }],
    'current-context': 'coffer',
    preferences: {},
  });
}

export async function writeKubeconfig(path: string, o: KubeconfigOptions): Promise<void> {
  await writePrivateFile(path, kubeconfigYaml(o));
}
