// scripts/typescript-loader.mjs, how `npm test` loads TypeScript: files compiled once into a cache shared by the test
// files' processes (scripts/compile-typescript.mjs) instead of tsx in every one. A test must see what it saw under
// tsx: `.js` imports of .ts files, import.meta.url of the source (tests find fixtures beside themselves), stacks at the
// .ts lines, and the current content of a file edited or added after the run's compile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { compileTypescript, ensureCacheDir } from '../scripts/compile-typescript.mjs';

const LOADER = join(import.meta.dirname, '..', 'scripts', 'typescript-loader.mjs');

void describe('npm test TypeScript loader', () => {
  let dir: string;
  let cache: string;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', LOADER, ...args], { encoding: 'utf8', env: { ...process.env, COFFER_TS_CACHE: cache } });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-loader-'));
    cache = join(dir, 'cache');
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'value.ts'), 'export const value: number = 1;\nexport const where = import.meta.url;\n');
    await writeFile(
      join(dir, 'src', 'main.ts'),
      [
        "import { value, where } from './value.js';",
        'interface Shown { value: number; where: string; late: string }',
        "const { late } = (await import('./late.js')) as { late: string };",
        'const shown: Shown = { value, where, late };',
        'console.log(JSON.stringify(shown));',
        "if (process.argv[2] === 'throw') throw new Error('at line 6');",
        '',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it('compiles what the cache lacks, once', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'src'), { recursive: true });
    await writeFile(join(tree, 'tsconfig.json'), '{ "compilerOptions": { "target": "ES2022" } }');
    await writeFile(join(tree, 'src', 'a.ts'), 'export const a: number = 1;\n');
    await writeFile(join(tree, 'src', 'b.ts'), 'export const b: number = 2;\n');
    assert.deepEqual(await compileTypescript(tree, cache), { files: 2, compiled: 2 });
    assert.deepEqual(await compileTypescript(tree, cache), { files: 2, compiled: 0 });
    await writeFile(join(tree, 'src', 'b.ts'), 'export const b: number = 3;\n');
    assert.deepEqual(await compileTypescript(tree, cache), { files: 2, compiled: 1 });
    assert.equal((await readdir(cache)).length, 3);
  });

  void it('loads under the source URL, resolves .js imports to .ts, and follows edits and files added since', async () => {
    // Not in the cache: compiled by the hooks as they load it.
    let r = run(join(dir, 'src', 'main.ts'));
    assert.equal(r.status, 1, 'late.ts does not exist yet');
    await writeFile(join(dir, 'src', 'late.ts'), "export const late: string = 'late';\n");
    r = run(join(dir, 'src', 'main.ts'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { value: 1, where: pathToFileURL(join(dir, 'src', 'value.ts')).href, late: 'late' });
    await writeFile(join(dir, 'src', 'value.ts'), 'export const value: number = 2;\nexport const where = import.meta.url;\n');
    r = run(join(dir, 'src', 'main.ts'));
    assert.equal((JSON.parse(r.stdout) as { value: number }).value, 2, 'the edited file, not its earlier compiled copy');
  });

  void it('refuses a cache directory that others can write', async () => {
    const open = join(dir, 'open-cache');
    await mkdir(open, { mode: 0o777 });
    await chmod(open, 0o777);
    assert.throws(() => ensureCacheDir(open), /no one else can write/);
    const r = spawnSync(process.execPath, ['--import', LOADER, join(dir, 'src', 'main.ts')], { encoding: 'utf8', env: { ...process.env, COFFER_TS_CACHE: open } });
    assert.notEqual(r.status, 0);
  });

  void it("points a stack at the .ts file's line", () => {
    const r = run(join(dir, 'src', 'main.ts'), 'throw');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${join(dir, 'src', 'main.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:`));
  });
});
