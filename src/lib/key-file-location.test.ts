import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidError } from './errors.js';
import { isWithin, refuseKeyFileInDataDir } from './key-file-location.js';

void describe('refuseKeyFileInDataDir', () => {
  let dir: string;
  let data: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyloc-'));
    data = join(dir, 'data');
    await mkdir(join(data, 'store'), { recursive: true });
    await mkdir(join(data, '..keys'));
    await mkdir(join(dir, 'data.keys'));
    await writeFile(join(dir, 'data.keys', 'store.key'), 'k');
    await writeFile(join(dir, 'linked.key'), 'k');
    await link(join(dir, 'linked.key'), join(data, 'store', 'innocent-name'));
    await writeFile(join(dir, 'two-names.key'), 'k');
    await link(join(dir, 'two-names.key'), join(dir, 'second-name.key')); // nlink 2, both outside
    await symlink(data, join(dir, 'data-link'));
    await symlink(join(data, 'store'), join(dir, 'store-link'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses a key file inside the data directory however it is named, and says which flag and file', async () => {
    const refused: [string, string, string][] = [
      ['directly inside, not created yet', data, join(data, 'store.key')],
      ['a directory named ..keys inside the data directory', data, join(data, '..keys', 'root.key')],
      ['deeper, in a directory that does not exist yet', data, join(data, 'new', 'sub', 'root.key')],
      ['the data directory itself', data, data],
      ['the path through a symlink to the data directory', data, join(dir, 'data-link', 'store.key')],
      ['the data directory given as a symlink', join(dir, 'data-link'), join(data, 'store.key')],
      ['through a symlink to a directory inside', data, join(dir, 'store-link', 'x.key')],
      ['a hard link of the key inside the data directory', data, join(dir, 'linked.key')],
    ];
    for (const [what, dataDir, file] of refused) {
      await assert.rejects(refuseKeyFileInDataDir('--store-encryption-key-file', file, dataDir), (e: Error) => {
        assert.ok(e instanceof InvalidError, what);
        assert.equal(e.field, '--store-encryption-key-file', what);
        assert.ok(e.message.startsWith(`--store-encryption-key-file: ${file} `), `${what}: ${e.message}`);
        assert.match(e.message, /(is inside|has a hard link inside) the data directory/, what);
        return true;
      }, what);
    }
  });

  void it('accepts a key file beside the data directory', async () => {
    for (const file of [join(dir, 'data.keys', 'store.key'), join(data, '..', 'data.keys', 'store.key'), join(dir, 'two-names.key'), join(dir, 'absent', 'root.key'), join(dir, 'data-other.key')]) {
      await refuseKeyFileInDataDir('--root-key-file', file, data);
    }
  });

  void it('tells a parent directory from a name that starts with two dots', () => {
    assert.equal(isWithin('/d', '/d/..keys/k'), true);
    assert.equal(isWithin('/d', '/d'), true);
    assert.equal(isWithin('/d', '/d.keys/k'), false);
    assert.equal(isWithin('/d/store', '/d/k'), false);
  });
});
