// An AWS test double for the real AWS SDK v3: one HTTP endpoint that serves KMS, Secrets Manager and SSM (AWS JSON 1.1,
// `X-Amz-Target: <Service>.<Operation>`) and STS (AWS Query: form-encoded POST, XML answers). Every request but
// AssumeRoleWithWebIdentity must carry a valid SigV4 signature made with credentials this server issued (sigv4.ts);
// temporary credentials also need their session token. No AWS emulator can be installed on the project's machines,
// so this is what the aws-kms backend and the aws provider are tested against; the docs say so.
//
// Knobs for tests: users and their deny rules (AccessDenied as IAM words it), role trust, injected faults
// (ThrottlingException...), a call log, and stop()/start() on the same port for outages.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AwsApiError } from './aws-errors.js';
import { KmsService } from './kms-service.js';
import { SecretsManagerService } from './secrets-manager-service.js';
import { SignatureError, verifySigV4 } from './sigv4.js';
import { SsmService } from './ssm-service.js';
import { StsService, type Identity, type RoleTrust } from './sts-service.js';

export type { Identity, RoleTrust };

/** X-Amz-Target prefix → SigV4 service name and IAM action prefix. */
const JSON_TARGETS: Record<string, { service: 'kms' | 'secretsmanager' | 'ssm' }> = {
  TrentService: { service: 'kms' },
  secretsmanager: { service: 'secretsmanager' },
  AmazonSSM: { service: 'ssm' },
};
const MAX_BODY = 1 << 20;

export interface AwsCall {
  /** `kms:Encrypt`, `sts:AssumeRole`... */
  action: string;
  principal: string;
  ok: boolean;
}

