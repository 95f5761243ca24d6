// STS over the AWS Query protocol (form-encoded POST, XML answers): AssumeRole (trust, ExternalId, session Tags,
// role chaining), AssumeRoleWithWebIdentity (unsigned; the token's `aud` and `sub` checked against the role's trust),
// GetCallerIdentity. Response documents and error codes follow the STS API reference and moto's moto/sts/responses.py
// and models.py. What AWS does and this double does not: the web identity token's signature is NOT verified against
// an OIDC issuer (the test decides which tokens a role trusts by subject and audience).
import { randomBytes } from 'node:crypto';
import { AwsApiError } from './aws-errors.js';

export interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  /** `arn:aws:iam::ACCOUNT:user/NAME` or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  arn: string;
  /** For an assumed role: the role's ARN (what trust policies and deny rules name). */
  roleArn?: string;
  sessionToken?: string;
  expiresAt?: number;
  sessionTags?: Record<string, string>;
}

export interface RoleTrust {
  /** User or role ARNs that may AssumeRole. */
  principals?: string[];
  /** When set, AssumeRole must carry this ExternalId (the confused-deputy condition). */
  externalId?: string;
  /** Web identities that may AssumeRoleWithWebIdentity: the token's `sub`, and its `aud` must include `audience`. */
  webIdentity?: { subjects: string[]; audience: string };
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class StsService {
  readonly roles = new Map<string, RoleTrust>();

  constructor(
    private readonly account: string,
    private readonly issue: (id: Identity) => void,
  ) {}

  private session(roleArn: string, sessionName: string, durationSeconds: number, tags: Record<string, string>): Identity {
    const m = ROLE_ARN.exec(roleArn)!;
    const id: Identity = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      arn: `arn:aws:sts::${m[1]}:assumed-role/${m[2]}/${sessionName}`,
      roleArn,
      expiresAt: Date.now() + durationSeconds * 1000,
      sessionTags: tags,
    };
    this.issue(id);
    return id;
  }

  private common(form: URLSearchParams): { roleArn: string; trust: RoleTrust; sessionName: string; duration: number } {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    if (!ROLE_ARN.test(roleArn)) throw new AwsApiError('ValidationError', `${roleArn} is invalid`);
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new AwsApiError('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const duration = Number(form.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) throw new AwsApiError('ValidationError', `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
    const trust = this.roles.get(roleArn);
    return { roleArn, trust: trust ?? {}, sessionName, duration };
  }

  private credentials(id: Identity, result: string, extra = ''): string {
    const c = `<Credentials><AccessKeyId>${id.accessKeyId}</AccessKeyId><SecretAccessKey>${xml(id.secretAccessKey)}</SecretAccessKey><SessionToken>${xml(id.sessionToken!)}</SessionToken><Expiration>${new Date(id.expiresAt!).toISOString()}</Expiration></Credentials>`;
    const user = `<AssumedRoleUser><Arn>${xml(id.arn)}</Arn><AssumedRoleId>AROA${id.accessKeyId.slice(4, 20)}:${xml(id.arn.split('/').at(-1)!)}</AssumedRoleId></AssumedRoleUser>`;
    return `<${result}>${c}${user}<PackedPolicySize>6</PackedPolicySize>${extra}</${result}>`;
  }

  /** `caller` is undefined only for AssumeRoleWithWebIdentity, which AWS accepts unsigned. */
  handle(action: string, form: URLSearchParams, caller: Identity | undefined): string {
    switch (action) {
      case 'GetCallerIdentity':
        return `<GetCallerIdentityResult><Arn>${xml(caller!.arn)}</Arn><UserId>${caller!.accessKeyId}</UserId><Account>${this.account}</Account></GetCallerIdentityResult>`;
      case 'AssumeRole': {
        const { roleArn, trust, sessionName, duration } = this.common(form);
        const principal = caller!.roleArn ?? caller!.arn;
        const denied = () => new AwsApiError('AccessDenied', `User: ${caller!.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
        if (!this.roles.has(roleArn) || !trust.principals?.includes(principal)) throw denied();
        if (trust.externalId !== undefined && form.get('ExternalId') !== trust.externalId) throw denied();
        const tags: Record<string, string> = {};
        for (let i = 1; form.has(`Tags.member.${i}.Key`); i++) tags[form.get(`Tags.member.${i}.Key`)!] = form.get(`Tags.member.${i}.Value`) ?? '';
        // Session tags are inherited along a role chain when the caller marked them transitive; kept simple here: inherited.
        return this.credentials(this.session(roleArn, sessionName, duration, { ...caller!.sessionTags, ...tags }), 'AssumeRoleResult');
      }
      case 'AssumeRoleWithWebIdentity': {
        const { roleArn, trust, sessionName, duration } = this.common(form);
        const token = form.get('WebIdentityToken') ?? '';
        let claims: { sub?: unknown; aud?: unknown };
        try {
          claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as typeof claims;
        } catch {
          throw new AwsApiError('InvalidIdentityToken', "Couldn't parse the web identity token.");
        }
        const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
        const w = trust.webIdentity;
        if (!w || !auds.includes(w.audience) || !w.subjects.includes(String(claims.sub))) {
          throw new AwsApiError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
        }
        const id = this.session(roleArn, sessionName, duration, {});
        return this.credentials(id, 'AssumeRoleWithWebIdentityResult', `<SubjectFromWebIdentityToken>${xml(String(claims.sub))}</SubjectFromWebIdentityToken><Audience>${xml(w.audience)}</Audience>`);
      }
      default:
        throw new AwsApiError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
    }
  }
}
