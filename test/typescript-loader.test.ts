// scripts/typescript-loader.mjs, how `npm test` loads TypeScript: the tree compiled once per run
// (scripts/compile-typescript.mjs) instead of tsx in every test file's process. A test must see what it saw under tsx:
// `.js` imports of .ts files, import.meta.url of the source (tests find fixtures beside themselves), stacks at the .ts
// lines, and a .ts file written after the run's compile still loading.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { compileTypescript } from '../scripts/compile-typescript.mjs';

const LOADER = join(import.meta.dirname, '..', 'scripts', 'typescript-loader.mjs');

void describe('npm test TypeScript loader', () => {
  let dir: string;
  let outDir: string;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', LOADER, ...args], { encoding: 'utf8', env: { ...process.env, COFFER_COMPILED_TS: outDir } });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-loader-'));
    outDir = join(dir, 'compiled');
    await mkdir(join(dir, 'src'));
    await copyFile(join(import.meta.dirname, '..', 'tsconfig.json'), join(dir, 'tsconfig.json'));
    await writeFile(join(dir, 'src', 'value.ts'), "export const value: number = 1;\nexport const where = import.meta.url;\n");
    await writeFile(
      join(dir, 'src', 'main.ts'),
      [
        "import { value, where } from './value.js';",
        'interface Shown { value: number; where: string; late: string }',
        "const { late } = (await import('./late.js')) as { late: string };",
        'const shown: Shown = { value, where, late };',
        'console.log(JSON.stringify(shown));',
        "if (process.argv[2] === 'throw') throw new Error('at line 7');",
        '',
      ].join('\n'),
    );
    assert.equal(await compileTypescript(dir, outDir), 2);
    // Changed after the compile: the run loads what it compiled at its start.
    await writeFile(join(dir, 'src', 'value.ts'), 'export const value: number = 2;\nexport const where = import.meta.url;\n');
    // Written after the compile: compiled when imported.
    await writeFile(join(dir, 'src', 'late.ts'), "export const late: string = 'late';\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it('loads the compiled copy under the source URL, resolves .js imports to .ts, compiles a file added since', () => {
    const r = run(join(dir, 'src', 'main.ts'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { value: 1, where: pathToFileURL(join(dir, 'src', 'value.ts')).href, late: 'late' });
  });

  void it("points a stack at the .ts file's line", () => {
    const r = run(join(dir, 'src', 'main.ts'), 'throw');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${join(dir, 'src', 'main.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:`));
  });
});
