// `npm test` compiles the TypeScript tree once per run (scripts/test.mjs), and every test file's process then loads
// the compiled files through scripts/typescript-hooks.mjs instead of tsx: `node --import tsx -e ''` costs about
// 0.35 s more CPU than `node -e ''` (tsx's own bundle and esbuild's service in the main and the hooks thread), paid by
// each of the 200 test files' processes (docs/performance.md, "`npm test` time", "Sixth session").
// The options are tsx's (node_modules/tsx/dist: target the running Node, keepNames, minifyWhitespace, a source map,
// tsconfig.json's compilerOptions), so a test sees the same code as under tsx.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Folders of the repository whose TypeScript a test file can import. */
export const TYPESCRIPT_DIRS = ['src', 'test', 'bench', 'scripts'];

/** The options of one file's transform, shared with the hooks' fallback for a file the run did not compile. */
export function transformOptions(file, tsconfigRaw) {
  return {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: file,
    sourcemap: 'inline',
    sourcesContent: false,
    minifyWhitespace: true,
    keepNames: true,
    tsconfigRaw,
  };
}

export function readTsconfig(root) {
  return { compilerOptions: JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions };
}

function typescriptFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : typescriptFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Where the compiled copy of the .ts file at an absolute path is: outDir, the whole path, .js appended. */
export const compiledPath = (outDir, file) => join(outDir, `${file}.js`);

/** Compiles every .ts file of root's TYPESCRIPT_DIRS into outDir (compiledPath). Returns the number of files. */
export async function compileTypescript(root, outDir) {
  // Imported here, not at the top: the test processes' hooks import this module for its options only.
  const { transform } = await import('esbuild');
  const tsconfigRaw = readTsconfig(root);
  const files = TYPESCRIPT_DIRS.flatMap((d) => typescriptFiles(resolve(root, d)));
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transform(readFileSync(file, 'utf8'), transformOptions(file, tsconfigRaw));
      const out = compiledPath(outDir, file);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, code);
    }),
  );
  return files.length;
}
