#!/usr/bin/env node
// The `flotilla` command (see `flotilla --help`).
//
// Installed from npm it runs the compiled CLI in dist/. Inside the Flotilla workspace it runs the
// TypeScript source directly, so no build is needed: tsx compiles on the fly and a resolve hook
// adds the `@flotilla/source` export condition, which makes every workspace package resolve to
// its src/ as well. Set FLOTILLA_USE_DIST=1 to run dist/ inside the workspace.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const inWorkspace =
  existsSync(new URL('../../../pnpm-workspace.yaml', import.meta.url)) && existsSync(source);

if (inWorkspace && process.env.FLOTILLA_USE_DIST !== '1') {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // Registered after tsx, so it runs first and tsx resolves with the condition added.
  register('./source-condition.mjs', import.meta.url);
  (await import(source.href)).run(process.argv.slice(2));
} else if (existsSync(compiled)) {
  (await import(compiled.href)).run(process.argv.slice(2));
} else {
  console.error('flotilla: dist/ is missing; build the package first (pnpm build)');
  process.exit(1);
}
