#!/usr/bin/env node
// Regenerates the dashboard screenshots the README links (docs/screenshots/dashboard/): runs the dashboard's browser
// tests, which save a screenshot of each view at 1280x800 and at phone width into $DASHBOARD_SCREENSHOTS_DIR.
//   node scripts/dashboard-screenshots.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}docs/screenshots/dashboard`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/dashboard-browser.test.ts', 'test/dashboard-kms.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, DASHBOARD_SCREENSHOTS_DIR: dir },
});
process.exit(r.status ?? 1);
