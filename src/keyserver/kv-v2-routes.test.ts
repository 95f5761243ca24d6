import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../lib/clock.js';
import { startTestKeyserver, type Dict, type TestKeyserver } from './testing/test-keyserver.js';

void describe('KV v2', () => {
  let ks: TestKeyserver;
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0, 120));
  before(async () => {
    ks = await startTestKeyserver({ clock });
  });
  after(async () => {
    await ks.dispose();
  });
  const put = (path: string, body: unknown) => ks.call('PUT', `secret/data/${path}`, { body });

  void it('writes versions and reads the current or a given one, keeping JSON exactly', async () => {
    const w1 = await put('app/db', { data: { user: 'app', password: 'one' } });
    assert.equal(w1.status, 200);
    assert.deepEqual(w1.body.data, { created_time: '2026-01-01T12:00:00.12Z', custom_metadata: null, deletion_time: '', destroyed: false, version: 1 });
    // A raw body, so the client does not round the numbers before the server sees them.
    const w2 = await ks.call('POST', 'secret/data/app/db', { body: '{"data":{"big":12345678901234567890,"price":1.50,"nested":{"a":[1,true,null]}}}' });
    assert.equal(w2.body.data.version, 2);
    const current = await ks.call('GET', 'secret/data/app/db');
    assert.equal(current.status, 200);
    assert.ok(current.text.includes('"data":{"big":12345678901234567890,"price":1.50,"nested":{"a":[1,true,null]}}'), current.text);
    assert.equal((current.body.data.metadata as Dict).version, 2);
    const v1 = await ks.call('GET', 'secret/data/app/db?version=1');
    assert.deepEqual(v1.body.data.data, { user: 'app', password: 'one' });
    assert.deepEqual((await ks.call('GET', 'secret/data/app/db?version=7')).body, { errors: [] });
    assert.deepEqual((await ks.call('GET', 'secret/data/nothing')).body, { errors: [] });
    assert.equal((await ks.call('GET', 'secret/data/nothing')).status, 404);
    assert.deepEqual((await put('app/x', { nodata: 1 })).body.errors, ['no data provided']);
  });

  void it('enforces check-and-set', async () => {
    assert.equal((await put('cas', { options: { cas: 0 }, data: { a: '1' } })).status, 200);
    const stale = await put('cas', { options: { cas: 0 }, data: { a: '2' } });
    assert.equal(stale.status, 400);
    assert.deepEqual(stale.body.errors, ['check-and-set parameter did not match the current version']);
    assert.equal((await put('cas', { options: { cas: '1' }, data: { a: '2' } })).body.data.version, 2);
    await ks.call('POST', 'secret/metadata/cas', { body: { cas_required: true } });
    assert.deepEqual((await put('cas', { data: { a: '3' } })).body.errors, ['check-and-set parameter required for this call']);
    assert.deepEqual((await put('cas', { options: { cas: 'x' }, data: {} })).body.errors, ['error parsing check-and-set parameter']);
  });

  void it('soft-deletes, undeletes and destroys versions, answering deleted reads with metadata', async () => {
    await put('life', { data: { v: '1' } });
    assert.equal((await ks.call('DELETE', 'secret/data/life')).status, 204);
    const deleted = await ks.call('GET', 'secret/data/life');
    assert.equal(deleted.status, 404);
    assert.equal(deleted.body.errors, undefined);
    assert.equal(deleted.body.data.data, null);
    const meta = deleted.body.data.metadata as Dict;
    assert.equal(meta.deletion_time, '2026-01-01T12:00:00.12Z');
    assert.equal(meta.destroyed, false);

    assert.equal((await ks.call('POST', 'secret/undelete/life', { body: { versions: [1] } })).status, 204);
    assert.equal((await ks.call('GET', 'secret/data/life')).status, 200);

    await put('life', { data: { v: '2' } });
    assert.equal((await ks.call('POST', 'secret/delete/life', { body: { versions: '1,2' } })).status, 204);
    assert.equal((await ks.call('GET', 'secret/data/life?version=2')).status, 404);
    assert.equal((await ks.call('POST', 'secret/destroy/life', { body: { versions: [1] } })).status, 204);
    const destroyed = await ks.call('GET', 'secret/data/life?version=1');
    assert.equal(destroyed.status, 404);
    assert.equal((destroyed.body.data.metadata as Dict).destroyed, true);
    // Undelete cannot bring back a destroyed version.
    await ks.call('POST', 'secret/undelete/life', { body: { versions: [1, 2] } });
    assert.equal((await ks.call('GET', 'secret/data/life?version=1')).status, 404);
    assert.equal((await ks.call('GET', 'secret/data/life?version=2')).status, 200);

    assert.deepEqual((await ks.call('POST', 'secret/delete/life', { body: {} })).body.errors, ['No version number provided']);
    assert.deepEqual((await ks.call('POST', 'secret/destroy/life', { body: { versions: [] } })).body.errors, ['no version number provided']);
  });

  void it('reads, writes, patches and deletes metadata', async () => {
    await put('meta/k', { data: { a: '1' } });
    await put('meta/k', { data: { a: '2' } });
    assert.equal((await ks.call('POST', 'secret/metadata/meta/k', { body: { max_versions: 5, custom_metadata: { owner: 'team-a', n: 7 } } })).status, 204);
    const r = await ks.call('GET', 'secret/metadata/meta/k');
    assert.equal(r.status, 200);
    const d = r.body.data;
    assert.equal(d.current_version, 2);
    assert.equal(d.oldest_version, 0);
    assert.equal(d.max_versions, 5);
    assert.equal(d.cas_required, false);
    assert.equal(d.delete_version_after, '0s');
    assert.deepEqual(d.custom_metadata, { owner: 'team-a', n: '7' });
    assert.deepEqual(Object.keys(d.versions as Dict), ['1', '2']);
    assert.deepEqual((d.versions as Dict)['1'], { created_time: '2026-01-01T12:00:00.12Z', deletion_time: '', destroyed: false });

    const patched = await ks.call('PATCH', 'secret/metadata/meta/k', { body: { custom_metadata: { owner: null, env: 'dev' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(patched.status, 204);
    assert.deepEqual((await ks.call('GET', 'secret/metadata/meta/k')).body.data.custom_metadata, { n: '7', env: 'dev' });
    const wrongType = await ks.call('PATCH', 'secret/metadata/meta/k', { body: {}, headers: { 'Content-Type': 'application/json' } });
    assert.equal(wrongType.status, 415);

    // Metadata without versions (ESO PushSecret writes metadata first).
    await ks.call('POST', 'secret/metadata/meta/empty', { body: { custom_metadata: { 'managed-by': 'external-secrets' } } });
    assert.deepEqual((await ks.call('GET', 'secret/data/meta/empty')).body, { errors: [] });
    assert.equal((await ks.call('GET', 'secret/metadata/meta/empty')).body.data.current_version, 0);

    assert.equal((await ks.call('DELETE', 'secret/metadata/meta/k')).status, 204);
    assert.equal((await ks.call('GET', 'secret/metadata/meta/k')).status, 404);
    assert.equal((await ks.call('GET', 'secret/data/meta/k?version=1')).status, 404);
  });

  void it('merge-patches data into a new version', async () => {
    await put('patch', { data: { keep: 'x', drop: 'y', obj: { a: 1 } } });
    const r = await ks.call('PATCH', 'secret/data/patch', { body: { data: { drop: null, obj: { b: 2 } } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.version, 2);
    assert.deepEqual((await ks.call('GET', 'secret/data/patch')).body.data.data, { keep: 'x', obj: { a: 1, b: 2 } });
    const missing = await ks.call('PATCH', 'secret/data/none', { body: { data: {} }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(missing.status, 404);
  });

  void it('lists immediate children by metadata, with LIST and ?list=true, and 404 when empty', async () => {
    await put('tree/a', { data: { x: '1' } });
    await put('tree/a/b', { data: { x: '1' } });
    await put('tree/c/d/e', { data: { x: '1' } });
    const r = await ks.call('LIST', 'secret/metadata/tree');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.data.keys, ['a', 'a/', 'c/']);
    assert.deepEqual((await ks.call('GET', 'secret/metadata/tree/?list=true')).body.data.keys, ['a', 'a/', 'c/']);
    assert.deepEqual((await ks.call('GET', 'secret/metadata/tree/c?list=true')).body.data.keys, ['d/']);
    const empty = await ks.call('LIST', 'secret/metadata/none');
    assert.equal(empty.status, 404);
    assert.deepEqual(empty.body, { errors: [] });
    assert.ok(((await ks.call('LIST', 'secret/metadata')).body.data.keys as string[]).includes('tree/'));
  });

  void it('prunes versions beyond max_versions and honours delete_version_after', async () => {
    await ks.call('POST', 'secret/metadata/prune', { body: { max_versions: 2, delete_version_after: '1h' } });
    for (const v of ['1', '2', '3']) await put('prune', { data: { v } });
    const meta = (await ks.call('GET', 'secret/metadata/prune')).body.data;
    assert.deepEqual(Object.keys(meta.versions as Dict), ['2', '3']);
    assert.equal(meta.oldest_version, 2);
    assert.equal(meta.delete_version_after, '1h0m0s');
    assert.equal((await ks.call('GET', 'secret/data/prune?version=1')).status, 404);
    assert.equal((await ks.call('GET', 'secret/data/prune')).status, 200);
    await clock.advance(3600_000);
    assert.equal((await ks.call('GET', 'secret/data/prune')).status, 404);
  });

  void it('answers paths outside the v2 layout with Vault’s warning, and collapses double slashes', async () => {
    const r = await ks.call('GET', 'secret/app');
    assert.equal(r.status, 404);
    assert.match(r.body.warnings![0]!, /^Invalid path for a versioned K\/V secrets engine/);
    await put('dev/config', { data: { a: 'b' } });
    assert.deepEqual((await ks.call('GET', 'secret/data//dev/config')).body.data.data, { a: 'b' });
    assert.equal((await ks.call('LIST', 'secret/data/dev')).status, 405);
    // fetch resolves `..` itself, so this one goes out raw.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const { hostname, port } = new URL(ks.url);
      const req = request({ hostname, port, path: '/v1/secret/data/../x', headers: { 'X-Vault-Token': ks.rootToken } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 400);
  });

  void it('reads and writes the mount config', async () => {
    assert.deepEqual((await ks.call('GET', 'secret/config')).body.data, { cas_required: false, delete_version_after: '0s', max_versions: 0 });
    assert.equal((await ks.call('POST', 'secret/config', { body: { max_versions: 4 } })).status, 204);
    assert.equal((await ks.call('GET', 'secret/config')).body.data.max_versions, 4);
  });
});
