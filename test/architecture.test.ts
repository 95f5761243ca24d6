// The layer rules (docs/architecture.md) hold on the real source, and they do bite: deliberate bad imports in
// test/fixtures/architecture are refused by both checks, the import graph (dependency-cruiser, dynamic import()
// included) and the lint (no-restricted-imports, what an editor shows).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ICruiseResult } from 'dependency-cruiser';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The lint's own layer rules, from the config `npm run lint` uses (a computed specifier: the config is plain JavaScript).
const { layerBans } = (await import(new URL('../eslint.config.js', import.meta.url).href)) as { layerBans: Linter.Config[] };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/architecture/', import.meta.url));
const DEPCRUISE = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));

/** Runs the CI check as `npm run check:imports` does, in `cwd` (its tsconfig.json resolves the .js → .ts imports). */
async function violations(cwd: string): Promise<string[]> {
  const args = [DEPCRUISE, 'src', '--config', `${ROOT}.dependency-cruiser.cjs`, '--output-type', 'json'];
  // depcruise exits non-zero when it finds violations; the JSON on stdout is the answer either way.
  const stdout = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 << 20 }).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  const result = JSON.parse(stdout) as ICruiseResult;
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

void describe('architecture: import layers', () => {
  void it('the source has no import that crosses a layer the wrong way', async () => {
    assert.deepEqual(await violations(ROOT), []);
  });

  void it('the import-graph check refuses a bad import, static or dynamic', async () => {
    assert.deepEqual((await violations(FIXTURE)).sort(), [
      'lib-imports-only-lib: src/lib/bad-import.ts → src/cli/command.ts',
      'only-cli-imports-cli: src/lib/bad-import.ts → src/cli/command.ts',
      'services-do-not-import-services: src/apiserver/lazy-import.ts → src/controller/reconciler.ts',
    ]);
  });

  void it('the lint refuses the same imports where an editor shows them', async () => {
    const eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: true,
      overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layerBans],
    });
    const lint = async (filePath: string, code: string) =>
      (await eslint.lintText(code, { filePath })).flatMap((r) => r.messages.map((m) => m.ruleId));
    assert.deepEqual(await lint('src/lib/bad-import.ts', "import { command } from '../cli/command.js';\n"), ['no-restricted-imports']);
    assert.deepEqual(await lint('src/dashboard/x.ts', "import { a } from '../apiserver/api-server.js';\n"), ['no-restricted-imports']);
    assert.deepEqual(await lint('src/lab/x.ts', "import { b } from '../kms/testing/base64-kms-plugin.js';\n"), ['no-restricted-imports']);
    // Allowed: a service using the core and lib, the core using the core, a test using anything.
    assert.deepEqual(await lint('src/dashboard/y.ts', "import { c } from '../storage/store.js';\nimport { d } from '../lib/errors.js';\n"), []);
    assert.deepEqual(await lint('src/encryption/y.ts', "import { e } from '../kms/kms-service.js';\n"), []);
    assert.deepEqual(await lint('src/lib/y.test.ts', "import { f } from '../cli/command.js';\n"), []);
  });
});
