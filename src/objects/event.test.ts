// core/v1 Event storage encoding: round trips through kube's protobuf layout, with the JSON shape Go writes
// (null times, empty reportingComponent/Instance, source always present) and MicroTime kept to microseconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMicroTime, microTimeParts } from './event.js';
import { decodeObject, encodeObject } from './object-codec.js';
import type { KubeObject } from './object-meta.js';

const OLD_STYLE: KubeObject = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'db-creds.17f', namespace: 'app', uid: 'u-1', creationTimestamp: '2025-01-01T10:00:00Z' },
  involvedObject: { kind: 'ExternalSecret', namespace: 'app', name: 'db-creds', uid: 'es-uid', apiVersion: 'external-secrets.io/v1', resourceVersion: '42' },
  reason: 'Created',
  message: 'secret created',
  source: { component: 'external-secrets' },
  firstTimestamp: '2025-01-01T10:00:00Z',
  lastTimestamp: '2025-01-01T10:05:00Z',
  count: 3,
  type: 'Normal',
};

void describe('Event codec', () => {
  void it('stores a core/v1 Event as k8s protobuf and reads back the JSON kube serves', () => {
    const bytes = encodeObject(OLD_STYLE);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
    const back = decodeObject(bytes);
    assert.deepEqual(back, { ...OLD_STYLE, eventTime: null, reportingComponent: '', reportingInstance: '' });
    assert.deepEqual(Object.keys(back), [
      'kind', 'apiVersion', 'metadata', 'involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count',
      'type', 'eventTime', 'reportingComponent', 'reportingInstance',
    ]);
  });

  void it('keeps new-style fields: eventTime and series as MicroTime, action, related, reporting controller', () => {
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e2', namespace: 'app' },
      involvedObject: { kind: 'Secret', name: 's' },
      reason: 'Synced',
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      type: 'Warning',
      eventTime: '2025-01-01T10:00:00.123456Z',
      series: { count: 2, lastObservedTime: '2025-01-01T10:01:00.000001Z' },
      action: 'Sync',
      related: { kind: 'SecretStore', name: 'store' },
      reportingComponent: 'external-secrets.io/controller',
      reportingInstance: 'coffer-1',
    };
    assert.deepEqual(decodeObject(encodeObject(ev)), ev);
  });

  void it('MicroTime: microseconds kept, longer fractions truncated, bad text refused', () => {
    assert.deepEqual(microTimeParts('2025-01-01T10:00:00.1234567Z', 't'), { seconds: 1735725600, nanos: 123456000 });
    assert.equal(formatMicroTime(1735725600, 5000), '2025-01-01T10:00:00.000005Z');
    assert.throws(() => microTimeParts('yesterday', 'eventTime'), /RFC 3339/);
  });
});
