// ACL policies by name, kept sealed like everything else. `root` is implicit (everything) and immutable; `default` is
// built in, may be rewritten, and cannot be deleted - as in Vault.
import { Acl, DEFAULT_POLICY_TEXT, parsePolicy, type Policy } from './acl-policy.js';
import { RESPONSE_WRAPPING_POLICY, RESPONSE_WRAPPING_POLICY_TEXT } from './response-wrapping.js';
import type { SealedStorage } from './sealed-storage.js';
import { badRequest } from './vault-error.js';

const MAX_CACHED_ACLS = 1024;

interface StoredPolicy {
  name: string;
  policy: string;
}

export class PolicyStore {
  private readonly cache = new Map<string, Policy | null>();
  /** Merged ACLs by token policy list (a token's list is sorted): every request needs one. Any policy change drops them all. */
  private readonly acls = new Map<string, Acl>();

  constructor(private readonly storage: SealedStorage) {}

  /** Policy names are lower-cased and trimmed, as Vault does. */
  static normalizeName(name: string): string {
    return name.trim().toLowerCase();
  }

  read(name: string): StoredPolicy | undefined {
    if (name === 'root') return { name: 'root', policy: '' };
    if (name === RESPONSE_WRAPPING_POLICY) return { name, policy: RESPONSE_WRAPPING_POLICY_TEXT };
    return this.storage.getJson<StoredPolicy>(`policy/${name}`) ?? (name === 'default' ? { name, policy: DEFAULT_POLICY_TEXT } : undefined);
  }

  write(name: string, text: string): void {
    if (name === 'root' || name === RESPONSE_WRAPPING_POLICY) throw badRequest(`cannot update "${name}" policy`);
    let parsed: Policy;
    try {
      parsed = parsePolicy(name, text);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    this.storage.putJson(`policy/${name}`, { name, policy: text } satisfies StoredPolicy);
    this.cache.set(name, parsed);
    this.acls.clear();
  }

  delete(name: string): void {
    if (name === 'root' || name === RESPONSE_WRAPPING_POLICY) throw badRequest(`cannot delete "${name}" policy`);
    if (name === 'default') throw badRequest('cannot delete default policy');
    this.storage.delete(`policy/${name}`);
    this.cache.delete(name);
    this.acls.clear();
  }

  list(): string[] {
    const names = new Set(this.storage.list('policy/').map((p) => p.slice('policy/'.length)));
    names.add('default');
    names.add('root');
    return [...names].sort();
  }

  exists(name: string): boolean {
    return this.read(name) !== undefined;
  }

  /** The merged ACL of a token's policies; unknown names contribute nothing (a policy may be written later). */
  aclFor(names: readonly string[]): Acl {
    const id = names.join('\n');
    let acl = this.acls.get(id);
    if (!acl) {
      acl = this.buildAcl(names);
      if (this.acls.size >= MAX_CACHED_ACLS) this.acls.clear();
      this.acls.set(id, acl);
    }
    return acl;
  }

  private buildAcl(names: readonly string[]): Acl {
    if (names.includes('root')) return new Acl([], { root: true });
    const policies: Policy[] = [];
    for (const name of names) {
      let p = this.cache.get(name);
      if (p === undefined) {
        const stored = this.read(name);
        p = stored ? parsePolicy(name, stored.policy) : null;
        this.cache.set(name, p);
      }
      if (p) policies.push(p);
    }
    return new Acl(policies);
  }
}
