import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { ApiMetrics, nonResourceLabels, sharedLabels, type RequestLabels } from './metrics.js';

const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

/** What ApiMetrics exported when it called prom-client's Counter and Histogram on every request. */
function promClientMetrics() {
  const registry = new Registry();
  const labelNames = ['verb', 'group', 'version', 'resource', 'subresource', 'scope'];
  const requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, group, version, resource, subresource, scope and HTTP response code.',
    labelNames: [...labelNames, 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope (watches excluded).',
    labelNames,
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    observe({ series: _key, ...labels }: RequestLabels, code: number, seconds: number) {
      requests.inc({ ...labels, code: String(code) });
      if (labels.verb !== 'WATCH') duration.observe({ ...labels }, seconds);
    },
  };
}

const secrets = (verb: string, scope: RequestLabels['scope']): RequestLabels => ({ verb, group: '', version: 'v1', resource: 'secrets', subresource: '', scope });
const nonResource = (verb: string): RequestLabels => ({ verb, group: '', version: '', resource: '', subresource: '', scope: '' });

/** Requests in an order that makes new series appear between old ones, with latencies in, on and beyond the buckets. */
const REQUESTS: [RequestLabels, number, number][] = [
  [secrets('GET', 'resource'), 200, 0.0012],
  [secrets('POST', 'namespace'), 201, 0.031],
  [secrets('GET', 'resource'), 404, 0.005],
  [nonResource('GET'), 200, 0.2],
  [secrets('GET', 'resource'), 200, 61.5],
  [secrets('WATCH', 'namespace'), 200, 300],
  [{ verb: 'PUT', group: '', version: 'v1', resource: 'namespaces', subresource: 'finalize', scope: 'resource' }, 200, 1.25],
  [secrets('GET', 'resource'), 200, 0.1 + 0.2],
  [secrets('POST', 'namespace'), 409, 45],
  [secrets('GET', 'resource'), 200, 0],
];

void describe('API request metrics', () => {
  void it('export what prom-client exported for the same requests: text, JSON, and after a scrape and a reset', async () => {
    const fast = new ApiMetrics();
    const reference = promClientMetrics();
    const both = (labels: RequestLabels, code: number, seconds: number) => {
      fast.observe(labels, code, seconds);
      reference.observe(labels, code, seconds);
    };
    const same = async () => {
      const text = (await fast.text()).body;
      const expected = await reference.registry.metrics();
      // The metrics ApiMetrics has besides these two (longrunning requests and its collect-time gauges) export nothing yet.
      assert.equal(text.replace(/\n\n# HELP apiserver_longrunning_requests [\s\S]*$/, '\n'), expected);
      const json = (await fast.registry.getMetricsAsJSON()).filter((m) => m.name !== 'apiserver_longrunning_requests' && m.values.length > 0);
      assert.deepEqual(json, await reference.registry.getMetricsAsJSON());
    };
    for (const [labels, code, seconds] of REQUESTS) both(labels, code, seconds);
    await same();
    // Counts after a scrape add to what the scrape handed over.
    for (const [labels, code, seconds] of REQUESTS.slice(3)) both(labels, code, seconds);
    both(secrets('DELETE', 'resource'), 200, 0.01);
    await same();
    await same();
    // Labels shared by many requests (made once, with their key) count in the same series as equal ones made per request.
    both(sharedLabels(secrets('GET', 'resource')), 200, 0.003);
    both(sharedLabels(secrets('PATCH', 'resource')), 422, 0.004);
    both(nonResourceLabels('GET'), 200, 0.2);
    await same();
    fast.registry.resetMetrics();
    reference.registry.resetMetrics();
    both(secrets('LIST', 'namespace'), 200, 0.02);
    both(secrets('GET', 'resource'), 200, 0.02);
    await same();
  });
});

void describe('shared request labels', () => {
  void it('are frozen, so no request changes what the others are counted under', () => {
    const labels = nonResourceLabels('GET');
    assert.equal(nonResourceLabels('GET'), labels);
    assert.throws(() => Object.assign(labels, { verb: 'LIST' }), TypeError);
    assert.equal(Object.isFrozen(sharedLabels(secrets('GET', 'resource'))), true);
  });
});
