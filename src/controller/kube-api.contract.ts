// The behaviour every KubeApi (kube-api.ts) owes the controller, as kube-apiserver answers it: reads of missing objects,
// create/update/delete with their preconditions and error classes, label selectors, the status subresource, Events,
// and an aborted signal stopping the call. Run over the test fake (testing/fake-kube-api.ts) and over
// ClientNodeKubeApi against an in-process Coffer API server, so the fake cannot drift from production unseen. Each case
// works in a namespace of its own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CoreV1Event, V1Secret } from '@kubernetes/client-node';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../lib/errors.js';
import type { CustomObject, KubeApi } from './kube-api.js';

export interface OpenedKubeApi {
  kube: KubeApi;
  /** Setup the port itself cannot do (the controller never creates them): a namespace, a ConfigMap. */
  createNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  createConfigMap(namespace: string, name: string, data: Record<string, string>): Promise<void>;
  cleanup(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const live = () => ({ signal: AbortSignal.timeout(10_000) });

function secret(namespace: string, name: string, labels?: Record<string, string>): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, ...(labels ? { labels } : {}) }, type: 'Opaque', data: { password: b64('s3cr3t') } };
}

type Store = CustomObject & { spec: Record<string, unknown>; status?: Record<string, unknown> };
function secretStore(namespace: string | undefined, name: string, kind = 'SecretStore'): Store {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { provider: { fake: { data: [{ key: 'k', value: 'v' }] } } },
  };
}

