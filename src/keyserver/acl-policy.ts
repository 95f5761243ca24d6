// Vault ACL policies: parsing (HCL or JSON), merging the policies a token carries, and deciding which capabilities a
// request path gets, with Vault's matching rules (Vault's vault/policy.go, acl.go): an exact pattern wins; otherwise the
// single most specific glob/`+` pattern wins; the same pattern in several policies is unioned, and deny beats all.
import { InvalidError } from '../lib/errors.js';
import { parseHcl, type HclValue } from './hcl-subset.js';

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PathRule {
  pattern: string;
  capabilities: ReadonlySet<Capability>;
}

export interface Policy {
  name: string;
  rules: readonly PathRule[];
}

// The deprecated `policy = "read"` shorthand, as Vault's parser expands it.
const SHORTHAND: Readonly<Record<string, readonly Capability[]>> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};
// Per-path keys real Vault parses; accepted and not enforced here (see docs/keyserver.md).
const IGNORED_PATH_KEYS = new Set(['allowed_parameters', 'denied_parameters', 'required_parameters', 'min_wrapping_ttl', 'max_wrapping_ttl', 'control_group', 'subscribe_event_types']);

/** The built-in `default` policy (OpenBao policy_store.go), the part of it that names paths this server serves. */
export const DEFAULT_POLICY_TEXT = `# Allow tokens to look up, renew and revoke themselves
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}
# A private space per token, and response wrapping
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
path "sys/wrapping/rewrap" {
  capabilities = ["update"]
}
`;

