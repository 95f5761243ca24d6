// Verifies AWS Signature Version 4 on a request the way AWS does: parse the Authorization header, rebuild the
// canonical request from what arrived, derive the signing key from the secret of the named access key, and compare.
// Follows the AWS General Reference "Create a signed AWS API request" (canonical request, string to sign, signing
// key) and moto's moto/core/responses.py + moto/iam/access_control.py (which recompute it the same way).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedRequest {
  method: string;
  /** Path and query as received (`/`, `/?Action=...`). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** AWS's failure wording, by error code; the server turns them into each protocol's error shape. */
export class SignatureError extends Error {
  constructor(
    readonly code: 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException' | 'MissingAuthenticationTokenException',
    message: string,
  ) {
    super(message);
  }
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** AWS refuses a request whose X-Amz-Date is more than 5 minutes off ("Signature expired"). */
const MAX_SKEW_MS = 5 * 60_000;

export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (!header) throw new SignatureError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH.exec(header);
  if (!m) {
    throw new SignatureError('IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${header.slice(0, 30)}...`);
  }
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]!, signedHeaders: m[5]!.split(';'), signature: m[6]! };
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
      const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, ' '));
      return [encode(k), encode(v)] as const;
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const joined = Array.isArray(v) ? v.join(',') : (v ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** The canonical request string (exported for tests that want to see what is signed). */
export function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  // Non-S3 services sign the path with every segment URI-encoded once more (AWS docs: "double-encode").
  const canonicalPath = path.split('/').map((seg) => encode(seg)).join('/') || '/';
  const headers = signedHeaders.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join('');
  const payloadHash = headerValue(req.headers['x-amz-content-sha256']) || sha256(req.body);
  return [req.method, canonicalPath, canonicalQuery(q < 0 ? '' : req.url.slice(q + 1)), headers, signedHeaders.join(';'), payloadHash].join('\n');
}

/**
 * Throws a SignatureError unless `req` carries a valid SigV4 signature made with `secretFor(accessKeyId)`.
 * `secretFor` returns undefined for an unknown key (AWS: UnrecognizedClientException).
 */
export function verifySigV4(req: SignedRequest, secretFor: (accessKeyId: string) => string | undefined, now = Date.now()): ParsedAuthorization {
  const auth = parseAuthorization(headerValue(req.headers.authorization) || undefined);
  const amzDate = headerValue(req.headers['x-amz-date']);
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new SignatureError('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Math.abs(at - now) > MAX_SKEW_MS) {
    throw new SignatureError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier or later than the allowed skew of 5 minutes.`);
  }
  if (!amzDate.startsWith(auth.date)) throw new SignatureError('InvalidSignatureException', 'Credential should be scoped to a valid date.');
  if (!auth.signedHeaders.includes('host')) throw new SignatureError('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const secret = secretFor(auth.accessKeyId);
  if (secret === undefined) throw new SignatureError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest(req, auth.signedHeaders))].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SignatureError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return auth;
}
