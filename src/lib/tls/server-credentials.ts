// First-start credentials of `coffer up`, as a kubeadm control plane has them: a CA, a serving certificate signed by
// it for 127.0.0.1, ::1, localhost and the listen address, and an admin bearer token. Every file is owner-only (0600)
// in an owner-only data directory, and reused on later starts so clients keep working. The serving certificate is
// re-issued (same CA, so kubeconfigs stay valid) when the listen address is not in it or it is about to expire.
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writePrivateFile } from '../private-file.js';
import { commonName, issueCertificate, KEY_USAGE, subjectOf } from './x509-der.js';

export interface ServerCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The admin's bearer token. Never logged; written only to admin.token and the kubeconfig. */
  adminToken: string;
}

export interface CredentialFiles {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  token: string;
}

export function credentialFiles(dataDir: string): CredentialFiles {
  return {
    ca: join(dataDir, 'ca.crt'),
    caKey: join(dataDir, 'ca.key'),
    cert: join(dataDir, 'apiserver.crt'),
    key: join(dataDir, 'apiserver.key'),
    token: join(dataDir, 'admin.token'),
  };
}

const DAY_MS = 24 * 3600 * 1000;
const CA_LIFETIME_MS = 10 * 365 * DAY_MS;
const SERVING_LIFETIME_MS = 365 * DAY_MS; // kubeadm's serving certificates last a year
const RENEW_BEFORE_MS = 30 * DAY_MS;

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/** The names a serving certificate needs: loopback always, plus the host it listens on (unless a wildcard). */
export function servingNames(listenHost: string): { ips: string[]; dns: string[] } {
  const ips = ['127.0.0.1', '::1'];
  const dns = ['localhost'];
  if (listenHost && listenHost !== '0.0.0.0' && listenHost !== '::') {
    if (isIP(listenHost)) {
      if (!ips.includes(listenHost)) ips.push(listenHost);
    } else if (!dns.includes(listenHost)) dns.push(listenHost);
  }
  return { ips, dns };
}

/** A fresh P-256 key pair, the private half as PKCS#8 PEM. */
function ecKeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey, privateKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function createCa(now: Date): { caPem: string; caKeyPem: string } {
  const keys = ecKeyPair();
  const name = commonName('coffer-ca');
  const caPem = issueCertificate({
    serial: randomBytes(8),
    subject: name,
    issuer: name,
    notBefore: now,
    notAfter: new Date(now.getTime() + CA_LIFETIME_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    issuerPublicKey: keys.publicKey,
    ca: true,
    keyUsage: [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign],
  });
  return { caPem, caKeyPem: keys.privateKeyPem };
}

function issueServingCert(caPem: string, caKeyPem: string, listenHost: string, now: Date): { certPem: string; keyPem: string } {
  const keys = ecKeyPair();
  const ca = new X509Certificate(caPem);
  const certPem = issueCertificate({
    serial: randomBytes(8),
    subject: commonName('coffer-apiserver'),
    issuer: subjectOf(ca.raw), // byte for byte, also for a CA made by an older version
    notBefore: new Date(now.getTime() - 60_000), // tolerate a little clock skew on clients
    notAfter: new Date(now.getTime() + SERVING_LIFETIME_MS),
    publicKey: keys.publicKey,
    signingKey: createPrivateKey(caKeyPem),
    issuerPublicKey: ca.publicKey,
    ca: false,
    keyUsage: [KEY_USAGE.digitalSignature],
    serverAuthFor: servingNames(listenHost),
  });
  return { certPem, keyPem: keys.privateKeyPem };
}

/** True when the certificate covers every name the listen host needs and does not expire soon. */
function servingCertFits(certPem: string, listenHost: string, now: Date): boolean {
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
  const { ips, dns } = servingNames(listenHost);
  return ips.every((ip) => cert.checkIP(ip) !== undefined) && dns.every((d) => cert.checkHost(d) !== undefined);
}

/**
 * Loads the credentials from the data directory, creating what is missing. Returns whether anything was created, so
 * the caller can say so in its log.
 */
export async function ensureServerCredentials(
  dataDir: string,
  opts: { listenHost: string; now?: Date },
): Promise<{ credentials: ServerCredentials; created: string[] }> {
  const files = credentialFiles(dataDir);
  const now = opts.now ?? new Date();
  const created: string[] = [];
  let caPem = await readOptional(files.ca);
  let caKeyPem = await readOptional(files.caKey);
  if (!caPem || !caKeyPem) {
    ({ caPem, caKeyPem } = createCa(now));
    await writePrivateFile(files.caKey, caKeyPem);
    await writePrivateFile(files.ca, caPem);
    created.push(files.ca, files.caKey);
  }
  let certPem = await readOptional(files.cert);
  let keyPem = await readOptional(files.key);
  if (!certPem || !keyPem || created.length > 0 || !servingCertFits(certPem, opts.listenHost, now)) {
    ({ certPem, keyPem } = issueServingCert(caPem, caKeyPem, opts.listenHost, now));
    await writePrivateFile(files.key, keyPem);
    await writePrivateFile(files.cert, certPem);
    created.push(files.cert, files.key);
  }
  let adminToken = (await readOptional(files.token))?.trim();
  if (!adminToken) {
    adminToken = randomBytes(32).toString('base64url');
    await writePrivateFile(files.token, adminToken + '\n');
    created.push(files.token);
  }
  return { credentials: { caPem, certPem, keyPem, adminToken }, created };
}