/** Parses a policy document; errors start `failed to parse policy:` as Vault's do. */
export function parsePolicy(name: string, text: string): Policy {
  try {
    return { name, rules: parseRules(text) };
  } catch (e) {
    throw new InvalidError(`failed to parse policy: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function parseRules(text: string): PathRule[] {
  const rules: PathRule[] = [];
  const addRule = (pattern: string, body: Record<string, HclValue>) => {
    const caps = new Set<Capability>();
    for (const [key, value] of Object.entries(body)) {
      if (key === 'capabilities') {
        if (!Array.isArray(value)) throw new InvalidError(`path ${JSON.stringify(pattern)}: capabilities must be a list`);
        for (const c of value) {
          if (typeof c !== 'string' || !(CAPABILITIES as readonly string[]).includes(c)) {
            throw new InvalidError(`path ${JSON.stringify(pattern)}: invalid capability ${JSON.stringify(c)}`);
          }
          caps.add(c as Capability);
        }
      } else if (key === 'policy') {
        const expanded = typeof value === 'string' ? SHORTHAND[value] : undefined;
        if (!expanded) throw new InvalidError(`path ${JSON.stringify(pattern)}: invalid policy ${JSON.stringify(value)}`);
        for (const c of expanded) caps.add(c);
      } else if (!IGNORED_PATH_KEYS.has(key)) {
        throw new InvalidError(`path ${JSON.stringify(pattern)}: invalid key ${JSON.stringify(key)}`);
      }
    }
    rules.push({ pattern: pattern.replace(/^\/+/, ''), capabilities: caps.has('deny') ? new Set(['deny']) : caps });
  };

  if (/^\s*\{/.test(text)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new InvalidError(`invalid JSON: ${(e as Error).message}`);
    }
    for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
      if (key === 'name') continue;
      if (key !== 'path' || typeof value !== 'object' || value === null) throw new InvalidError(`invalid key ${JSON.stringify(key)}`);
      for (const [pattern, body] of Object.entries(value as Record<string, unknown>)) {
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidError(`path ${JSON.stringify(pattern)}: want an object`);
        addRule(pattern, body as Record<string, HclValue>);
      }
    }
    return rules;
  }

  const doc = parseHcl(text);
  for (const a of doc.attributes) {
    if (a.name === 'name') continue;
    if (a.name === 'path' && typeof a.value === 'object' && !Array.isArray(a.value)) {
      for (const [pattern, body] of Object.entries(a.value)) {
        if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidError(`line ${a.line}: path ${JSON.stringify(pattern)}: want a block`);
        addRule(pattern, body);
      }
      continue;
    }
    throw new InvalidError(`line ${a.line}: invalid key ${JSON.stringify(a.name)}`);
  }
  for (const b of doc.blocks) {
    if (b.type !== 'path' || b.labels.length !== 1) throw new InvalidError(`line ${b.line}: invalid block ${JSON.stringify(b.type)}; want path "<pattern>" { ... }`);
    if (b.body.blocks.length > 0) {
      const inner = b.body.blocks[0]!;
      if (!IGNORED_PATH_KEYS.has(inner.type)) throw new InvalidError(`line ${inner.line}: invalid key ${JSON.stringify(inner.type)}`);
    }
    addRule(b.labels[0]!, Object.fromEntries(b.body.attributes.map((a) => [a.name, a.value])));
  }
  return rules;
}

interface CompiledRule {
  pattern: string;
  regex: RegExp;
  wildcardAt: number;
  glob: boolean;
  plusCount: number;
  capabilities: Set<Capability>;
}

/** The merged view of the policies one token carries. */
export class Acl {
  readonly root: boolean;
  private readonly exact = new Map<string, Set<Capability>>();
  private readonly wild: CompiledRule[] = [];

  constructor(policies: readonly Policy[], opts?: { root?: boolean }) {
    this.root = Boolean(opts?.root);
    const byPattern = new Map<string, Set<Capability>>();
    for (const p of policies) {
      for (const r of p.rules) {
        const merged = byPattern.get(r.pattern) ?? new Set<Capability>();
        for (const c of r.capabilities) merged.add(c);
        byPattern.set(r.pattern, merged);
      }
    }
    for (const [pattern, caps] of byPattern) {
      const capabilities = caps.has('deny') ? new Set<Capability>(['deny']) : caps;
      const segments = pattern.split('/');
      const hasPlus = segments.includes('+');
      const glob = pattern.endsWith('*');
      if (!glob && !hasPlus) {
        this.exact.set(pattern, capabilities);
        continue;
      }
      const body = glob ? pattern.slice(0, -1) : pattern;
      const source = body
        .split('/')
        .map((s) => (s === '+' ? '[^/]*' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      const plusAt = segments.findIndex((s) => s === '+');
      const plusOffset = plusAt < 0 ? Infinity : segments.slice(0, plusAt).join('/').length + (plusAt > 0 ? 1 : 0);
      this.wild.push({
        pattern,
        regex: new RegExp(`^${source}${glob ? '[\\s\\S]*' : ''}$`),
        wildcardAt: Math.min(plusOffset, glob ? pattern.length - 1 : Infinity),
        glob,
        plusCount: segments.filter((s) => s === '+').length,
        capabilities,
      });
    }
  }

  /** The capabilities the token has on path (a LIST path ends in `/`), after Vault's matching rules. */
  capabilities(path: string, opts?: { list?: boolean }): ReadonlySet<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    const exact = this.exact.get(path) ?? (opts?.list && path.endsWith('/') ? this.exact.get(path.slice(0, -1)) : undefined);
    if (exact) return exact;
    const best = this.bestMatch(path) ?? (opts?.list && path.endsWith('/') ? this.bestMatch(path.slice(0, -1)) : undefined);
    return best?.capabilities ?? new Set();
  }

  allows(path: string, capability: Capability, opts?: { list?: boolean; sudo?: boolean }): boolean {
    if (this.root) return true;
    const caps = this.capabilities(path, opts);
    if (caps.has('deny')) return false;
    return caps.has(capability) && (!opts?.sudo || caps.has('sudo'));
  }

  /** Whether any rule grants something (not only deny) at or below prefix: Vault's preflight check for a mount. */
  grantsAnyUnder(prefix: string): boolean {
    if (this.root) return true;
    const grants = (caps: ReadonlySet<Capability>) => caps.size > 0 && !caps.has('deny');
    for (const [pattern, caps] of this.exact) if (pattern.startsWith(prefix) && grants(caps)) return true;
    for (const r of this.wild) {
      if (!grants(r.capabilities)) continue;
      const literal = r.pattern.slice(0, r.wildcardAt === Infinity ? undefined : r.wildcardAt);
      if (literal.startsWith(prefix) || prefix.startsWith(literal)) return true;
    }
    return false;
  }

  private bestMatch(path: string): CompiledRule | undefined {
    let best: CompiledRule | undefined;
    for (const r of this.wild) {
      if (!r.regex.test(path)) continue;
      if (!best || lowerPriority(best, r)) best = r;
    }
    return best;
  }
}

/** True when a has lower priority than b (OpenBao acl.go, the order of its checks). */
function lowerPriority(a: CompiledRule, b: CompiledRule): boolean {
  if (a.wildcardAt !== b.wildcardAt) return a.wildcardAt < b.wildcardAt;
  if (a.glob !== b.glob) return a.glob;
  if (a.plusCount !== b.plusCount) return a.plusCount > b.plusCount;
  if (a.pattern.length !== b.pattern.length) return a.pattern.length < b.pattern.length;
  return a.pattern < b.pattern;
}
