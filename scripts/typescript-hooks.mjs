// Module hooks of the test processes (registered by scripts/typescript-loader.mjs): a .ts module loads its compiled
// copy from the cache of scripts/compile-typescript.mjs (filled at the start of `npm test`; a file missing there, such
// as one written since, is compiled here and added), under its own file: URL, so import.meta.url,
// import.meta.dirname and paths relative to them stay those of the source. A `.js` import of a .ts file resolves to
// the .ts file, as tsc's NodeNext and tsx resolve it.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cacheDir, cachePath, ensureCacheDir, readTsconfig, transformOptions, writeEntry } from './compile-typescript.mjs';

const dir = cacheDir();
ensureCacheDir(dir);
const tsconfigRaw = readTsconfig();

const isTypescript = (path) => path.endsWith('.ts') || path.endsWith('.mts');

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:') || specifier.startsWith('/'))) {
    const url = new URL(specifier, context.parentURL);
    if (url.protocol === 'file:') {
      const path = fileURLToPath(url);
      if (!existsSync(path) && existsSync(`${path.slice(0, -3)}.ts`)) {
        url.pathname = `${url.pathname.slice(0, -3)}.ts`;
        return { url: url.href, format: 'module', shortCircuit: true };
      }
    }
  }
  return next(specifier, context);
}

let esbuild;

export async function load(url, context, next) {
  if (!url.startsWith('file:')) return next(url, context);
  const path = fileURLToPath(url);
  if (!isTypescript(path)) return next(url, context);
  const source = readFileSync(path, 'utf8');
  const entry = cachePath(dir, path, source, tsconfigRaw);
  let code;
  try {
    code = readFileSync(entry, 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    esbuild ??= await import('esbuild');
    code = (await esbuild.transform(source, transformOptions(path, tsconfigRaw))).code;
    writeEntry(entry, code);
  }
  return { format: 'module', source: code, shortCircuit: true };
}
