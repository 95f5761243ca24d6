import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_MAPS, NAMESPACES, SECRETS } from '../resource-info.js';
import type { ResourceStore } from '../resource-store.js';
import type { ServedResource } from './resource-handler.js';
import type { ApiStatusError } from '../api-status.js';
import { pathSegments, ResourceRouter, splitRequestTarget } from './router.js';

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
  });

  // Issue 11, defect 1: `secrets/%2e%2e` was resolved as `..` by URL parsing and deleted the namespace.
  void it('refuses a segment that is no valid name with 400, in every spelling, before routing', () => {
    const cases: [string, string][] = [
      ['..', "may not be '..'"],
      ['%2e%2e', "may not be '..'"],
      ['%2E%2E', "may not be '..'"],
      ['.%2e', "may not be '..'"],
      ['%2e.', "may not be '..'"],
      ['.', "may not be '.'"],
      ['%2e', "may not be '.'"],
      ['a%2Fb', "may not contain '/'"],
      ['a%25b', "may not contain '%'"],
    ];
    for (const [segment, reason] of cases) {
      for (const path of [`/api/v1/namespaces/trav1/secrets/${segment}`, `/api/v1/namespaces/${segment}/secrets`]) {
        assert.throws(() => pathSegments(path), (e: ApiStatusError) => e.status.code === 400 && e.status.message?.endsWith(`: ${reason}`) === true, path);
      }
    }
  });

  void it('reads path and query from the raw request target', () => {
    assert.deepEqual(splitRequestTarget('/api/v1/namespaces/a/secrets/%2e%2e?limit=1').path, '/api/v1/namespaces/a/secrets/%2e%2e');
    assert.equal(splitRequestTarget('/x?limit=1&watch=true').query.get('watch'), 'true');
    assert.equal(splitRequestTarget('https://host:6443/api/v1/%2e%2e?a=b').path, '/api/v1/%2e%2e');
  });
});
