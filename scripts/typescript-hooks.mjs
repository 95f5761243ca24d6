// Module hooks of the test processes (registered by scripts/typescript-loader.mjs): a .ts module loads the JavaScript
// that scripts/compile-typescript.mjs wrote for it at the start of the run (COFFER_COMPILED_TS names the directory),
// under its own file: URL, so import.meta.url, import.meta.dirname and paths relative to them stay those of the
// source. A `.js` import of a .ts file resolves to the .ts file, as tsc's NodeNext and tsx resolve it. A .ts file the
// run did not compile (written since, or outside the compiled folders) is compiled here with the same options.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledPath, readTsconfig, transformOptions } from './compile-typescript.mjs';

let outDir;

export function initialize(data) {
  outDir = data.outDir;
}

const isTypescript = (path) => path.endsWith('.ts') || path.endsWith('.mts');

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:') || specifier.startsWith('/'))) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === 'file:') {
      const path = fileURLToPath(url);
      const ts = `${path.slice(0, -3)}.ts`;
      if (!existsSync(path) && existsSync(ts)) {
        url.pathname = `${url.pathname.slice(0, -3)}.ts`;
        return { url: url.href, format: 'module', shortCircuit: true };
      }
    }
  }
  return next(specifier, context);
}

let esbuild;

/** The fallback: compiled now, with tsconfig.json of this repository, as tsx would with the nearest one. */
async function compileNow(path) {
  esbuild ??= await import('esbuild');
  const options = transformOptions(path, readTsconfig(join(import.meta.dirname, '..')));
  return (await esbuild.transform(readFileSync(path, 'utf8'), options)).code;
}

export async function load(url, context, next) {
  if (!url.startsWith('file:')) return next(url, context);
  const path = fileURLToPath(url);
  if (!isTypescript(path)) return next(url, context);
  let source;
  try {
    source = readFileSync(compiledPath(outDir, path), 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    source = await compileNow(path);
  }
  return { format: 'module', source, shortCircuit: true };
}
