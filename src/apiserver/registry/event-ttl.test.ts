// kube's --event-ttl emulation: events idle for longer than the TTL are swept, newer ones (or ones written since)
// stay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventTtl, lastActivity } from './event-ttl.js';
import { openRegistry, type RegistryFixture } from './testing/registry-fixture.js';

const event = (name: string, lastTimestamp: string) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name },
  involvedObject: { kind: 'Secret', name: 's', namespace: 'default' },
  reason: 'Created',
  source: {},
  firstTimestamp: lastTimestamp,
  lastTimestamp,
});

void describe('EventTtl', () => {
  let r: RegistryFixture;
  before(async () => {
    r = await openRegistry();
  });
  after(async () => {
    await r.close();
  });

  void it('deletes events whose last activity is older than the TTL', async () => {
    const now = Date.now();
    const old = new Date(now - 2 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const recent = new Date(now - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await r.stores.events.create('default', event('old', old));
    await r.stores.events.create('default', event('recent', recent));
    // Created now: its creationTimestamp (and managedFields time) count as activity, so backdate through the clock.
    const ttl = new EventTtl({ events: r.stores.events, ttlMs: 3600_000, clock: { now: () => now + 30 * 60_000, setTimeout: () => ({ cancel() {} }) } });
    assert.equal(await ttl.sweep(), 0, 'both were written within the hour');
    const later = new EventTtl({ events: r.stores.events, ttlMs: 3600_000, clock: { now: () => now + 2 * 3600_000, setTimeout: () => ({ cancel() {} }) } });
    assert.equal(await later.sweep(), 2);
    assert.equal((await r.stores.events.list('default')).items.length, 0);
    assert.equal(lastActivity({ apiVersion: 'v1', kind: 'Event', metadata: {}, lastTimestamp: old }), Date.parse(old));
  });
});
