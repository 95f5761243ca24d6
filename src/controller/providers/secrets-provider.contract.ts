// The behaviour every SecretsProvider owes the reconcile pipeline (ESO's SecretsClient: GetSecret, GetSecretMap,
// GetAllSecrets, Validate, Close), run by each provider's tests against its real backend: fake, vault on `coffer
// keyserver` (KV v2), kubernetes on an in-process API server, aws on the AWS test server. Before the suite runs, the
// test file stores CONTRACT_SECRETS in its backend, each remote secret as the backend holds a string map (a KV v2
// secret, a Secret's data, a SecretString of JSON, a fake entry of JSON); each case opens its own provider.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError } from '../../lib/errors.js';
import { NoSecretError, type SecretsProvider } from './secrets-provider.js';

export interface ContractSecret {
  key: string;
  data: Record<string, string>;
}

/** What the backend holds for the suite. Keys are valid names everywhere (Secret names, KV paths, AWS names). */
export const CONTRACT_SECRETS: readonly ContractSecret[] = [
  { key: 'contract-db', data: { username: 'admin', password: 'db-password-1' } },
  { key: 'contract-api', data: { token: 'api-token-1' } },
  { key: 'other-cache', data: { password: 'cache-password-1' } },
];

export interface OpenedProvider {
  provider: SecretsProvider;
  /** Closes the provider (again, if the case closed it already) and releases what open() made. */
  cleanup(): Promise<void>;
}

export const SECRETS_PROVIDER_CASES = {
  whole: 'getSecret without a property returns the whole secret as a JSON object',
  property: 'getSecret with a property returns that value',
  map: 'getSecretMap returns every key of the secret',
  missingKey: "a missing key is NotFound (getSecretMap: NoSecretError, the error deletionPolicy tolerates)",
  missingProperty: 'a missing property is refused',
  find: 'getAllSecrets with a name regexp returns exactly the matching secrets',
  validate: 'validate answers Ready for a working store',
  aborted: 'an already-aborted signal: every call rejects, and never as NoSecretError',
  closeTwice: 'close() twice is safe',
} as const;
export type SecretsProviderCase = keyof typeof SECRETS_PROVIDER_CASES;

export interface SecretsProviderContractOptions {
  /** Cases this provider is known to fail, with the reason: they still run, as `todo`; the contract is never relaxed. */
  knownDisagreements?: Partial<Record<SecretsProviderCase, string>>;
  /** Per-case timeout. Default 30 s. */
  timeoutMs?: number;
}

const call = () => ({ signal: AbortSignal.timeout(20_000) });
const text = (m: Record<string, Buffer>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString('utf8')]));
const db = CONTRACT_SECRETS[0]!;

export function runSecretsProviderContract(name: string, open: () => Promise<OpenedProvider>, opts: SecretsProviderContractOptions = {}): void {
  const timeout = opts.timeoutMs ?? 30_000;

  const test = (c: SecretsProviderCase, fn: (p: SecretsProvider) => Promise<void>) => {
    const todo = opts.knownDisagreements?.[c];
    void it(SECRETS_PROVIDER_CASES[c], { timeout, ...(todo ? { todo } : {}) }, async () => {
      const opened = await open();
      try {
        await fn(opened.provider);
      } finally {
        await opened.cleanup();
      }
    });
  };

  void describe(`SecretsProvider contract: ${name}`, () => {
    test('whole', async (p) => {
      for (const s of CONTRACT_SECRETS) {
        assert.deepEqual(JSON.parse((await p.getSecret({ key: s.key }, call())).toString('utf8')), s.data, s.key);
      }
    });

    test('property', async (p) => {
      assert.equal((await p.getSecret({ key: db.key, property: 'password' }, call())).toString('utf8'), db.data.password);
      assert.equal((await p.getSecret({ key: db.key, property: 'username' }, call())).toString('utf8'), db.data.username);
    });

    test('map', async (p) => {
      for (const s of CONTRACT_SECRETS) assert.deepEqual(text(await p.getSecretMap({ key: s.key }, call())), s.data, s.key);
    });

    test('missingKey', async (p) => {
      const ref = { key: 'contract-missing' };
      await assert.rejects(p.getSecret(ref, call()), (e) => e instanceof NotFoundError, 'getSecret');
      await assert.rejects(p.getSecretMap(ref, call()), (e) => e instanceof NoSecretError, 'getSecretMap');
    });

    test('missingProperty', async (p) => {
      await assert.rejects(p.getSecret({ key: db.key, property: 'no-such-property' }, call()), Error);
    });

    test('find', async (p) => {
      const found = await p.getAllSecrets({ name: { regexp: '^contract-' } }, call());
      const expected = CONTRACT_SECRETS.filter((s) => s.key.startsWith('contract-'));
      assert.deepEqual(Object.keys(found).sort(), expected.map((s) => s.key).sort());
      for (const s of expected) assert.deepEqual(JSON.parse(found[s.key]!.toString('utf8')), s.data, s.key);
    });

    test('validate', async (p) => {
      assert.equal(await p.validate(call()), 'Ready');
    });

    test('aborted', async (p) => {
      // Warm up first, so that nothing cached (a login, a connection) lets a later call skip the signal.
      await p.getSecret({ key: db.key }, call());
      const ac = new AbortController();
      ac.abort(new Error('contract: aborted before the call'));
      const signal = ac.signal;
      // An abort that looked like "no such secret" would let deletionPolicy Delete remove the target Secret.
      const notNoSecret = (what: string) => (e: unknown) => {
        assert.ok(e instanceof Error, `${what}: rejects with an Error`);
        assert.ok(!(e instanceof NoSecretError), `${what}: an abort is not NoSecretError`);
        return true;
      };
      await assert.rejects(p.getSecret({ key: db.key }, { signal }), notNoSecret('getSecret'), `getSecret resolved despite the aborted signal`);
      await assert.rejects(p.getSecretMap({ key: db.key }, { signal }), notNoSecret('getSecretMap'), `getSecretMap resolved despite the aborted signal`);
      await assert.rejects(p.getAllSecrets({ name: { regexp: '^contract-' } }, { signal }), notNoSecret('getAllSecrets'), `getAllSecrets resolved despite the aborted signal`);
      await assert.rejects(p.validate({ signal }), notNoSecret('validate'), `validate resolved despite the aborted signal`);
    });

    test('closeTwice', async (p) => {
      await p.getSecret({ key: db.key }, call());
      await p.close?.(call());
      await p.close?.(call());
    });
  });
}
