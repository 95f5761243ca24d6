// The dashboard ships its front end pre-built (src/dashboard/web/dist), so a user's install needs no bundler and the
// page loads nothing from a CDN. This fails when the sources changed and `node scripts/build-dashboard.mjs` was not run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

void it('the shipped dashboard bundle is built from the current sources, and references no other host', async () => {
  const out = await mkdtemp(join(tmpdir(), 'coffer-dashboard-bundle-'));
  try {
    await promisify(execFile)(process.execPath, [join(root, 'scripts/build-dashboard.mjs'), out]);
    const shipped = join(root, 'src/dashboard/web/dist');
    const names = (await readdir(out)).sort();
    assert.deepEqual(names, ['app.css', 'app.js', 'index.html']);
    assert.deepEqual((await readdir(shipped)).sort(), names);
    for (const name of names) {
      const built = await readFile(join(out, name), 'utf8');
      assert.ok(built === (await readFile(join(shipped, name), 'utf8')), `${name} is out of date: run node scripts/build-dashboard.mjs`);
      // No script, style or font from elsewhere (the CSP would block it anyway).
      assert.doesNotMatch(built, /(src|href)=["']?(https?:)?\/\/|@import\s+url\(["']?https?:/, name);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
