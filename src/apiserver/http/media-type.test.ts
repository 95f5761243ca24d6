import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiate } from './media-type.js';

const KUBECTL_GET = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

void describe('content negotiation', () => {
  void it('answers kubectl get with a v1 Table and everyone else with JSON', () => {
    assert.deepEqual(negotiate(KUBECTL_GET, { tables: true }), { format: 'json', table: 'v1' });
    assert.deepEqual(negotiate(KUBECTL_GET, { tables: false }), { format: 'json' }, 'discovery falls through to plain JSON');
    assert.deepEqual(negotiate('application/json;g=meta.k8s.io;v=v1beta1;as=Table', { tables: true }), { format: 'json', table: 'v1beta1' });
    assert.deepEqual(negotiate(undefined, { tables: true }), { format: 'json' });
    assert.deepEqual(negotiate('*/*', { tables: true }), { format: 'json' });
  });

  void it('answers protobuf-first clients with JSON and honours q values and YAML', () => {
    assert.deepEqual(negotiate('application/vnd.kubernetes.protobuf,application/json', { tables: true }), { format: 'json' });
    assert.deepEqual(negotiate('application/json;q=0.5,application/yaml', { tables: true }), { format: 'yaml' });
    assert.deepEqual(negotiate('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json', { tables: false }), { format: 'json' });
  });

  void it('is 406 NotAcceptable when nothing fits', () => {
    assert.throws(() => negotiate('text/html', { tables: true }), (e: { status: { code: number; reason: string } }) => e.status.code === 406 && e.status.reason === 'NotAcceptable');
    assert.throws(() => negotiate('application/vnd.kubernetes.protobuf', { tables: true }), /only the following media types are accepted/);
  });
});
