// First-start credentials of `coffer up`, as a kubeadm-style control plane has them: a CA, a serving certificate for
// 127.0.0.1 and localhost signed by it, an admin bearer token, and a kubeconfig that trusts the CA. Everything is
// owner-only (0600) in the data directory, and reused on later starts so clients keep working.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface ServerCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The admin's bearer token. Never logged. */
  adminToken: string;
  kubeconfigPath: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

async function generate(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const subtle = webcrypto.subtle;
  const caKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify']));
  const now = new Date();
  const tenYears = new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=coffer-ca',
    notBefore: now,
    notAfter: tenYears,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const serverKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify']));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=coffer-apiserver',
    issuer: ca.subject,
    notBefore: now,
    notAfter: tenYears,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  const keyDer = await subtle.exportKey('pkcs8', serverKeys.privateKey);
  return { caPem: ca.toString('pem') + '\n', certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', keyDer) };
}

/** Loads the credentials from the data directory, creating them (and the kubeconfig) on first start. */
export async function ensureServerCredentials(dataDir: string, server: string): Promise<ServerCredentials> {
  const files = {
    ca: join(dataDir, 'ca.crt'),
    cert: join(dataDir, 'apiserver.crt'),
    key: join(dataDir, 'apiserver.key'),
    token: join(dataDir, 'admin.token'),
    kubeconfig: join(dataDir, 'kubeconfig'),
  };
  if (!(await exists(files.key))) {
    const made = await generate();
    await writeFile(files.ca, made.caPem, { mode: 0o600 });
    await writeFile(files.cert, made.certPem, { mode: 0o600 });
    await writeFile(files.key, made.keyPem, { mode: 0o600 });
    await writeFile(files.token, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }
  const creds = {
    caPem: await readFile(files.ca, 'utf8'),
    certPem: await readFile(files.cert, 'utf8'),
    keyPem: await readFile(files.key, 'utf8'),
    adminToken: (await readFile(files.token, 'utf8')).trim(),
    kubeconfigPath: files.kubeconfig,
  };
  // Rewritten on every start: the listen address may have changed.
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'coffer', cluster: { server, 'certificate-authority-data': Buffer.from(creds.caPem).toString('base64') } }],
    users: [{ name: 'coffer-admin', user: { token: creds.adminToken } }],
    contexts: [{ name: 'coffer', context: { cluster: 'coffer', user: 'coffer-admin', namespace: 'default' } }],
    'current-context': 'coffer',
  };
  await writeFile(files.kubeconfig, stringify(kubeconfig), { mode: 0o600 });
  return creds;
}
