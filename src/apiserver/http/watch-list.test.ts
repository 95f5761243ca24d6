// WatchList requests over real HTTPS: the stream of a sendInitialEvents watch, and kube's 422 answers for the
// combinations k8s.io/apimachinery pkg/apis/meta/internalversion/validation refuses (cases from its
// validation_test.go TestValidateListOptions).
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../testing/test-api-server.js';

void describe('WatchList (sendInitialEvents)', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
    for (const name of ['a', 'b']) {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData: { k: name } });
      assert.equal((await api.call('POST', '/api/v1/namespaces/default/secrets', { body })).status, 201);
    }
  });
  after(() => api.close());

  /** The first `count` events of a watch, then the connection is closed. */
  async function firstEvents(query: string, count: number): Promise<{ type: string; object: { metadata: { name?: string; resourceVersion: string; annotations?: Record<string, string> } } }[]> {
    const url = new URL(api.server.url);
    const ca = await readFile(join(api.dir, 'ca.crt'), 'utf8');
    const token = (await readFile(join(api.dir, 'admin.token'), 'utf8')).trim();
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: `/api/v1/namespaces/default/secrets?watch=true&${query}`, ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let buffered = '';
        const lines: string[] = [];
        res.on('data', (c: Buffer) => {
          buffered += c.toString();
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            lines.push(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
          }
          if (lines.length >= count) {
            req.destroy();
            resolve(lines.slice(0, count).map((l) => JSON.parse(l) as never));
          }
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.end();
    });
  }

  void it('sends the state, then the initial-events-end bookmark at its revision', async () => {
    const list = (await api.call('GET', '/api/v1/namespaces/default/secrets')).json() as { metadata: { resourceVersion: string } };
    const events = await firstEvents('sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', 3);
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`), ['ADDED a', 'ADDED b', 'BOOKMARK ']);
    assert.deepEqual(events[2]!.object.metadata, { resourceVersion: list.metadata.resourceVersion, creationTimestamp: null, annotations: { 'k8s.io/initial-events-end': 'true' } });
    // From a resourceVersion: still the current state (not older than it).
    const fromRv = await firstEvents(`sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=1`, 3);
    assert.equal(fromRv[2]!.type, 'BOOKMARK');
  });

  void it('without bookmarks allowed sends no bookmark, and sendInitialEvents=false sends only changes', async () => {
    const noBookmarks = firstEvents('sendInitialEvents=true&resourceVersionMatch=NotOlderThan', 3);
    const changesOnly = firstEvents('sendInitialEvents=false&resourceVersionMatch=NotOlderThan', 1);
    // A write made before a stream has started would be missed by the changes-only watch, so writes (under new names)
    // go on until both streams have their events.
    for (let i = 0; i < 50; i++) {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `c${i}`, namespace: 'default' } });
      await api.call('POST', '/api/v1/namespaces/default/secrets', { body });
      const done = await Promise.race([Promise.all([noBookmarks, changesOnly]), new Promise((r) => setTimeout(r, 200, undefined))]);
      if (done) break;
    }
    const [a, b] = await Promise.all([noBookmarks, changesOnly]);
    assert.deepEqual(a.map((e) => `${e.type} ${e.object.metadata.name}`).slice(0, 2), ['ADDED a', 'ADDED b']);
    assert.equal(a[2]!.type, 'ADDED');
    assert.match(b[0]!.object.metadata.name!, /^c\d+$/);
    assert.equal(b[0]!.type, 'ADDED');
  });

  void it('refuses the combinations upstream refuses', async () => {
    const cases: [string, string][] = [
      ['watch=true&sendInitialEvents=true', 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'],
      ['watch=true&resourceVersionMatch=NotOlderThan', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'],
      [
        'watch=true&sendInitialEvents=true&resourceVersionMatch=Exact',
        '[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
      ],
      ['watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&continue=abc', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided'],
      ['sendInitialEvents=true', 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
    ];
    for (const [query, message] of cases) {
      const reply = await api.call('GET', `/api/v1/namespaces/default/secrets?${query}`);
      assert.equal(reply.status, 422, query);
      assert.equal(reply.json().message, `ListOptions.meta.k8s.io "" is invalid: ${message}`, query);
    }
  });
});
