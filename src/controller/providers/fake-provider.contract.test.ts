// The SecretsProvider contract over ESO's `fake` provider: the data lives in the store spec, each value JSON.
import { runSecretsProviderContract, CONTRACT_SECRETS } from './secrets-provider.contract.js';
import { FakeProvider } from './fake-provider.js';
import type { SecretsProvider } from './secrets-provider.js';

runSecretsProviderContract('fake', async () => {
  const provider: SecretsProvider = new FakeProvider({ data: CONTRACT_SECRETS.map((s) => ({ key: s.key, value: JSON.stringify(s.data) })) });
  return { provider, cleanup: async () => provider.close?.({ signal: AbortSignal.timeout(1000) }) };
});
