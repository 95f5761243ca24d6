import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAPS, NAMESPACES, SECRETS } from '../resource-info.js';
import type { ResourceStore } from '../resource-store.js';
import type { ServedResource } from './resource-handler.js';
import { pathSegments, ResourceRouter } from './router.js';

const store = {} as ResourceStore;
const ns: ServedResource = { info: NAMESPACES, store, subresources: ['status', 'finalize'] };
const secrets: ServedResource = { info: SECRETS, store };
const router = new ResourceRouter([ns, secrets, { info: CONFIG_MAPS, store }]);
const route = (path: string) => router.route(pathSegments(path)!);

void describe('resource routing', () => {
  void it('reads kube URL patterns', () => {
    assert.deepEqual(route('/api/v1/namespaces/a/secrets/b'), { kind: 'resource', resource: secrets, namespace: 'a', name: 'b', subresource: undefined, watchPath: false });
    assert.deepEqual(route('/api/v1/secrets'), { kind: 'resource', resource: secrets, namespace: undefined, name: undefined, subresource: undefined, watchPath: false });
    assert.deepEqual(route('/api/v1/namespaces/a'), { kind: 'resource', resource: ns, namespace: undefined, name: 'a', subresource: undefined, watchPath: false });
    assert.deepEqual(route('/api/v1/namespaces/a/finalize'), { kind: 'resource', resource: ns, namespace: undefined, name: 'a', subresource: 'finalize', watchPath: false });
    assert.deepEqual(route('/api/v1/watch/namespaces/a/secrets'), { kind: 'resource', resource: secrets, namespace: 'a', name: undefined, subresource: undefined, watchPath: true });
    assert.deepEqual(route('/api/v1'), { kind: 'group-version', group: '', version: 'v1' });
  });

  void it('finds nothing where kube serves nothing', () => {
    for (const p of ['/api/v1/secrets/x', '/api/v1/namespaces/a/secrets/b/status', '/api/v1/widgets', '/api/v2/secrets', '/apis/apps/v1', '/api/v1/namespaces/a/secrets/b/c/d']) {
      assert.equal(route(p).kind, 'not-found', p);
    }
    assert.equal(pathSegments('/api/v1/namespaces/%E0%A4%A/secrets'), undefined);
    assert.equal(pathSegments('/api/v1/namespaces/../secrets'), undefined);
  });
});