export function runKubeApiContract(name: string, open: () => Promise<OpenedKubeApi>): void {
  void describe(`KubeApi contract: ${name}`, () => {
    const withApi = (title: string, fn: (api: OpenedKubeApi, ns: string) => Promise<void>) =>
      void it(title, async () => {
        const api = await open();
        const ns = `c-${randomUUID().slice(0, 8)}`;
        try {
          await api.createNamespace(ns, { contract: ns });
          await fn(api, ns);
        } finally {
          await api.cleanup();
        }
      });

    withApi('reads of missing objects answer undefined; deleting a missing object is not an error', async ({ kube }, ns) => {
      assert.equal(await kube.getSecret(ns, 'nope', live()), undefined);
      assert.equal(await kube.getConfigMap(ns, 'nope', live()), undefined);
      assert.equal(await kube.getNamespace(`${ns}-nope`, live()), undefined);
      assert.equal(await kube.getCustom('secretstores', ns, 'nope', live()), undefined);
      assert.equal(await kube.getCustom('clustersecretstores', undefined, `${ns}-nope`, live()), undefined);
      await kube.deleteSecret(ns, 'nope', live());
      await kube.deleteCustom('secretstores', ns, 'nope', live());
    });

    withApi('create answers the stored object; a second create is AlreadyExists and changes nothing', async ({ kube }, ns) => {
      const created = await kube.createSecret(secret(ns, 'a'), live());
      assert.ok(created.metadata?.uid);
      assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.equal(created.data?.password, b64('s3cr3t'));
      const again = { ...secret(ns, 'a'), data: { password: b64('other') } };
      await assert.rejects(kube.createSecret(again, live()), AlreadyExistsError);
      const read = await kube.getSecret(ns, 'a', live());
      assert.equal(read?.data?.password, b64('s3cr3t'));
      assert.equal(read?.metadata?.resourceVersion, created.metadata?.resourceVersion);
    });

    withApi('update: the resourceVersion read is a precondition (stale: Conflict, nothing written); none means unconditional; a missing object is NotFound', async ({ kube }, ns) => {
      const created = await kube.createSecret(secret(ns, 'a'), live());
      const updated = await kube.replaceSecret({ ...created, data: { password: b64('v2') } }, live());
      assert.equal(updated.metadata?.uid, created.metadata?.uid);
      assert.notEqual(updated.metadata?.resourceVersion, created.metadata?.resourceVersion);
      await assert.rejects(kube.replaceSecret({ ...created, data: { password: b64('stale') } }, live()), ConflictError);
      assert.equal((await kube.getSecret(ns, 'a', live()))?.data?.password, b64('v2'));
      const { resourceVersion: _rv, ...meta } = updated.metadata!;
      const unconditional = await kube.replaceSecret({ ...updated, metadata: meta, data: { password: b64('v3') } }, live());
      assert.equal(unconditional.data?.password, b64('v3'));
      await assert.rejects(kube.replaceSecret({ ...secret(ns, 'missing') }, live()), NotFoundError);
    });

    withApi('update with another object\'s uid fails its precondition (Conflict)', async ({ kube }, ns) => {
      const created = await kube.createSecret(secret(ns, 'a'), live());
      const other = { ...created, metadata: { ...created.metadata, uid: randomUUID(), resourceVersion: undefined } };
      await assert.rejects(kube.replaceSecret(other, live()), ConflictError);
    });

    withApi('delete with a uid precondition: another uid is Conflict and keeps the object; its own uid deletes it', async ({ kube }, ns) => {
      const created = await kube.createSecret(secret(ns, 'a'), live());
      await assert.rejects(kube.deleteSecret(ns, 'a', { ...live(), uid: randomUUID() }), ConflictError);
      assert.ok(await kube.getSecret(ns, 'a', live()));
      await kube.deleteSecret(ns, 'a', { ...live(), uid: created.metadata!.uid! });
      assert.equal(await kube.getSecret(ns, 'a', live()), undefined);
    });

    withApi('label selectors: equality, set-based and existence terms as kube-apiserver parses them; a malformed one is refused', async ({ kube }, ns) => {
      await kube.createSecret(secret(ns, 'a', { app: 'a', tier: 'db' }), live());
      await kube.createSecret(secret(ns, 'b', { app: 'b' }), live());
      await kube.createSecret(secret(ns, 'c', { other: 'x' }), live());
      const names = async (labelSelector: string) => (await kube.listSecrets(ns, { ...live(), labelSelector })).map((s) => s.metadata!.name).sort();
      assert.deepEqual(await names('app=a'), ['a']);
      assert.deepEqual(await names('app==b'), ['b']);
      assert.deepEqual(await names('app in (a,b)'), ['a', 'b']);
      assert.deepEqual(await names('app,!tier'), ['b']);
      assert.deepEqual(await names('app!=a'), ['b', 'c']);
      assert.deepEqual(await names('app notin (a),other'), ['c']);
      assert.deepEqual(await names(''), ['a', 'b', 'c']);
      await assert.rejects(kube.listSecrets(ns, { ...live(), labelSelector: 'app in a' }));
      assert.deepEqual((await kube.listNamespaces({ ...live(), labelSelector: `contract=${ns}` })).map((n) => n.metadata!.name), [ns]);
      assert.equal((await kube.getNamespace(ns, live()))?.metadata?.name, ns);
    });

    withApi('custom resources: status goes only through the status subresource; a spec change bumps generation; stale writes conflict', async ({ kube }, ns) => {
      const created = await kube.createCustom('secretstores', secretStore(ns, 'store'), live());
      assert.equal(created.metadata.generation, 1);
      const withStatus = { ...created, spec: { provider: { fake: { data: [] } } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
      const afterStatus = await kube.replaceCustomStatus('secretstores', withStatus, live());
      assert.deepEqual(afterStatus.spec, created.spec, 'the spec sent with a status write is ignored');
      assert.deepEqual(afterStatus.status, withStatus.status);
      assert.equal(afterStatus.metadata.generation, 1);
      await assert.rejects(kube.replaceCustomStatus('secretstores', withStatus, live()), ConflictError, 'the resourceVersion sent is stale');
      const afterSpec = await kube.replaceCustom('secretstores', { ...afterStatus, spec: { provider: { fake: { data: [] } } } }, live());
      assert.equal(afterSpec.metadata.generation, 2);
      assert.deepEqual(afterSpec.status, withStatus.status, 'a spec write keeps the status');
      assert.deepEqual((await kube.listCustom<Store>('secretstores', ns, live())).map((s) => s.metadata.name), ['store']);
      await assert.rejects(kube.createCustom('secretstores', secretStore(ns, 'store'), live()), AlreadyExistsError);
      await kube.deleteCustom('secretstores', ns, 'store', live());
      assert.equal(await kube.getCustom('secretstores', ns, 'store', live()), undefined);
      // Cluster-scoped kinds take no namespace.
      const cluster = await kube.createCustom('clustersecretstores', secretStore(undefined, ns, 'ClusterSecretStore'), live());
      assert.equal(cluster.metadata.namespace, undefined);
      assert.equal((await kube.getCustom<Store>('clustersecretstores', undefined, ns, live()))?.metadata.name, ns);
      assert.ok((await kube.listCustom<Store>('clustersecretstores', undefined, live())).some((s) => s.metadata.name === ns));
      await kube.deleteCustom('clustersecretstores', undefined, ns, live());
    });

    withApi('ConfigMaps are read by key', async (api, ns) => {
      await api.createConfigMap(ns, 'ca', { 'ca.crt': 'PEM' });
      assert.deepEqual((await api.kube.getConfigMap(ns, 'ca', live()))?.data, { 'ca.crt': 'PEM' });
    });

    withApi('Events: created, then updated in place (a repeat); updating one that does not exist fails', async ({ kube }, ns) => {
      const now = new Date();
      const event: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `x.${randomUUID().slice(0, 8)}`, namespace: ns },
        involvedObject: { kind: 'ExternalSecret', name: 'x', namespace: ns },
        type: 'Normal',
        reason: 'Created',
        message: 'created',
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: 'external-secrets' },
      };
      await kube.createEvent(event, live());
      await kube.replaceEvent({ ...event, count: 2 }, live());
      await assert.rejects(kube.replaceEvent({ ...event, metadata: { ...event.metadata, name: 'gone' } }, live()));
    });

    withApi('an aborted signal stops every call, and a create it stopped wrote nothing', async ({ kube }, ns) => {
      const aborted = { signal: AbortSignal.abort() };
      const calls: [string, () => Promise<unknown>][] = [
        ['getSecret', () => kube.getSecret(ns, 'a', aborted)],
        ['listSecrets', () => kube.listSecrets(ns, aborted)],
        ['createSecret', () => kube.createSecret(secret(ns, 'a'), aborted)],
        ['replaceSecret', () => kube.replaceSecret(secret(ns, 'a'), aborted)],
        ['deleteSecret', () => kube.deleteSecret(ns, 'a', aborted)],
        ['getConfigMap', () => kube.getConfigMap(ns, 'a', aborted)],
        ['getNamespace', () => kube.getNamespace(ns, aborted)],
        ['listNamespaces', () => kube.listNamespaces(aborted)],
        ['getCustom', () => kube.getCustom('secretstores', ns, 'a', aborted)],
        ['listCustom', () => kube.listCustom('secretstores', ns, aborted)],
        ['createCustom', () => kube.createCustom('secretstores', secretStore(ns, 'a'), aborted)],
        ['replaceCustom', () => kube.replaceCustom('secretstores', secretStore(ns, 'a'), aborted)],
        ['replaceCustomStatus', () => kube.replaceCustomStatus('secretstores', secretStore(ns, 'a'), aborted)],
        ['deleteCustom', () => kube.deleteCustom('secretstores', ns, 'a', aborted)],
        ['createEvent', () => kube.createEvent({ metadata: { name: 'e', namespace: ns }, involvedObject: {} }, aborted)],
        ['replaceEvent', () => kube.replaceEvent({ metadata: { name: 'e', namespace: ns }, involvedObject: {} }, aborted)],
        ['createServiceAccountToken', () => kube.createServiceAccountToken(ns, 'default', aborted)],
      ];
      for (const [what, call] of calls) await assert.rejects(call(), /abort/i, `${what} with an aborted signal`);
      assert.equal(await kube.getSecret(ns, 'a', live()), undefined);
      assert.equal(await kube.getCustom('secretstores', ns, 'a', live()), undefined);
    });
  });
}
