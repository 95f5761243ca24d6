// Module resolution hook for `npm run test:node24`: imports of the SQLite addon resolve to a copy built for the Node
// version under test (COFFER_NATIVE_DIR/node_modules), since node_modules holds the one built for the machine's Node.
// Registered by scripts/node24-native.mjs.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ADDON = 'better-sqlite3-multiple-ciphers';

export async function resolve(specifier, context, next) {
  const dir = process.env.COFFER_NATIVE_DIR;
  if (dir && specifier === ADDON) return next(pathToFileURL(join(dir, 'node_modules', ADDON, 'lib', 'index.js')).href, context);
  return next(specifier, context);
}