export interface AwsTestServer {
  endpoint: string;
  region: string;
  account: string;
  kms: KmsService;
  secretsManager: SecretsManagerService;
  ssm: SsmService;
  /** An IAM user with an access key pair (this is also the administrator tests seed data with). */
  addUser(name: string): Identity;
  /** Role ARN → who may assume it. */
  roles: Map<string, RoleTrust>;
  /** Principal ARN (a user, or a role for its sessions) → IAM actions refused (`kms:Encrypt`, `secretsmanager:*`). */
  deny(principalArn: string, action: string): void;
  /** The next `times` calls of `action` fail with `code` (e.g. ThrottlingException) before reaching the service. */
  injectFault(action: string, code: string, times: number, message?: string): void;
  calls: AwsCall[];
  /** Every identity issued (users and sessions), by access key id. */
  identities: Map<string, Identity>;
  /** Closes the listener and every connection (clients see refused connections); state is kept for start(). */
  stop(): Promise<void>;
  /**
   * Accepts connections but answers nothing, as a stopped (SIGSTOP) process or a dead network path does: clients wait
   * for their own deadline. `thaw()` drops the held requests and answers again.
   */
  freeze(): void;
  thaw(): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startAwsTestServer(opts: { region?: string; account?: string; port?: number } = {}): Promise<AwsTestServer> {
  const region = opts.region ?? 'us-east-1';
  const account = opts.account ?? '123456789012';
  const identities = new Map<string, Identity>();
  const denies = new Map<string, Set<string>>();
  const faults: { action: string; code: string; message: string; times: number }[] = [];
  const calls: AwsCall[] = [];
  const kms = new KmsService(region, account);
  const secretsManager = new SecretsManagerService(region, account);
  const ssm = new SsmService(region, account, kms);
  const sts = new StsService(account, (id) => identities.set(id.accessKeyId, id));

  function authenticate(req: IncomingMessage, body: Buffer, service: string): Identity {
    const auth = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, (akid) => identities.get(akid)?.secretAccessKey);
    if (auth.service !== service) throw new SignatureError('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'.`);
    if (auth.region !== region) throw new SignatureError('InvalidSignatureException', `Credential should be scoped to a valid region.`);
    const id = identities.get(auth.accessKeyId)!;
    if (id.sessionToken !== undefined) {
      if (req.headers['x-amz-security-token'] !== id.sessionToken) throw new SignatureError('UnrecognizedClientException', 'The security token included in the request is invalid.');
      // AWS: ExpiredTokenException, "The security token included in the request is expired".
      if (Date.now() > id.expiresAt!) throw new AwsApiError('ExpiredTokenException', 'The security token included in the request is expired');
    }
    return id;
  }

  function authorize(id: Identity, action: string, resource: string): void {
    const principal = id.roleArn ?? id.arn;
    const refused = denies.get(principal);
    const [svc] = action.split(':');
    if (refused && (refused.has(action) || refused.has(`${svc}:*`))) {
      // IAM's wording for an action no policy allows (AccessDeniedException in JSON services, AccessDenied in STS).
      throw new AwsApiError(svc === 'sts' ? 'AccessDenied' : 'AccessDeniedException', `User: ${id.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`, svc === 'sts' ? 403 : 400);
    }
    const i = faults.findIndex((f) => f.action === action && f.times > 0);
    if (i >= 0) {
      const f = faults[i]!;
      if (--f.times === 0) faults.splice(i, 1);
      throw new AwsApiError(f.code, f.message);
    }
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, errorCode?: string): void {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      ...(errorCode ? { 'x-amzn-errortype': errorCode } : {}),
    });
    res.end(JSON.stringify(body));
  }

  function sendXml(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(body);
  }

  let frozen = false;
  const held = new Set<IncomingMessage>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (frozen) {
      held.add(req);
      return;
    }
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix, operation] = target.split('.');
      const svc = JSON_TARGETS[prefix ?? ''];
      const action = `${svc?.service ?? '?'}:${operation ?? ''}`;
      let principal = 'anonymous';
      try {
        if (!svc || !operation) throw new AwsApiError('UnknownOperationException', '');
        const id = authenticate(req, body, svc.service);
        principal = id.arn;
        let input: Record<string, unknown>;
        try {
          input = body.length === 0 ? {} : (JSON.parse(body.toString()) as Record<string, unknown>);
        } catch {
          throw new AwsApiError('SerializationException', 'Start of structure or map found where not expected.');
        }
        const named = input.KeyId ?? input.SecretId ?? input.Name;
        const resource = typeof named === 'string' ? named : '*';
        authorize(id, action, resource);
        const service = svc.service === 'kms' ? kms : svc.service === 'secretsmanager' ? secretsManager : ssm;
        const out = service.handle(operation, input);
        calls.push({ action, principal, ok: true });
        sendJson(res, 200, out);
      } catch (e) {
        calls.push({ action, principal, ok: false });
        const code = e instanceof AwsApiError || e instanceof SignatureError ? e.code : 'InternalFailure';
        const status = e instanceof AwsApiError ? e.status : e instanceof SignatureError ? (code === 'MissingAuthenticationTokenException' ? 403 : 400) : 500;
        sendJson(res, status, { __type: code, message: e instanceof Error ? e.message : String(e) }, code);
      }
      return;
    }
    // The Query protocol: Action and Version in a form-encoded body (STS is the only Query service here).
    const form = new URLSearchParams(body.toString());
    const action = form.get('Action') ?? '';
    let principal = 'anonymous';
    try {
      let caller: Identity | undefined;
      // AssumeRoleWithWebIdentity is the one STS call AWS accepts without a signature (the token is the credential).
      if (action !== 'AssumeRoleWithWebIdentity') {
        caller = authenticate(req, body, 'sts');
        principal = caller.arn;
        authorize(caller, `sts:${action}`, form.get('RoleArn') ?? '*');
      }
      const result = sts.handle(action, form, caller);
      calls.push({ action: `sts:${action}`, principal, ok: true });
      sendXml(res, 200, `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">${result}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`);
    } catch (e) {
      calls.push({ action: `sts:${action}`, principal, ok: false });
      let code = e instanceof AwsApiError || e instanceof SignatureError ? e.code : 'InternalFailure';
      // Query services word a bad signature as SignatureDoesNotMatch / InvalidClientTokenId (STS API reference, Common Errors).
      if (code === 'InvalidSignatureException') code = 'SignatureDoesNotMatch';
      if (code === 'UnrecognizedClientException') code = 'InvalidClientTokenId';
      const status = e instanceof AwsApiError ? e.status : e instanceof SignatureError ? 403 : 500;
      const message = (e instanceof Error ? e.message : String(e)).replace(/&/g, '&amp;').replace(/</g, '&lt;');
      sendXml(res, status, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
    }
  }

  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = opts.port ?? 0;
  async function start(): Promise<void> {
    const s = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: (e as Error).message });
      });
    });
    s.on('connection', (c: Socket) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  }
  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const c of sockets) c.destroy();
    await closed;
  }
  await start();

  const api: AwsTestServer = {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    account,
    kms,
    secretsManager,
    ssm,
    roles: sts.roles,
    identities,
    calls,
    addUser(name) {
      const id: Identity = {
        accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        arn: `arn:aws:iam::${account}:user/${name}`,
      };
      identities.set(id.accessKeyId, id);
      return id;
    },
    deny(principalArn, action) {
      const set = denies.get(principalArn) ?? new Set<string>();
      set.add(action);
      denies.set(principalArn, set);
    },
    injectFault(action, code, times, message = code === 'ThrottlingException' ? 'Rate exceeded' : code) {
      faults.push({ action, code, message, times });
    },
    stop,
    start,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const r of held) r.socket.destroy();
      held.clear();
    },
    close: stop,
  };
  return api;
}
